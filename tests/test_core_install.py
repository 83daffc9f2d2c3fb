"""The model library stands apart from the book's machinery: installed without the `widgets` extra
(no anywidget, ipywidgets, IPython), `pixelcnn train --help` and a 5-step training run work, and
nothing of the book is imported on the way.

"Not installed" is made real in a subprocess whose import system refuses those packages (a
sitecustomize meta-path finder), so a stray `import anywidget` anywhere on the command line's path
fails the test the way it would fail a user who installed the core alone.
"""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from fake_mnist import write_fake_mnist

ROOT = Path(__file__).resolve().parents[1]
BOOK_ONLY = ("anywidget", "ipywidgets", "IPython", "traitlets", "nbformat", "nbclient")
BLOCKER = f'''
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BOOK_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (the core install lacks it)")
sys.meta_path.insert(0, NotInstalled())
'''


def test_the_core_requires_none_of_the_books_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    assert not any(name.lower() in core for name in BOOK_ONLY), project["dependencies"]
    widgets = " ".join(project["optional-dependencies"]["widgets"])
    assert "anywidget" in widgets and "ipywidgets" in widgets


def test_the_command_line_trains_without_the_book(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{ROOT}",
           "OMP_NUM_THREADS": "1"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "pixelcnn_lib", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=180)
    probe = subprocess.run([sys.executable, "-c", "import anywidget"], capture_output=True,
                           text=True, env=env)
    assert probe.returncode != 0 and "core install lacks it" in probe.stderr  # the blocker works
    helped = cli("train", "--help")
    assert helped.returncode == 0 and "--preset" in helped.stdout, helped.stderr
    data = write_fake_mnist(tmp_path / "data")
    done = cli("train", "--dataset", "mnist", "--levels", "4", "--data-root", str(data),
               "--no-download", "--hidden-channels", "4", "--layers", "2", "--batch-size", "8",
               "--max-steps", "5", "--device", "cpu", "--quiet", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "5 steps of batch 8" in " ".join(done.stdout.split())
    assert (tmp_path / "run" / "checkpoint.pt").exists()
