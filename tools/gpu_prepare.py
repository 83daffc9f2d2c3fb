#!/usr/bin/env python3
"""Pack what a lent GPU machine lacks, for tools/gpu_run.sh (issue: real GPU runs).

The device machine has Python 3.12 with torch, torchvision, numpy, matplotlib and tqdm, but no
Jupyter stack, no widgets and no internet. This downloads the missing wheels (the versions installed
in this .venv, for CPython 3.12 / manylinux x86-64) into .whl/ and packs MNIST into .gpu/mnist.tar.gz,
both ignored by git (.git/info/exclude), to be named in the device call's `carry`:

    .venv/bin/python tools/gpu_prepare.py          # here, once
    device run: carry [".whl", ".gpu"], command "bash tools/gpu_run.sh 01_chain_rule 02_masks"

`--check` tests that the list is complete without a GPU: it downloads the same packages for THIS
machine's Python into a temporary folder, installs only them (no index, no dependencies) for the base
(non-venv) Python, and executes a small notebook that imports nbclient, anywidget and ipywidgets.
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS, PACK = ROOT / ".whl", ROOT / ".gpu"
# What executing a chapter needs beyond the device image (which has torch, numpy, matplotlib, tqdm,
# pyyaml, packaging, psutil, pygments, attrs, python-dateutil, typing-extensions).
NEEDED = [
    "nbclient", "nbformat", "fastjsonschema", "jsonschema", "jsonschema-specifications", "referencing",
    "rpds-py", "jupyter_client", "jupyter_core", "platformdirs", "traitlets", "pyzmq", "tornado",
    "ipykernel", "comm", "debugpy", "nest-asyncio2", "ipython", "ipython-pygments-lexers", "decorator",
    "jedi", "parso", "pexpect", "ptyprocess", "prompt_toolkit", "wcwidth", "stack_data", "executing",
    "asttokens", "pure_eval", "matplotlib-inline", "ipywidgets", "widgetsnbextension",
    "jupyterlab_widgets", "anywidget", "psygnal",
]
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 31, 34)] + ["manylinux2014_x86_64"]


def installed(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def download(python_version="3.12", dest=WHEELS):
    dest.mkdir(exist_ok=True)
    for name in NEEDED:
        version = installed(name)
        spec = f"{name}=={version}" if version else name
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
               "--python-version", python_version, "--implementation", "cp", "-d", str(dest), spec]
        for p in PLATFORMS:
            cmd += ["--platform", p]
        subprocess.run(cmd, check=True)


def pack_mnist():
    root = Path(os.environ.get("PIXELCNN_DATA", ROOT.parent / "shared" / "data"))
    raw = root / "MNIST" / "raw"
    files = sorted(p for p in raw.glob("*-ubyte"))
    if len(files) != 4:
        raise SystemExit(f"expected the 4 MNIST *-ubyte files in {raw}, found {[p.name for p in files]}")
    PACK.mkdir(exist_ok=True)
    with tarfile.open(PACK / "mnist.tar.gz", "w:gz") as tar:
        for p in files:
            tar.add(p, arcname=f"MNIST/raw/{p.name}")


def ignore_locally():
    exclude = ROOT / ".git" / "info" / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    for entry in ("/.whl/", "/.gpu/"):
        if entry not in lines:
            lines.append(entry)
    exclude.write_text("\n".join(lines) + "\n")


def check():
    """Install the same set for this machine's Python, alone, and execute a notebook with it."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        wheels, site = Path(tmp) / "wheels", Path(tmp) / "site"
        download(f"{sys.version_info.major}.{sys.version_info.minor}", wheels)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                        "--target", str(site), *map(str, wheels.iterdir())], check=True)
        code = ("import nbclient, nbformat\n"
                "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("
                "'import anywidget, ipywidgets; print(anywidget.__version__)')])\n"
                "nbclient.NotebookClient(nb, kernel_name='python3').execute()\n"
                "print('notebook ran with only the carried packages:', nb.cells[0].outputs[0]['text'].strip())")
        base = Path(sys.base_prefix) / "bin" / "python3"  # outside the venv: sees only the wheels
        subprocess.run([str(base), "-s", "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(site)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="test the pure-Python wheels here")
    args = parser.parse_args()
    ignore_locally()
    download()
    pack_mnist()
    size = sum(p.stat().st_size for p in [*WHEELS.iterdir(), *PACK.iterdir()]) / 2**20
    print(f"{len(list(WHEELS.iterdir()))} wheels in .whl/, MNIST in .gpu/: {size:.1f} MiB to carry (limit 64)")
    if args.check:
        check()


if __name__ == "__main__":
    main()
