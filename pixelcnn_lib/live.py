"""DigitDrawer: the trained model drawing digits in the reader's browser, with no kernel.

    from pixelcnn_lib.live import DigitDrawer
    DigitDrawer(model, examples=test_data)   # a greyscale GatedPixelCNN, e.g. chapter 6's

The widget carries the model itself (browser_model.export: a spec and ~0.7 MB of float32
weights for the 184k-parameter chapter-6 model) and its view runs gated.js, the JavaScript twin
of the cached sampler, so generation, the receptive-field outline (field.js) and the
completion of the reader's own drawing all work in the static book, in Jupyter and in Colab.
`last_image` syncs back to Python in a live kernel.
"""
from __future__ import annotations

import anywidget
import torch
import traitlets as t

from .browser_model import export
from .esm import inline_modules
from .receptive import field_settings


def esm_bundle() -> str:
    """DigitDrawer's module: field.js, dom.js, gated.js and draw.js as one (see esm.py)."""
    return inline_modules("field.js", "dom.js", "gated.js", "draw.js")


class DigitDrawer(anywidget.AnyWidget):
    """Generate (class, temperature, seed, animated) and complete digits with `model` in the page.

    `examples`: an ImageData (or [N, 1, H, W] levels and `example_labels`) whose first image of
    each class is offered as a start for completion, bottom half erased.
    """
    _esm = esm_bundle()
    spec = t.Dict().tag(sync=True)
    weights = t.Bytes().tag(sync=True)
    field = t.Dict().tag(sync=True)
    image_size = t.Tuple(t.Int(), t.Int()).tag(sync=True)
    n_classes = t.Int(0).tag(sync=True)
    label = t.Int(0).tag(sync=True)
    temperature = t.Float(1.0).tag(sync=True)
    examples = t.List(t.Int()).tag(sync=True)
    example_labels = t.List(t.Int()).tag(sync=True)
    last_image = t.List(t.Int()).tag(sync=True)

    def __init__(self, model, examples=None, example_labels=None, image_size=(28, 28), label=0,
                 temperature=1.0, **kwargs):
        spec, blob = export(model)  # refuses what gated.js cannot run
        settings = field_settings(model)
        field = {"arch": settings["arch"], "nLayers": settings["n_layers"],
                 "kernelSize": settings["kernel_size"],
                 "causalKernelSize": settings["causal_kernel_size"],
                 "dilations": settings["dilations"], "channel": 0, "nChannels": 1}
        images, labels = _one_per_class(examples, example_labels, image_size)
        super().__init__(spec=spec, weights=blob, field=field, image_size=tuple(image_size),
                         n_classes=model.n_classes or 0, label=label, temperature=temperature,
                         examples=images, example_labels=labels, **kwargs)


def _one_per_class(examples, labels, image_size):
    """The first image of each class (in class order), flattened: the completion's start images."""
    if examples is None:
        return [], []
    if hasattr(examples, "images"):
        examples, labels = examples.images, examples.labels
    images = torch.as_tensor(examples).long()
    labels = torch.as_tensor(labels if labels is not None else torch.zeros(len(images))).long()
    if images.shape[1:] != (1, *image_size):
        raise ValueError(f"examples must be greyscale {image_size[0]}x{image_size[1]} images "
                         f"[N, 1, H, W], got {list(images.shape)}.")
    picked = [int((labels == k).nonzero()[0]) for k in sorted(set(labels.tolist()))]
    return images[picked].flatten().tolist(), labels[picked].tolist()
