"""Rehearsal: every chapter's recipes run exactly as written, but for a few steps only.

    PIXELCNN_PROFILE=gpu PIXELCNN_REHEARSE=1 python tools/run_chapters.py --copy-to /tmp/r

The gpu profile is what a Colab GPU user runs, and CI has no GPU. With PIXELCNN_REHEARSE=1 the
library's entry points cap the work, whatever the chapter asks for: `train` stops after
`STEPS` optimizer steps and validates on `IMAGES` images, `evaluate` scores `IMAGES` images. The
models, batch sizes, dilations, options and data are the recipes' own, so a typo or a shape error
in a gpu-profile cell fails here, on any machine. The provenance line says REHEARSAL, and
tools/run_chapters.py refuses to write a rehearsed notebook back into the book.
"""
import os

ENV = "PIXELCNN_REHEARSE"
STEPS = 3
IMAGES = 32
NOTE = (f"REHEARSAL ({ENV}=1): training capped at {STEPS} steps, evaluation at {IMAGES} images; "
        "these numbers are not results")


def active() -> bool:
    return os.environ.get(ENV, "").strip() not in ("", "0")


def cap_steps(total_steps: int) -> int:
    return min(total_steps, STEPS) if active() else total_steps


def cap_images(data):
    """The first IMAGES images of an ImageData (or an image tensor) in a rehearsal."""
    if not active() or len(data) <= IMAGES:
        return data
    return data[:IMAGES]
