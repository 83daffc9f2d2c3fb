"""Installing the library on Colab changes nothing Colab preinstalls; a widget chapter runs there.

    pytest -m colab

Colab imports its preinstalled ipywidgets when the kernel starts, so a setup cell whose install
upgrades it (or anything else already imported) leaves the reader a runtime to restart. This test
plays a reader's first minutes, offline, for each interpreter below:

1. a fresh venv holding what Colab preinstalls (tests/colab_preinstalled.txt, installed as
   requirements and constraints) and torch and torchvision at this environment's versions, which
   pip there sees as preinstalled: this environment's own files, symlinked (never copied or
   changed) where the interpreter can load them, else the same versions from the registries;
2. the chapters' setup cell (tools/setup_cell.py), run in that venv under a stand-in
   ``google.colab`` (tests/colab_stand_in.py) so it takes its Colab branch, with git redirected from
   the book's home to a clone of HEAD tagged as the release the cell pins: first pointed at a
   missing repository (one sentence, no traceback, nothing changed), then at the clone: it installs
   the library, and the test fails if pip added, removed or changed anything else;
3. the earliest chapter with the library's widgets, executed in that venv's kernel in the quick
   profile with git pointed at nothing (so its setup cell must find the library installed and not
   reinstall it): it must run, import the library from the venv under Colab's ipywidgets, and save
   the widgets' state.

The venv of step 1 is built once per content of colab_preinstalled.txt, interpreter and torch, in
``~/.cache/pixelcnn_lib/colab`` (or ``$PIXELCNN_COLAB_CACHE``), and hard-linked for each run:
building it installs ~70 packages from the registries (for Python 3.13 also torch, ~0.6 GB), the
slow part of the test; an outdated one is removed when its replacement is built.

Python 3.13 is Colab's Python: the same steps run under it when a ``python3.13`` is on PATH or in
pyenv (this machine's image has one; Debian 12's apt offers 3.11 only), and skip, saying so, where
there is none.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from colab_stand_in import redirect_git, write_stand_in

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_chapters  # noqa: E402
import setup_cell  # noqa: E402

pytestmark = pytest.mark.colab

PREINSTALLED = Path(__file__).with_name("colab_preinstalled.txt")
CACHE = Path(os.environ.get("PIXELCNN_COLAB_CACHE",
                           Path.home() / ".cache" / "pixelcnn_lib" / "colab"))
KERNEL = "colab-stand-in"
THIS = f"python{sys.version_info.major}.{sys.version_info.minor}"
LIBRARY_PREFIX = "pixelcnn_lib."  # anywidget ids of the library's widgets: pixelcnn_lib.widgets.X

# Run by this test's Python: for torch, torchvision and everything they need (extras included),
# except what Colab's list pins and pip itself, symlink into a folder each distribution whose wheel
# tags the target interpreter accepts ("reuse"), and name the others ("install", same version).
OVERLAY_SCRIPT = r'''
import importlib.metadata as md, re, sys
from pathlib import Path
from packaging.requirements import Requirement
dest, target_tags = Path(sys.argv[1]), set(Path(sys.argv[2]).read_text().split())
skip = set(sys.argv[3:]) | {"pip"}
canon = lambda name: re.sub(r"[-_.]+", "-", name).lower()
todo, done, found = [("torch", ()), ("torchvision", ())], set(), {}
while todo:
    name, extras = todo.pop()
    if canon(name) in skip or (canon(name), extras) in done:
        continue
    done.add((canon(name), extras))
    dist = found[canon(name)] = md.distribution(name)
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("",) + extras):
            todo.append((req.name, tuple(sorted(req.extras))))
dest.mkdir(parents=True, exist_ok=True)
for key, dist in sorted(found.items()):
    tags = {l.split(":", 1)[1].strip() for l in (dist.read_text("WHEEL") or "").splitlines()
            if l.startswith("Tag:")}
    if not tags & target_tags:
        print(f"install {key}=={dist.version}")
        continue
    base = Path(dist.locate_file(""))
    for top in {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
        if not top.endswith(".pth") and not (dest / top).exists() and (base / top).exists():
            (dest / top).symlink_to(base / top)
    print(f"reuse {key}=={dist.version}")
'''


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    """name -> version (or pattern, as "2.1.*") of every package colab_preinstalled.txt pins."""
    lines = (line.split("#")[0].strip() for line in PREINSTALLED.read_text().splitlines())
    return dict((canonical(n), v) for n, v in (line.split("==") for line in lines if line))


def run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def python(venv: Path, *args, **kwargs) -> subprocess.CompletedProcess:
    """The venv's Python, run in the venv's folder: not in the repository, whose
    pixelcnn_lib.egg-info would pass for an installed library."""
    return run(venv / "bin" / "python", *args, cwd=venv, **kwargs)


def site_packages(venv: Path) -> Path:
    return Path(python(venv, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                       ).stdout.strip())


def installed(venv: Path) -> dict[str, str]:
    """name -> version of every distribution the venv's pip sees (the symlinked torch included)."""
    listing = python(venv, "-m", "pip", "list", "--format=json").stdout
    return {canonical(d["name"]): d["version"] for d in json.loads(listing)}


def build_template(base_python: str, interpreter_version: str, overlay: Path, overlay_listing: str,
                   dest: Path) -> None:
    """The Colab-like venv before the library: Colab's list, pip, and torch (symlinked, or for
    another Python the same versions from the registries)."""
    building = dest.with_name(dest.name + f".building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    run(base_python, "-m", "venv", building)
    (site_packages(building) / "colab_torch.pth").write_text(f"{overlay}\n")
    if "setuptools==" in overlay_listing:  # torch needs its own, newer than venv's bundled one
        python(building, "-m", "pip", "uninstall", "-q", "-y", "setuptools")
    python(building, "-m", "pip", "install", "-q", "-r", PREINSTALLED, "-c", PREINSTALLED,
           *re.findall(r"^install (\S+)", overlay_listing, re.M), timeout=1500)
    (building / "colab-interpreter.txt").write_text(interpreter_version)
    building.rename(dest)
    for old in CACHE.glob("*/colab-interpreter.txt"):  # templates this one replaces
        if old.parent != dest and old.read_text() == interpreter_version:
            shutil.rmtree(old.parent, ignore_errors=True)


def interpreter(name: str) -> str | None:
    """A working ``name`` (python3.13): on PATH, or one of pyenv's (this machine's has them)."""
    if name == THIS:
        return sys.executable
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{name[6:]}*/bin/{name}"))
    found = [shutil.which(name), *pyenv]
    return next((str(p) for p in found if p and subprocess.run(
        [p, "-c", ""], capture_output=True).returncode == 0), None)


@pytest.fixture(scope="module", params=sorted({THIS, "python3.13"}))
def colab_venv(request, tmp_path_factory):
    """(venv, torch listing): a fresh copy of the Colab-like venv for one interpreter."""
    base_python = interpreter(request.param)
    if base_python is None:
        pytest.skip(f"no {request.param} here (Debian 12's apt has 3.11 only; PyPI's and npm's "
                    "CPython packages download it from outside the registries)")
    tmp = tmp_path_factory.mktemp("colab")
    tags = tmp / "tags.txt"
    tags.write_text(run(base_python, "-c", "from pip._vendor.packaging.tags import sys_tags; "
                        "print(*sys_tags(), sep='\\n')").stdout)
    overlay = tmp / "preinstalled_torch"
    done = run(sys.executable, "-c", OVERLAY_SCRIPT, overlay, tags, *pins())
    version = run(base_python, "-c", "import sys; print(sys.version)").stdout
    key = hashlib.sha256("\n".join([PREINSTALLED.read_text(), version, done.stdout]).encode())
    template = CACHE / key.hexdigest()[:16]
    if not template.is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        build_template(base_python, version, overlay, done.stdout, template)
    venv = tmp / "venv"
    try:  # hard links: instant, and pip replaces files rather than writing into them
        shutil.copytree(template, venv, symlinks=True, copy_function=os.link)
    except OSError:
        shutil.rmtree(venv, ignore_errors=True)
        shutil.copytree(template, venv, symlinks=True)
    pth = site_packages(venv) / "colab_torch.pth"
    pth.unlink()  # a hard link to the template's: write a new file, not into that one
    pth.write_text(f"{overlay}\n")
    return venv, done.stdout


@pytest.fixture(scope="module")
def release_clone(tmp_path_factory):
    """A clone of HEAD, tagged as the release the setup cell pins (v<version>)."""
    clone = tmp_path_factory.mktemp("home") / "repository"
    run("git", "clone", "-q", ROOT, clone)
    run("git", "-C", clone, "tag", "-f", setup_cell.release_tag())
    return clone


def run_setup_cell(venv: Path, stand_in: Path, git_env: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(stand_in), PIP_NO_INPUT="1", **git_env)
    # cwd: not the repository, whose pixelcnn_lib.egg-info would pass for an installed library.
    return subprocess.run([venv / "bin" / "python", "-c", setup_cell.setup_cell_source()],
                          capture_output=True, text=True, env=env, timeout=600, cwd=stand_in)


def changes(before: dict, after: dict) -> list[str]:
    return sorted(f"{name}: {before.get(name, '(none)')} -> {after.get(name, '(removed)')}"
                  for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def widget_chapter() -> Path:
    """The earliest chapter whose committed outputs hold the library's widgets."""
    for chapter in run_chapters.chapter_notebooks():
        if chapter.exists() and library_widgets(nbformat.read(chapter, as_version=4)):
            return chapter
    pytest.fail("no chapter has saved state of a pixelcnn_lib widget to run in Colab")


def library_widgets(nb) -> list[str]:
    state = nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return sorted(model_id for model_id, m in state.items()
                  if str(m["state"].get("_anywidget_id", "")).startswith(LIBRARY_PREFIX))


CHECK_CELL = '''\
import json, sys
import google.colab.output, ipywidgets, pixelcnn_lib
print(json.dumps({"library": pixelcnn_lib.__file__, "prefix": sys.prefix,
                  "ipywidgets": ipywidgets.__version__,
                  "widget_manager": google.colab.output.custom_widget_manager_enabled}))'''


def test_setup_cell_installs_nothing_else_and_a_widget_chapter_runs(
        colab_venv, release_clone, tmp_path, monkeypatch):
    venv, torch_listing = colab_venv
    stand_in = write_stand_in(tmp_path / "stand_in")
    url, version = setup_cell.repository_url(), setup_cell.library_version()
    preinstalled = installed(venv)
    for line in re.findall(r"^(?:reuse|install) (\S+)", torch_listing, re.M):
        name, pinned = line.split("==")
        assert preinstalled.get(name) == pinned, f"{name} is not seen as preinstalled"
    exact = {name: v for name, v in pins().items() if "*" not in v}
    assert {name: preinstalled.get(name) for name in exact} == exact
    assert "pixelcnn-lib" not in preinstalled

    # A failed install: one sentence saying what to do, no traceback, nothing changed.
    failed = run_setup_cell(venv, stand_in, redirect_git(url, f"file://{tmp_path}/nowhere"))
    assert failed.returncode == 1, failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert "check that the runtime is online" in failed.stderr
    assert installed(venv) == preinstalled

    # The install, exactly as the setup cell does it, from the release tag of a clone of HEAD.
    done = run_setup_cell(venv, stand_in, redirect_git(url, f"file://{release_clone}"))
    assert done.returncode == 0, done.stderr
    after = installed(venv)
    assert changes(preinstalled, after) == [f"pixelcnn-lib: (none) -> {version}"], (
        "installing the library changed what Colab preinstalls; lower the floors in "
        "pyproject.toml:\n  " + "\n  ".join(changes(preinstalled, after)))
    origin = json.loads(python(venv, "-c", "from importlib.metadata import distribution as d; "
                               "print(d('pixelcnn_lib').read_text('direct_url.json'))").stdout)
    head = run("git", "-C", release_clone, "rev-parse", "HEAD").stdout.strip()
    assert origin["url"] == url
    assert origin["vcs_info"]["requested_revision"] == f"v{version}"
    assert origin["vcs_info"]["commit_id"] == head
    listing = python(venv, "-c", "from importlib.metadata import files; "
                     "print(*files('pixelcnn_lib'), sep='\\n')").stdout.split()
    shipped = {f for f in listing if f.startswith("pixelcnn_lib/") and "__pycache__" not in f}
    tracked = set(run("git", "-C", release_clone, "ls-files", "pixelcnn_lib").stdout.split())
    assert shipped == tracked, (f"the installed package lacks {sorted(tracked - shipped)}, adds "
                                f"{sorted(shipped - tracked)}: see [tool.setuptools] in pyproject")

    # A widget chapter in that venv's kernel; git now leads nowhere, so no reinstall is possible.
    chapter = widget_chapter()
    copy = run_chapters.copy_book(tmp_path / "book_copy") / chapter.relative_to(run_chapters.BOOK)
    setup_cell.apply(copy, setup_cell.setup_cell_source())  # as tests/test_colab_links.py demands
    nb = nbformat.read(copy, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    nbformat.write(nb, copy)
    kernels = tmp_path / "jupyter" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python",
        "env": {"PYTHONPATH": str(stand_in)}}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for key, value in redirect_git(url, f"file://{tmp_path}/nowhere").items():
        monkeypatch.setenv(key, value)
    run_chapters.execute(copy, "quick", run_chapters.DEFAULT_TIMEOUT["quick"], kernel_name=KERNEL)

    executed = nbformat.read(copy, as_version=4)
    report = json.loads(executed.cells[-1].outputs[-1]["text"])
    assert report["prefix"] == str(venv) and report["library"].startswith(str(venv))
    assert report["ipywidgets"] == pins()["ipywidgets"] and report["widget_manager"] is True
    saved = library_widgets(executed)
    shown = {out["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for cell in executed.cells if cell.cell_type == "code" for out in cell.outputs
             if "application/vnd.jupyter.widget-view+json" in out.get("data", {})}
    assert saved, f"{chapter.name}: no widget state saved under Colab's ipywidgets"
    assert shown <= set(executed.metadata["widgets"][
        "application/vnd.jupyter.widget-state+json"]["state"]), "a shown widget has no saved state"
    assert installed(venv) == after, "running the chapter changed the installed packages"
