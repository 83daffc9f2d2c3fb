#!/usr/bin/env python3
"""The first code cell of every chapter: how a chapter gets its library on Colab.

On Colab a chapter is opened as a single .ipynb, so ``pixelcnn_lib`` is not importable until this
cell installs it: from the book's repository (``repository.url`` in ``_config.yml``) at the release
tag ``v<version>`` (``version`` in ``pyproject.toml``), so a chapter always gets the library it was
written for, never the moving default branch. A second run finds that version installed and does
nothing; a failed install ends with one sentence saying what to do. Everywhere else the cell does
nothing. The cell is left out of each chapter's code hash (tools/run_chapters.py), so a change of
home or of version needs no re-execution:

    python tools/setup_cell.py                       # print the cell
    python tools/setup_cell.py --apply               # write it into every chapter (or name some)
    python tools/setup_cell.py --set-url URL         # new home: _config.yml and every chapter
    python tools/setup_cell.py --check-release       # the publish workflow's check (see README)

``tests/test_colab_links.py`` checks that every chapter starts with exactly this text.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from run_chapters import MARKER, chapter_notebooks, code_hash, is_setup_cell  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
PYPROJECT = ROOT / "pyproject.toml"
# What pip installs from: a release tag must hold exactly these as they are at HEAD.
PACKAGE_PATHS = ("pixelcnn_lib", "pyproject.toml")
GITHUB_URL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")

SETUP_CELL_TEMPLATE = '''\
# Setup: on Google Colab, install the library release these chapters were
# made with and turn on Colab's widget support. Elsewhere, or once it is
# installed, this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    REPOSITORY = "{url}"
    SOURCE = f"pixelcnn_lib[widgets] @ git+{{REPOSITORY}}@v{version}"
    try:
        installed = version("pixelcnn_lib")
    except PackageNotFoundError:
        installed = None
    if installed != "{version}":
        pip = [sys.executable, "-m", "pip", "install", "--quiet", SOURCE]
        if subprocess.run(pip, capture_output=True).returncode != 0:
            sys.exit("Could not install the book's library: check that the "
                     "runtime is online, then run this cell again.")
    from google.colab import output

    output.enable_custom_widget_manager()'''
assert SETUP_CELL_TEMPLATE.startswith(MARKER)


def load_config(path: Path = CONFIG) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def repository_url(path: Path = CONFIG) -> str:
    """The book's public home, as written in ``_config.yml`` (``repository.url``)."""
    return load_config(path)["repository"]["url"]


def library_version(path: Path = PYPROJECT) -> str:
    """``[project] version`` in ``pyproject.toml``: the setup cell installs its tag, v<version>."""
    import tomllib

    return tomllib.loads(path.read_text())["project"]["version"]


def release_tag(version: str | None = None) -> str:
    return f"v{version or library_version()}"


def setup_cell_source(url: str | None = None, version: str | None = None) -> str:
    """The exact source of a chapter's first code cell."""
    return SETUP_CELL_TEMPLATE.format(url=url or repository_url(),
                                      version=version or library_version())


def apply(notebook: Path, source: str) -> str:
    """Make ``source`` the first code cell of ``notebook``: replace an old setup cell, or insert it.

    The cell is not part of the chapter's code hash, so honest committed outputs stay honest; a hash
    made when the setup cell was still hashed (before 2026-12) is recomputed if it matched.
    """
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    meta = nb.metadata.get("pixelcnn", {})
    honest = meta.get("code_hash") in {code_hash(nb), code_hash(nb, include_setup_cell=True)}
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and is_setup_cell(code[0].source):
        action = "unchanged" if code[0].source == source else "replaced"
        code[0].source = source
    else:
        # Right after the title cell if there is one, else at the top.
        at = nb.cells.index(code[0]) if code else len(nb.cells)
        at = min(at, 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0)
        nb.cells.insert(at, nbformat.v4.new_code_cell(source))
        action = "inserted"
    if honest and meta["code_hash"] != code_hash(nb):
        meta["code_hash"] = code_hash(nb)
        action = ("code hash refreshed" if action == "unchanged"
                  else action + ", code hash refreshed")
    if action != "unchanged":
        nbformat.write(nb, notebook)
    return action


def set_url(url: str, path: Path = CONFIG) -> None:
    """Write ``url`` as ``repository.url`` in ``_config.yml``, keeping the file's comments."""
    if not GITHUB_URL.fullmatch(url):
        raise SystemExit(f"--set-url wants https://github.com/OWNER/REPO (no trailing /), "
                         f"got {url!r}")
    text = path.read_text()
    new, n = re.subn(r"(?m)^(repository:\n(?:[ \t]+.*\n|[ \t]*#.*\n)*?[ \t]+url:[ \t]*)\S+",
                     lambda m: m.group(1) + url, text, count=1)
    if n != 1:
        raise SystemExit(f"{path}: no `repository:` block with a `url:` line to change")
    path.write_text(new)


def git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def release_problem(root: Path = ROOT) -> str | None:
    """Why publishing now would break the promise that a chapter installs its own library, or None.

    Fine when tag v<version> does not exist yet (publishing creates it at this commit) or when it
    holds exactly this commit's ``pixelcnn_lib/`` and ``pyproject.toml``.
    """
    tag = release_tag(library_version(root / "pyproject.toml"))
    if git("rev-parse", "-q", "--verify", f"refs/tags/{tag}", cwd=root).returncode != 0:
        return None
    diff = git("diff", "--name-only", tag, "HEAD", "--", *PACKAGE_PATHS, cwd=root)
    if diff.returncode != 0:
        return f"git diff {tag} HEAD failed: {diff.stderr.strip()}"
    if diff.stdout.strip():
        changed = ", ".join(diff.stdout.split()[:5])
        return (f"the library changed since release {tag} ({changed}): raise `version` in "
                f"pyproject.toml, then run python tools/setup_cell.py --apply")
    return None


def chapters() -> list[Path]:
    return chapter_notebooks()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print, apply or check the chapters' setup cell.")
    parser.add_argument("--apply", nargs="*", type=Path, metavar="NOTEBOOK",
                        help="make the setup cell the first code cell of these notebooks "
                             "(none named: every chapter in _toc.yml)")
    parser.add_argument("--set-url", metavar="URL",
                        help="set repository.url in _config.yml, then apply to every chapter")
    parser.add_argument("--check-release", action="store_true",
                        help="fail unless every chapter has the current cell and tag v<version> "
                             "is absent or holds this commit's library")
    args = parser.parse_args(argv)
    if args.check_release:
        source = setup_cell_source()
        bad = [p.name for p in chapters() if first_code_cell(p) != source]
        if bad:
            print(f"setup cell out of date in {bad}: run python tools/setup_cell.py --apply",
                  file=sys.stderr)
            return 1
        problem = release_problem()
        if problem:
            print(problem, file=sys.stderr)
            return 1
        print(release_tag())
        return 0
    if args.set_url:
        set_url(args.set_url)
        args.apply = []
    source = setup_cell_source()
    if args.apply is None:
        print(source)
        return 0
    for nb in args.apply or chapters():
        print(f"{nb}: {apply(nb, source)}")
    return 0


def first_code_cell(path: Path) -> str | None:
    import nbformat

    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return code[0].source if code else None


if __name__ == "__main__":
    sys.exit(main())
