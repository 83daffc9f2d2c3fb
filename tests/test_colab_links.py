"""The book's public home and the chapters' Colab setup cell: one source, everything agrees with it.

``repository.url`` in ``_config.yml`` is the one place that names the book's home. Jupyter Book
reads it for the launch (Colab), repository and issues buttons; tools/setup_cell.py writes it, with
the library's release tag ``v<version>`` from pyproject.toml, into every chapter's first code cell.
These tests hold every chapter to that cell, check the cell's Colab branch (install once, one clear
sentence on failure), and check the launch links of the built book (marker ``built``, after
``make build``). tests/test_colab_install.py installs the library as Colab would.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest

from colab_stand_in import redirect_git, write_stand_in

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_chapters  # noqa: E402
import setup_cell  # noqa: E402

CONFIG = setup_cell.load_config()
REPO_URL = CONFIG["repository"]["url"]
VERSION = setup_cell.library_version()
CHAPTERS = run_chapters.chapter_notebooks()
HTML = Path(os.environ.get("PIXELCNN_BOOK_HTML", ROOT / "_build" / "html"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def project_files(suffixes=(".md", ".ipynb", ".py", ".yml", ".toml", ".cfg", ".txt")):
    """The project's own text files (no hidden folders, venvs, builds or vendored JS)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_build", "_vendor", "node_modules"))
                   and not d.endswith(".egg-info")]
        yield from (Path(folder) / f for f in files if f.endswith(suffixes))


def test_colab_launch_buttons_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    repo = CONFIG["repository"]
    assert setup_cell.GITHUB_URL.fullmatch(repo["url"]), repo["url"]
    assert repo["branch"] == "main"
    # "" makes Colab links .../blob/main/book/NN.ipynb; "." would make a broken ./book/... link.
    assert repo["path_to_book"] == ""


def test_colab_url_lives_only_in_config():
    colab = CONFIG["launch_buttons"]["colab_url"]
    elsewhere = [rel(p) for p in project_files()
                 if p.name != "_config.yml" and p != Path(__file__).resolve()
                 and colab.split("//")[1] in p.read_text(errors="ignore")]
    assert not elsewhere, f"the Colab URL belongs in _config.yml only, found in {elsewhere}"


def test_repository_url_lives_only_in_config_and_setup_cells():
    """A change of home is `python tools/setup_cell.py --set-url URL`: no other copy to forget."""
    elsewhere = []
    for path in project_files():
        if path.name == "_config.yml":
            continue
        if path.suffix == ".ipynb":
            nb = read(path)
            code = code_cells(nb)
            if code and setup_cell.is_setup_cell(code[0].source):
                nb.cells.remove(code[0])
            text = json.dumps(nb)
        else:
            text = path.read_text(errors="ignore")
        if REPO_URL in text:
            elsewhere.append(rel(path))
    assert not elsewhere, (f"{REPO_URL} is written in {elsewhere}: read it from _config.yml "
                           "(repository.url) instead")


def test_setup_cell_installs_the_matching_release():
    source = setup_cell.setup_cell_source()
    assert (f'REPOSITORY = "{REPO_URL}"\n    SOURCE = f"pixelcnn_lib[widgets] @ git+{{REPOSITORY}}'
            f'@v{VERSION}"') in source
    assert f'if installed != "{VERSION}":' in source
    assert 'if "google.colab" in sys.modules:' in source
    assert "output.enable_custom_widget_manager()" in source
    # The book's code boxes hold 78 characters; only the address may make its line longer.
    assert max(map(len, source.replace(REPO_URL, "").splitlines())) <= 78
    compile(source, "<setup cell>", "exec")  # plain Python: no IPython magics


def test_setup_cell_is_harmless_outside_colab():
    namespace: dict = {}
    exec(setup_cell.setup_cell_source(), namespace)  # must not install or import anything
    assert "google.colab" not in sys.modules


def run_on_stand_in_colab(cell: str, tmp_path: Path, git_env: dict) -> subprocess.CompletedProcess:
    """Run ``cell`` in this environment's Python as if on Colab, git redirected by ``git_env``."""
    stand_in = write_stand_in(tmp_path / "stand_in")
    script = tmp_path / "cell.py"
    script.write_text(cell + "\nprint('widget manager on:', "
                      "output.custom_widget_manager_enabled)\n")
    env = dict(os.environ, PYTHONPATH=str(stand_in), PIP_NO_INPUT="1", **git_env)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          timeout=120)


def test_setup_cell_skips_pip_when_its_version_is_installed(tmp_path):
    """Idempotent: with the version installed (here, the editable install) pip is not run; git is
    pointed at a folder that does not exist, so any install attempt would fail."""
    cell = setup_cell.setup_cell_source(version=version("pixelcnn_lib"))
    done = run_on_stand_in_colab(cell, tmp_path, redirect_git(REPO_URL, f"file://{tmp_path}/no"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "widget manager on: True\n"


def test_setup_cell_failure_is_one_sentence(tmp_path):
    cell = setup_cell.setup_cell_source(version="0.0.0.dev0")  # not installed: pip must run
    done = run_on_stand_in_colab(cell, tmp_path, redirect_git(REPO_URL, f"file://{tmp_path}/no"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "Could not install the book's library: check that the runtime is online, then run this "
        "cell again."]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=rel)
def test_chapter_starts_with_the_setup_cell(chapter):
    nb = read(chapter)
    code = code_cells(nb)
    if not code:
        pytest.skip(f"{rel(chapter)} has no code yet")
    assert code[0].source == setup_cell.setup_cell_source(), (
        f"{rel(chapter)}: its first code cell is not the setup cell for {REPO_URL} "
        f"v{VERSION}; run: python tools/setup_cell.py --apply (no re-run needed)")


def notebook(setup_source: str, executed_hash: str | None = None):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell(setup_source, execution_count=1),
        nbformat.v4.new_code_cell("import torch", execution_count=2)])
    if executed_hash:
        nb.metadata["pixelcnn"] = {"code_hash": executed_hash, "profile": "cpu"}
    return nb


def test_code_hash_leaves_out_the_setup_cell_only():
    old, new = (setup_cell.setup_cell_source(url=u) for u in (REPO_URL, "https://github.com/a/b"))
    assert run_chapters.code_hash(notebook(old)) == run_chapters.code_hash(notebook(new))
    edited = notebook(old)
    edited.cells[2].source = "import numpy"
    assert run_chapters.code_hash(edited) != run_chapters.code_hash(notebook(old))
    not_setup = notebook("import sys")
    assert run_chapters.code_hash(not_setup) != run_chapters.code_hash(notebook(old))


def test_setup_cell_apply(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                                   nbformat.v4.new_code_cell("import torch")]),
                   path)
    cell = setup_cell.setup_cell_source()
    assert setup_cell.apply(path, cell) == "inserted"
    assert [c.source for c in read(path).cells] == ["# Title", cell, "import torch"]
    assert setup_cell.apply(path, cell) == "unchanged"
    moved = setup_cell.setup_cell_source(url="https://github.com/a/b", version="9.9")
    assert setup_cell.apply(path, moved) == "replaced"
    assert [c.source for c in read(path).cells] == ["# Title", moved, "import torch"]


def test_apply_keeps_honest_outputs_honest_and_stale_ones_stale(tmp_path):
    old = setup_cell.SETUP_CELL_TEMPLATE.splitlines()[0] + "\nimport sys  # an older setup cell"
    legacy = run_chapters.code_hash(notebook(old), include_setup_cell=True)
    honest, stale = tmp_path / "honest.ipynb", tmp_path / "stale.ipynb"
    nbformat.write(notebook(old, executed_hash=legacy), honest)
    nbformat.write(notebook(old, executed_hash="0" * 64), stale)
    assert "refresh it, no re-run needed" in run_chapters.stale_reason(read(honest))
    cell = setup_cell.setup_cell_source()
    assert setup_cell.apply(honest, cell) == "replaced, code hash refreshed"
    assert setup_cell.apply(stale, cell) == "replaced"
    assert run_chapters.stale_reason(read(honest)) is None
    assert "code changed" in run_chapters.stale_reason(read(stale))
    # A new home or version later: still honest, nothing to refresh.
    assert setup_cell.apply(honest, setup_cell.setup_cell_source(version="9.9")) == "replaced"
    assert run_chapters.stale_reason(read(honest)) is None


def test_set_url_changes_only_the_url(tmp_path):
    config = tmp_path / "_config.yml"
    shutil.copy(setup_cell.CONFIG, config)
    setup_cell.set_url("https://github.com/someone/fork", config)
    before, after = setup_cell.CONFIG.read_text(), config.read_text()
    assert after == before.replace(f"url: {REPO_URL}\n", "url: https://github.com/someone/fork\n")
    assert setup_cell.repository_url(config) == "https://github.com/someone/fork"
    with pytest.raises(SystemExit, match="OWNER/REPO"):
        setup_cell.set_url("https://github.com/someone/fork/", config)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_release_problem_catches_a_library_changed_after_its_tag(tmp_path):
    (tmp_path / "pixelcnn_lib").mkdir()
    (tmp_path / "pixelcnn_lib" / "x.py").write_text("a = 1\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.3.0"\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "one")
    assert setup_cell.release_problem(tmp_path) is None  # no tag v0.3.0 yet: publishing makes it
    git(tmp_path, "tag", "v0.3.0")
    (tmp_path / "README.md").write_text("prose only\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "two")
    assert setup_cell.release_problem(tmp_path) is None  # the library itself did not change
    (tmp_path / "pixelcnn_lib" / "x.py").write_text("a = 2\n")
    git(tmp_path, "commit", "-qam", "three")
    problem = setup_cell.release_problem(tmp_path)
    assert "changed since release v0.3.0 (pixelcnn_lib/x.py)" in problem


def test_this_version_is_not_released_with_another_library():
    """Once tag v<version> exists here, the library must be the one it holds (else: raise the
    version), or the chapters' setup cell would install a different library than theirs."""
    problem = setup_cell.release_problem()
    assert problem is None, problem


# --- the built book: launch links (run after `make build`, with the browser tests) ---------------

def chapter_page(chapter: Path) -> Path:
    return HTML / chapter.relative_to(ROOT).with_suffix(".html")


@pytest.mark.built
@pytest.mark.parametrize("chapter", CHAPTERS, ids=rel)
def test_launch_link_opens_this_chapter_from_the_configured_home(chapter):
    page = chapter_page(chapter)
    if not page.is_file():
        reason = f"{page} not built (make build)"
        if os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1":
            pytest.fail(reason + " (PIXELCNN_REQUIRE_BUILD=1 makes this a failure)")
        pytest.skip(reason)
    html = page.read_text()
    colab = CONFIG["launch_buttons"]["colab_url"]
    owner_repo = REPO_URL.split("github.com/")[1]
    expected = f"{colab}/github/{owner_repo}/blob/{CONFIG['repository']['branch']}/{rel(chapter)}"
    links = set(re.findall(rf'href="({re.escape(colab)}[^"]*)"', html))
    assert links == {expected}, f"{page}: Colab links {links}, expected {expected}"
    assert f'href="{REPO_URL}"' in html, f"{page}: no repository button to {REPO_URL}"
