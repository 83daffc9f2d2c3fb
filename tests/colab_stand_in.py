"""A stand-in for Colab, for tests: enough for the chapters' setup cell to take its Colab branch.

Colab imports ``google.colab`` when a kernel starts, which is how the setup cell knows where it is.
``write_stand_in(folder)`` writes a ``google.colab`` package with the one function the cell calls
(``output.enable_custom_widget_manager``, which records that it was called) and a
``sitecustomize.py`` that imports it, so any Python started with ``PYTHONPATH=folder`` (a kernel,
or ``python -c``) begins as on Colab. ``google/`` has no ``__init__.py``: it stays a namespace
package beside protobuf's ``google.protobuf``.

``redirect_git(url, to)`` gives environment variables under which git (and so pip's
``git+URL`` installs) fetches ``to`` whenever it is asked for ``url``: the setup cell keeps its real
text and installs from a local clone, with no network.
"""
from __future__ import annotations

from pathlib import Path

OUTPUT_PY = '''\
"""Stand-in for google.colab.output (tests only)."""
custom_widget_manager_enabled = False


def enable_custom_widget_manager():
    global custom_widget_manager_enabled
    custom_widget_manager_enabled = True
'''


def write_stand_in(folder: Path) -> Path:
    package = folder / "google" / "colab"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""Stand-in for Colab (tests only)."""\n')
    (package / "output.py").write_text(OUTPUT_PY)
    (folder / "sitecustomize.py").write_text("import google.colab  # as Colab does at start\n")
    return folder


def redirect_git(url: str, to: str) -> dict[str, str]:
    """Environment under which git fetches ``to`` in place of ``url`` (git >= 2.31)."""
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{to}.insteadOf",
            "GIT_CONFIG_VALUE_0": url}
