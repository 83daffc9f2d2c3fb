#!/usr/bin/env python3
"""Self-host the book's JavaScript, so that no page requests anything from another site.

Fills ``book/_vendor/vendor/`` (git-ignored) with

* MathJax 3 (the ``tex-chtml`` bundle, its TeX extensions, a11y/ui modules and woff-v2 fonts),
* require.js, which the Jupyter widget embedder needs,
* ``@jupyter-widgets/html-manager`` 1.0.x (the embedder for ipywidgets 8 state, with its fonts),
* anywidget's front-end module, copied from the *installed* Python package so that the JS and Python
  versions can never drift apart,
* ``widgets-config.js``: a small require.js ``paths`` config that maps the module names above to
  the files next to it (relative to the script, not to the page).

``_config.yml`` serves ``book/_vendor`` through ``html_static_path``, so these land in
``_build/html/_static/vendor/``. npm is used only to download tarballs (``npm pack``): no
``node_modules`` tree is created. Re-running is cheap: nothing is downloaded when
``book/_vendor/vendor/versions.json`` already records the wanted versions (``--force`` to redo).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "book" / "_vendor" / "vendor"

# Exact versions, so that every build serves the same bytes. html-manager 1.0.x pairs with ipywidgets 8.
NPM_PACKAGES = {
    "mathjax": "3.2.2",
    "requirejs": "2.3.8",
    "@jupyter-widgets/html-manager": "1.0.15",
}

# MathJax: the combined bundle we load, plus everything it may load lazily (TeX extensions through
# autoload/require, the accessibility and menu modules, and the CHTML fonts).
MATHJAX_KEEP = [
    "tex-chtml.js",
    "input/tex/extensions",
    "output/chtml/fonts/woff-v2",
    "a11y",
    "ui",
    "sre",
    "adaptors",
]

WIDGETS_CONFIG_JS = """\
// Written by tools/vendor_assets.py. Loaded after require.js and before the widget embedder.
(function () {
  // 1. Map module names to files next to this script (not next to the page), so that the
  //    embedder's fonts and the anywidget front end are served by this site, never by a CDN.
  var src = document.currentScript.src;
  var here = src.slice(0, src.lastIndexOf("/") + 1);
  window.require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": here + "html-manager",
      "@jupyter-widgets": here + "html-manager",
      "anywidget": here + "anywidget/index"
    }
  });

  // 2. The ipywidgets 8 controls typeset their labels with the MathJax 2 call
  //    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), which throws under MathJax 3.
  //    Give the MathJax 3 object (created when its deferred script starts, replacing the
  //    config object Sphinx put in window.MathJax) a Hub.Queue that does the MathJax 3 thing.
  if (typeof window.MathJax !== "object" || window.MathJax.Hub) return;
  var current = window.MathJax;
  function queue() {
    var mj = window.MathJax, elements = [];
    for (var i = 0; i < arguments.length; i++) {
      var cmd = arguments[i];
      if (Array.isArray(cmd) && cmd[0] === "Typeset" && cmd[2]) {
        // myst's MathJax config ignores everything outside math nodes unless marked for it.
        cmd[2].classList.add("mathjax_process");
        elements.push(cmd[2]);
      }
    }
    Promise.resolve(mj.startup && mj.startup.promise)
      .then(function () { return mj.typesetPromise(elements); })
      .catch(function (err) { console.warn("MathJax typeset of a widget label failed", err); });
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) {
      if (value && typeof value === "object" && value.version && !value.Hub) {
        value.Hub = { Queue: queue };
      }
      current = value;
    }
  });
})();
"""


def npm_pack(spec: str, workdir: Path) -> Path:
    """Download one package tarball from the npm registry and unpack it; return its folder."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--silent"],
        cwd=workdir, check=True, capture_output=True, text=True,
    ).stdout
    filename = json.loads(out)[0]["filename"]
    target = workdir / filename.removesuffix(".tgz")
    with tarfile.open(workdir / filename) as tar:
        # The "data" filter (refuse absolute paths, links out of the folder) exists from 3.12 / 3.11.4.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target, **safe)
    return target / "package"


def anywidget_module() -> Path:
    import anywidget

    path = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    if not path.is_file():
        sys.exit(f"anywidget's front-end module is missing: {path}")
    return path


def fetch_npm_packages() -> None:
    """Download and unpack the npm packages into DEST (replacing what was there)."""
    if shutil.which("npm") is None:
        sys.exit("npm is needed to fetch MathJax and the widget JavaScript (apt-get install npm)")
    if DEST.exists():
        shutil.rmtree(DEST)
    DEST.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        packages = {name: npm_pack(f"{name}@{version}", tmp) for name, version in NPM_PACKAGES.items()}

        mathjax = packages["mathjax"]
        for rel in MATHJAX_KEEP:
            src, dst = mathjax / "es5" / rel, DEST / "mathjax" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)

        (DEST / "requirejs").mkdir()
        shutil.copy2(packages["requirejs"] / "require.js", DEST / "requirejs" / "require.js")

        (DEST / "html-manager").mkdir()
        for f in (packages["@jupyter-widgets/html-manager"] / "dist").iterdir():
            # embed-amd.js is what the page loads; the hashed files are its fonts and icons.
            if f.name == "embed-amd.js" or f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
                shutil.copy2(f, DEST / "html-manager" / f.name)

        folders = {"mathjax": "mathjax", "requirejs": "requirejs",
                   "@jupyter-widgets/html-manager": "html-manager"}
        for name, folder in folders.items():
            for lic in packages[name].glob("LICENSE*"):
                shutil.copy2(lic, DEST / folder / lic.name)
    (DEST / "versions.json").write_text(json.dumps(NPM_PACKAGES, indent=2) + "\n")


def vendor(force: bool = False) -> None:
    stamp = DEST / "versions.json"
    if force or not stamp.is_file() or json.loads(stamp.read_text()) != NPM_PACKAGES:
        fetch_npm_packages()
    # Cheap, so always refreshed: anywidget's module follows the installed Python package.
    (DEST / "anywidget").mkdir(exist_ok=True)
    shutil.copy2(anywidget_module(), DEST / "anywidget" / "index.js")
    (DEST / "widgets-config.js").write_text(WIDGETS_CONFIG_JS)
    size = sum(p.stat().st_size for p in DEST.rglob("*") if p.is_file())
    print(f"vendored {NPM_PACKAGES} and anywidget {importlib.metadata.version('anywidget')} "
          f"into {DEST.relative_to(ROOT)} ({size / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if up to date")
    vendor(force=parser.parse_args(argv).force)


if __name__ == "__main__":
    main()
