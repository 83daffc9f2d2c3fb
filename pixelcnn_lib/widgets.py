"""Interactive figures for the book: masks, receptive fields, and what a trained model uses.

    from pixelcnn_lib.widgets import MaskExplorer, ReceptiveFieldExplorer, TrainedFieldView
    MaskExplorer(kernel_size=5, mask_type="A", rgb=True)
    ReceptiveFieldExplorer(arch="masked", n_layers=3)     # or "two_stacks", "gated"
    TrainedFieldView(model, x)                            # x: one image [C, H, W] of levels
    MaskDesigner(kernel_size=3, preset="A", n_layers=3)   # draw a mask; see its field and leaks

They are anywidget widgets whose views (``widgets.js``; MaskDesigner's: ``designer.js``, see
designer.py) compute everything a reader can change in the browser, with ``field.js``, a JavaScript twin of ``receptive.py`` that the tests hold
exactly equal to it (tests/test_widgets_js.py, under Node). So they work in three places:

* a live kernel (Jupyter Notebook/Lab, VS Code, Colab): the state syncs back, so ``w.target``,
  ``w.n_layers``, ``w.arch`` or ``w.counts`` (computed in Python) can be read in the next cell;
* the rendered book without a kernel: the saved widget state (saved by nbclient, which
  tools/run_chapters.py uses) is enough, since no Python callback is needed. TrainedFieldView
  ships its exact gradient maps in that state, zlib-compressed (``influence``);
* the built book offline: the page loads only the vendored require.js, widget manager
  (@jupyter-widgets/html-manager) and anywidget module (tools/vendor_assets.py).

Controls are labelled form elements; the pixel grids take the keyboard focus (Tab) and the
arrow keys move the target pixel (Home/End, PageUp/PageDown jump to the edges). Colours are
Okabe-Ito (colour-blind safe), and every kind of pixel also has a non-colour cue and a legend.

What Colab needs: ``pixelcnn_lib`` installed in the runtime and Colab's custom widget manager
turned on, ``from google.colab import output; output.enable_custom_widget_manager()``, before the
first widget is shown. The chapters' setup cell (tools/setup_cell.py) does both. Nothing else:
anywidget's front end comes with the widget manager, and each widget carries its own JavaScript.
"""
from __future__ import annotations

import math
import zlib

import anywidget
import torch
import traitlets as t

from .designer import MaskDesigner, check_mask
from .esm import inline_modules
from .masks import check_kernel_size
from .plotting import BLIND, SEEN, UNREACHED, field_codes
from .receptive import analytic_field, field_settings, influence_maps, past


EXPLORER_ARCHS = ("masked", "two_stacks", "gated")


def esm_bundle() -> str:
    """The module every widget here ships: field.js, dom.js and widgets.js as one (see esm.py)."""
    return inline_modules("field.js", "dom.js", "widgets.js")


def summarise(settings: dict):
    """(kinds [H, W] long, counts) for analytic_field(**settings): field.js `classify` in Python."""
    target, size = tuple(settings["target"]), settings["image_size"]
    kinds = field_codes(analytic_field(**settings), target)  # the static figures' codes, same order
    counts = {"past": int(past(target, size).sum()), "seen": int((kinds == SEEN).sum()),
              "blind": int((kinds == BLIND).sum()), "unreached": int((kinds == UNREACHED).sum())}
    return kinds, counts


class _Widget(anywidget.AnyWidget):
    _esm = esm_bundle()


def _odd(name):
    def check(self, proposal):
        try:
            return check_kernel_size(proposal["value"], name)
        except ValueError as err:
            raise t.TraitError(str(err)) from None
    return t.validate(name)(check)


class MaskExplorer(_Widget):
    """The causal mask of one k x k kernel; for RGB, the centre tap's channel-to-channel rules.

    Synced traits: kernel_size, mask_type ("A"/"B"), rgb. `mask()` is the masks.causal_mask shown.
    """
    _pxw_view = t.Unicode("mask").tag(sync=True)
    kernel_size = t.Int(5).tag(sync=True)
    mask_type = t.Enum(("A", "B"), "A").tag(sync=True)
    rgb = t.Bool(False).tag(sync=True)
    _check_kernel = _odd("kernel_size")

    def __init__(self, kernel_size=5, mask_type="A", rgb=False, **kwargs):
        super().__init__(kernel_size=kernel_size, mask_type=mask_type, rgb=rgb, **kwargs)

    def mask(self):
        from .masks import causal_mask
        groups = torch.arange(3 if self.rgb else 1)
        return causal_mask(self.kernel_size, self.mask_type, groups, groups)


class ReceptiveFieldExplorer(_Widget):
    """Which earlier pixels can reach one output: visible region, blind spot, future, with counts.

    arch: "masked" (mask A then mask B layers, chapters 2-3), "two_stacks" (vertical and
    horizontal stacks) or "gated" (two stacks with `causal_kernel_size` for layer 1 and
    dilations repeating `dilation_cycle`). Pick the target by clicking or with the arrow keys.
    Synced traits: arch, n_layers, max_layers, kernel_size, causal_kernel_size, dilation_cycle,
    image_size, target, channel, n_channels, and `counts` (computed here, in Python, from
    receptive.py: past, seen, blind, unreached).
    """
    _pxw_view = t.Unicode("field").tag(sync=True)
    arch = t.Enum(EXPLORER_ARCHS, "masked").tag(sync=True)
    n_layers = t.Int(3).tag(sync=True)
    max_layers = t.Int(10).tag(sync=True)
    kernel_size = t.Int(3).tag(sync=True)
    causal_kernel_size = t.Int(7).tag(sync=True)
    dilation_cycle = t.List(t.Int(), [1], minlen=1).tag(sync=True)
    image_size = t.Tuple(t.Int(), t.Int(), default_value=(12, 12)).tag(sync=True)
    target = t.Tuple(t.Int(), t.Int(), default_value=(8, 6)).tag(sync=True)
    channel = t.Int(0).tag(sync=True)
    n_channels = t.Enum((1, 3), 1).tag(sync=True)
    counts = t.Dict().tag(sync=True)
    _check_kernel = _odd("kernel_size")
    _check_causal = _odd("causal_kernel_size")

    def __init__(self, arch="masked", n_layers=3, kernel_size=3, image_size=(12, 12), target=None,
                 **kwargs):
        H, W = image_size
        target = target if target is not None else (min(8, H - 1), min(W // 2, W - 1))
        super().__init__(arch=arch, n_layers=n_layers, kernel_size=kernel_size,
                         image_size=tuple(image_size), target=tuple(target), **kwargs)
        self._recount()

    @t.validate("n_layers")
    def _check_layers(self, proposal):
        low = 1 if self.arch == "masked" else 2  # the gated model: causal block + >= 1 gated block
        if not low <= proposal["value"] <= self.max_layers:
            raise t.TraitError(f"n_layers must lie in [{low}, {self.max_layers}] for arch {self.arch!r}.")
        return proposal["value"]

    @t.validate("image_size")
    def _check_size(self, proposal):
        if not all(1 <= n <= 64 for n in proposal["value"]):
            raise t.TraitError(f"image_size must be two sizes in [1, 64], got {proposal['value']}.")
        return proposal["value"]

    @t.validate("dilation_cycle")
    def _check_dilations(self, proposal):
        if any(d < 1 for d in proposal["value"]):
            raise t.TraitError(f"dilations must be positive, got {proposal['value']}.")
        return proposal["value"]

    @t.observe("arch")
    def _min_layers(self, change):
        if change["new"] != "masked" and self.n_layers < 2:
            self.n_layers = 2

    @t.observe("image_size")
    def _clamp_target(self, change):
        (H, W), (i, j) = change["new"], self.target
        self.target = (min(i, H - 1), min(j, W - 1))

    @t.observe("n_layers", "kernel_size", "causal_kernel_size", "dilation_cycle", "target",
               "channel", "n_channels", "arch", "image_size")
    def _recount(self, change=None):
        (H, W), (i, j) = self.image_size, self.target
        if 0 <= i < H and 0 <= j < W:
            self.counts = summarise(self.settings())[1]

    def settings(self) -> dict:
        """The `analytic_field` arguments the widget shows (field.js `explorerSettings`)."""
        gated, n, k = self.arch == "gated", self.n_layers, self.kernel_size
        cycle = self.dilation_cycle
        return dict(arch="two_stacks" if gated else self.arch, target=tuple(self.target),
                    image_size=tuple(self.image_size), n_layers=n, kernel_size=k,
                    causal_kernel_size=self.causal_kernel_size if gated else k,
                    dilations=[cycle[l % len(cycle)] for l in range(n - 1)] if gated else None,
                    channel=self.channel, n_channels=self.n_channels)

    def field(self):
        """Bool [H, W]: the visible region drawn for the current settings."""
        return analytic_field(**self.settings())


def log_codes(maps, decades=4):
    """uint8 codes for non-negative maps [T, H, W]: 0 exactly where a map is 0, else 1..255 on a
    log scale over `decades` below each map's maximum (255 = the maximum). Keeping zero apart
    keeps the support exact, so the page can compare it with the analytic field.
    """
    maps = torch.as_tensor(maps, dtype=torch.float64)
    top = maps.flatten(1).amax(1).clamp_min(torch.finfo(torch.float64).tiny)[:, None, None]
    rel = torch.log10((maps / top).clamp_min(1e-300)) / decades + 1  # 1 at the max, 0 at max/10^decades
    codes = (1 + torch.round(254 * rel.clamp(0, 1))).to(torch.uint8)
    codes[maps == 0] = 0
    return codes


def auto_stride(size, budget=200_000) -> int:
    """The smallest stride whose grid of targets keeps the raw maps (targets x H x W bytes) within
    `budget`: 1 up to 21 x 21 images, 2 for 28 x 28 (MNIST), 3 for 32 x 32 (CIFAR-10)."""
    H, W = size
    return next(s for s in range(1, max(H, W) + 1) if math.ceil(H / s) * math.ceil(W / s) * H * W <= budget
                or s == max(H, W))


class TrainedFieldView(_Widget):
    """How much a trained model's prediction at each output pixel uses each input pixel.

    For image `x` (levels [C, H, W]) the exact float64 gradients |d log p(x_t | past) / d x|
    (receptive.influence_map, summed over input channels) are computed here for every output
    pixel on a `stride` grid and shipped with the widget as uint8 codes (see `log_codes`),
    zlib-compressed, so clicking a pixel works in the static book too. `stride=None` picks the
    smallest stride that keeps the raw maps under ~200 kB (`auto_stride`): about 10-40 kB saved
    in the notebook for 28 x 28 images. The widget opens exactly on `target` (default: the grid
    pixel nearest two thirds down, mid-width): a target off the grid gets its own map
    (`extra_targets`), so the numbers match the prose that names it. The analytic field's outline and blind spot are drawn
    on top. Synced traits: target (an extra target, else snapped to the stride grid), and the
    data. `maps` holds the float64 maps [targets, H, W] (the grid's, row by row, then the extra
    targets'; not synced), `codes()` the uint8 codes the page shows.
    """
    _pxw_view = t.Unicode("trained").tag(sync=True)
    image_size = t.Tuple(t.Int(), t.Int()).tag(sync=True)
    stride = t.Int(1).tag(sync=True)
    extra_targets = t.List(t.Tuple(t.Int(), t.Int())).tag(sync=True)
    target = t.Tuple(t.Int(), t.Int()).tag(sync=True)
    influence = t.Bytes().tag(sync=True)
    influence_encoding = t.Enum(("deflate", "raw"), "deflate").tag(sync=True)
    maxima = t.List(t.Float()).tag(sync=True)
    image = t.Bytes().tag(sync=True)
    title = t.Unicode("").tag(sync=True)
    arch = t.Unicode("masked").tag(sync=True)
    n_layers = t.Int().tag(sync=True)
    kernel_size = t.Int().tag(sync=True)
    causal_kernel_size = t.Int(allow_none=True).tag(sync=True)
    dilations = t.List(t.Int(), allow_none=True).tag(sync=True)
    channel = t.Int(0).tag(sync=True)
    n_channels = t.Int(1).tag(sync=True)

    def __init__(self, model, x, y=None, channel=0, stride=None, target=None, title="", batch=16, **kwargs):
        x = torch.as_tensor(x).long()
        x = x[0] if x.dim() == 4 else x
        C, H, W = x.shape
        stride = auto_stride((H, W)) if stride is None else int(stride)
        if stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride}.")
        if target is None:  # two thirds down, mid-width, on the grid
            target = self._snap((H * 2 // 3, W // 2), (H, W), stride)
        target = tuple(int(v) for v in target)
        if not (0 <= target[0] < H and 0 <= target[1] < W):
            raise ValueError(f"target {target} lies outside the {H}x{W} image.")
        extras = [] if target[0] % stride == target[1] % stride == 0 else [target]
        targets = [(channel, i, j) for i in range(0, H, stride) for j in range(0, W, stride)]
        maps = influence_maps(model, x, targets + [(channel, *e) for e in extras], y, batch).sum(1)
        self.maps = maps  # float64 [T, H, W], for the reader (and the tests)
        image = (x.float() * 255 / max(model.color_levels - 1, 1)).round().to(torch.uint8)
        super().__init__(image_size=(H, W), stride=stride, extra_targets=extras,
                         influence=zlib.compress(log_codes(maps).numpy().tobytes(), 9),
                         maxima=[float(f"{m:.4g}") for m in maps.flatten(1).amax(1).tolist()],
                         image=image.numpy().tobytes(), title=title, channel=channel,
                         target=target, **field_settings(model), **kwargs)

    def codes(self):
        """uint8 [targets, H, W]: the quantised maps the page draws (decoded from `influence`)."""
        raw = zlib.decompress(self.influence) if self.influence_encoding == "deflate" else self.influence
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(-1, *self.image_size)

    @staticmethod
    def _snap(target, size, stride, extras=()):
        """An extra target as it is, else the nearest pixel of the stride grid."""
        if tuple(target) in {tuple(e) for e in extras}:
            return tuple(target)
        # floor(x + 0.5), not round(): the same half-up rounding as the page's Math.round
        return tuple(min(math.floor(v / stride + 0.5), math.ceil(n / stride) - 1) * stride
                     for v, n in zip(target, size))

    def shown(self, target=None):
        """(pixel shown, its row in `maps`/`codes()`) for `target` (default: the current one):
        widgets.js `trainedTarget`."""
        (H, W), s, extras = self.image_size, self.stride, [tuple(e) for e in self.extra_targets]
        i, j = self._snap(self.target if target is None else target, (H, W), s, extras)
        if (i, j) in extras:
            return (i, j), math.ceil(H / s) * math.ceil(W / s) + extras.index((i, j))
        return (i, j), (i // s) * math.ceil(W / s) + j // s

    @t.validate("target")
    def _check_target(self, proposal):
        return self._snap(proposal["value"], self.image_size, self.stride, self.extra_targets)

    def settings(self, target=None) -> dict:
        """The analytic_field arguments of the outline drawn for `target` (default: current)."""
        return dict(arch=self.arch, target=tuple(target or self.target), image_size=tuple(self.image_size),
                    n_layers=self.n_layers, kernel_size=self.kernel_size,
                    causal_kernel_size=self.causal_kernel_size, dilations=self.dilations,
                    channel=self.channel, n_channels=self.n_channels)


__all__ = ["MaskExplorer", "MaskDesigner", "check_mask", "ReceptiveFieldExplorer", "TrainedFieldView", "log_codes",
           "summarise", "esm_bundle", "auto_stride"]
