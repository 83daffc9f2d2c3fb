"""Atomic file writes: a temp file beside the target, fsync, then os.replace onto it.

An interrupted write leaves the previous file untouched and no temp file behind; checkpoints,
metrics, plots and samples are all written this one way (write_atomically, and its helpers for
text, a matplotlib figure, an image grid and an array).
"""
import os
import tempfile
from pathlib import Path


def write_atomically(path, write):
    """Call `write(binary_file)` on a temp file in `path`'s directory, then move it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, readable_mode())  # mkstemp makes files private (0600); ours are not
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path, text):
    write_atomically(path, lambda f: f.write(text.encode()))


def write_figure(path, fig):
    import matplotlib.pyplot as plt
    write_atomically(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


def write_image_grid(path, grid):
    from torchvision.utils import save_image
    write_atomically(path, lambda f: save_image(grid, f, format="png"))


def write_array(path, array):
    import numpy as np
    write_atomically(path, lambda f: np.save(f, array))


def readable_mode():
    """The mode a plain open() would give a new file: 0o666 minus the process umask."""
    try:  # Linux: read the umask without changing it (os.umask would, briefly, for every thread)
        with open("/proc/self/status") as f:
            umask = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask
