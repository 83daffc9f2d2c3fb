#!/usr/bin/env python3
"""Execute the book's chapters and keep their committed outputs honest.

The book is built with ``execute_notebooks: "off"``: it shows the outputs stored in each .ipynb. Those
outputs are produced by this tool only, which records in the notebook's metadata which code made them::

    "pixelcnn": {"code_hash": <sha256>, "profile": "cpu", "executed_at": <UTC ISO time>, "torch": "2.x"}

Usage::

    python tools/run_chapters.py --profile cpu [CHAPTER ...]   # execute, write outputs back
    python tools/run_chapters.py --check                       # list chapters whose outputs are stale
    python tools/run_chapters.py --profile quick --copy-to DIR # execute copies in DIR/book/, no write-back

CHAPTER is a path (``book/02_masks.ipynb``) or a name (``02_masks``, ``02``); default: every notebook in
``_toc.yml``. Each chapter runs top to bottom in a fresh kernel with its working directory in its own
folder, ``PIXELCNN_PROFILE`` set to the profile, and the rest of the environment (``PIXELCNN_DATA``
included) passed through. Widget state is saved into the notebook so the static book can render it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"
PROFILES = ("quick", "cpu", "gpu")
REHEARSE = "PIXELCNN_REHEARSE"  # pixelcnn_lib/rehearsal.py: capped runs, never written back
# Per-cell timeouts in seconds: generous, since a training cell may take most of a chapter's budget.
DEFAULT_TIMEOUT = {"quick": 900, "cpu": 3600, "gpu": 3600}
# Between cell sources in the hash, so that moving code across a cell boundary changes the hash too.
CELL_SEPARATOR = "\n\x1e\n"
# How every chapter's setup cell (tools/setup_cell.py), old or new, begins: what finds the cell to
# replace, and what the code hash leaves out.
MARKER = "# Setup: on Google Colab"


def is_setup_cell(source: str) -> bool:
    return source.startswith(MARKER)


def toc_files(toc: Path = TOC) -> list[Path]:
    """Every page listed in ``_toc.yml`` (root first), as existing paths or with a guessed suffix."""
    import yaml

    data = yaml.safe_load(toc.read_text())
    names = [data["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    walk([data])
    paths = []
    for name in names:
        base = toc.parent / name
        found = [base] if base.suffix in {".md", ".ipynb"} else [
            base.with_suffix(s) for s in (".ipynb", ".md") if base.with_suffix(s).exists()
        ]
        paths.append(found[0] if found else base.with_suffix(".ipynb"))
    return paths


def chapter_notebooks(toc: Path = TOC) -> list[Path]:
    """The chapters that are notebooks, in book order."""
    return [p for p in toc_files(toc) if p.suffix == ".ipynb"]


def code_hash(nb, include_setup_cell: bool = False) -> str:
    """sha256 of the notebook's code-cell sources, concatenated in order (see CELL_SEPARATOR).

    The setup cell (tools/setup_cell.py) is left out: it names the book's home and library version,
    which can change without changing what the chapter computes, and tests hold it to its canonical
    text. ``include_setup_cell=True`` gives the hash as made before 2026-12, which included it.
    """
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    if sources and is_setup_cell(sources[0]) and not include_setup_cell:
        sources = sources[1:]
    return hashlib.sha256(CELL_SEPARATOR.join(sources).encode("utf-8")).hexdigest()


def stale_reason(nb) -> str | None:
    """Why the notebook's committed outputs cannot be trusted to come from its code, or None."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return None  # nothing to execute, nothing to go stale
    meta = nb.metadata.get("pixelcnn", {})
    if "code_hash" not in meta:
        return "never executed by tools/run_chapters.py (no pixelcnn.code_hash in its metadata)"
    if meta["code_hash"] == code_hash(nb, include_setup_cell=True) != code_hash(nb):
        return ("its code hash still includes the setup cell (made before 2026-12); refresh it, "
                "no re-run needed: python tools/setup_cell.py --apply")
    if meta["code_hash"] != code_hash(nb):
        return (f"code changed since its outputs were made (profile {meta.get('profile')!r}, "
                f"{meta.get('executed_at')})")
    unexecuted = [i for i, c in enumerate(code) if c.source.strip() and c.execution_count is None]
    if unexecuted:
        return f"code cells {unexecuted} have no execution count (outputs cleared or edited by hand)"
    return None


def resolve(chapter: str, all_chapters: list[Path]) -> Path:
    path = Path(chapter)
    if path.suffix == ".ipynb" and path.exists():
        return path.resolve()
    matches = [p for p in all_chapters if p.stem == chapter or p.stem.startswith(chapter + "_")]
    if len(matches) != 1:
        raise SystemExit(f"chapter {chapter!r} matches {[p.name for p in matches] or 'nothing'} "
                         f"among {[p.name for p in all_chapters]}")
    return matches[0]


def stamping_ipython_dir() -> Path:
    """An IPython folder whose startup file makes every figure the kernel shows carry its smallest
    font size (pixelcnn_lib.plotting.stamp_figure_fonts), which the book's page checks read: the
    chapters' kernels switch it on here, explicitly; importing the library never does."""
    import tempfile
    folder = Path(tempfile.gettempdir()) / "pixelcnn_book_ipython"
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-font-stamp.py").write_text(
        "from pixelcnn_lib.plotting import stamp_figure_fonts\nstamp_figure_fonts()\n")
    return folder


def execute(path: Path, profile: str, timeout: int, kernel_name: str = "python3") -> float:
    """Run ``path`` top to bottom in a fresh kernel whose cwd is its folder; write the outputs back.

    The notebook is only written if every cell succeeded; a failing cell raises
    ``nbclient.exceptions.CellExecutionError``. Returns the seconds it took.
    """
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, PIXELCNN_PROFILE=profile, IPYTHONDIR=str(stamping_ipython_dir()))
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,  # no per-cell timestamps: they would make every re-run a diff
    )
    start = time.monotonic()
    client.execute(env=env)
    seconds = time.monotonic() - start
    nb.metadata["pixelcnn"] = {
        "code_hash": code_hash(nb),
        "profile": profile,
        "executed_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "torch": importlib.metadata.version("torch"),
    }
    nbformat.write(nb, path)
    return seconds


def copy_book(dest: Path) -> Path:
    """Copy ``book/`` (without vendored JS and checkpoints) to ``dest/book``; return that folder."""
    target = dest / "book"
    shutil.copytree(BOOK, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("_vendor", ".ipynb_checkpoints", "__pycache__"))
    return target


def check(chapters: list[Path]) -> int:
    import nbformat

    bad = []
    for path in chapters:
        if not path.exists():
            bad.append(f"{path.relative_to(ROOT)}: missing")
            continue
        reason = stale_reason(nbformat.read(path, as_version=4))
        if reason:
            bad.append(f"{path.relative_to(ROOT)}: {reason}")
    if bad:
        print("Committed outputs that did not come from the committed code:", *bad, sep="\n  ")
        print("Re-run them with: python tools/run_chapters.py --profile cpu CHAPTER ...")
        return 1
    print(f"{len(chapters)} chapter(s): committed outputs match their code")
    return 0


def traceback_outputs(path: Path) -> list[str]:
    """Cells of an executed notebook whose outputs show an error or a traceback (a warning
    printed by a library counts: a reader would see it)."""
    import nbformat
    found = []
    for k, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            if out.get("output_type") == "error" or "Traceback (most recent call last)" in text:
                found.append(f"cell {k}: {(out.get('ename') or text.strip().splitlines()[-1])[:200]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter paths or names (default: all in _toc.yml)")
    parser.add_argument("--profile", choices=PROFILES, help="run profile given to the chapters")
    parser.add_argument("--check", action="store_true",
                        help="execute nothing; fail if committed outputs came from different code")
    parser.add_argument("--copy-to", type=Path, metavar="DIR",
                        help="execute copies in DIR/book/ and leave the originals untouched")
    parser.add_argument("--timeout", type=int, help="per-cell timeout in seconds")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    parser.add_argument("--rehearse", action="store_true",
                        help="PIXELCNN_REHEARSE=1: the profile's recipes as written, a few steps "
                             "each (pixelcnn_lib/rehearsal.py); needs --copy-to")
    args = parser.parse_args(argv)
    if args.rehearse:
        os.environ[REHEARSE] = "1"
    if os.environ.get(REHEARSE, "").strip() not in ("", "0") and not (args.copy_to or args.check):
        parser.error(f"{REHEARSE} is set: a rehearsed chapter is capped at a few steps and is "
                     "never written back into the book; add --copy-to DIR")

    all_chapters = chapter_notebooks()
    chapters = [resolve(c, all_chapters) for c in args.chapters] or all_chapters
    if args.check:
        return check(chapters)
    if not args.profile:
        parser.error("--profile is required to execute (quick, cpu or gpu)")
    timeout = args.timeout or DEFAULT_TIMEOUT[args.profile]

    if args.copy_to:
        copied = copy_book(args.copy_to)
        chapters = [copied / p.relative_to(BOOK) for p in chapters]

    failed = []
    for path in chapters:
        print(f"[{args.profile}] {path} ...", flush=True)
        try:
            seconds = execute(path, args.profile, timeout, args.kernel)
        except Exception as err:  # report every chapter, then fail
            failed.append(path)
            print(f"  FAILED: {type(err).__name__}: {str(err)[-3000:]}", file=sys.stderr, flush=True)
        else:
            problems = traceback_outputs(path) if args.copy_to else []
            if problems:
                failed.append(path)
                print("  FAILED: outputs hold tracebacks:\n    " + "\n    ".join(problems),
                      file=sys.stderr, flush=True)
            else:
                print(f"  ok in {seconds:.0f} s", flush=True)
    if failed:
        print(f"{len(failed)} chapter(s) failed (not written): {[p.name for p in failed]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
