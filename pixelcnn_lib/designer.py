"""Design a mask by hand and see, exactly, what a stack of it can see and where it cheats.

    from pixelcnn_lib.widgets import MaskDesigner
    w = MaskDesigner(kernel_size=3, preset="A", n_layers=3)
    w.toggle(1, 1)                 # open the centre tap of layer 1 (kernel row 1, column 1)
    w.verdict                      # 'leaks 1 future pixel: the model could cheat'
    w.mask()                       # the designed mask, a tensor [C, C, k, k]
    check_mask(w.mask(), 4)        # MaskReport(causal=False, n_leaks=1, field=..., blind_spot=...)

The stack is `DesignedStack`: n CausalConv2d layers (ReLU between), layer 1 with the mask as
designed, later layers with its centre opened as in mask B (or all as designed). Everything the
widget shows comes from `dependency_map` on that model, so it is exact; the page computes the
same with designer.js, which tests/test_designer_js.py holds equal to it.

The blind spot is receptive.blind_spot's: the earlier pixels inside the field's bounding box that
the field misses. Why no single square mask escapes it: every layer reads at most r = k // 2
columns to the right, and only by also climbing a row, since a causal mask may not read to the
right in the current row. So after any number of layers a pixel a rows up and b columns right is
out of reach whenever b > a * r: pixel (i - 1, j + r + 1) is never seen. A mask that reads
anything up-right has, from 2 layers on, a field whose bounding box reaches further right in the
higher rows, so that wedge lies inside the box: a blind spot. A mask that reads nothing up-right
has no blind spot by this count only because its box stops at the target's column: it never sees
any pixel to the right of the target in the rows above (that region is larger still). Seeing the
whole past needs two kinds of kernels (chapter 4's vertical and horizontal stacks).
"""
from __future__ import annotations

from typing import NamedTuple

import anywidget
import torch
import torch.nn as nn
import traitlets as t

from .esm import inline_modules
from .layers import CausalConv2d
from .masks import channel_groups, check_kernel_size
from .models import AutoregressiveImageModel
from .plotting import BLIND, FUTURE, LEAK, SEEN, TARGET, UNREACHED  # designer.js DESIGN_KIND
from .receptive import blind_spot, dependency_map

PRESETS = ("A", "B", "clear", "full")
KERNEL_SIZES = (3, 5, 7)


class MaskReport(NamedTuple):
    """check_mask's answer. `field`: earlier (sub-)pixels that reach the target; `n_leaks`: those at
    or after it that do; `blind_spot`: pixels, as receptive.blind_spot counts them."""
    causal: bool
    n_leaks: int
    field: int
    blind_spot: int


def designer_bundle() -> str:
    """The designer's ES module: field.js, dom.js and designer.js as one (see esm.py)."""
    return inline_modules("field.js", "dom.js", "designer.js")


def preset_taps(name: str, kernel_size: int) -> list:
    """k*k taps, row by row: "A" strictly earlier pixels, "B" A + centre, "clear", "full"."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {name!r}.")
    k, c = check_kernel_size(kernel_size), kernel_size * kernel_size // 2
    return [1 if name == "full" else 0 if name == "clear"
            else int(p < c or (p == c and name == "B")) for p in range(k * k)]


def preset_table(name: str) -> list:
    """The centre's 3x3 channel table [out * 3 + in] of a preset (A: out > in, B: out >= in)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {name!r}.")
    return [1 if name == "full" else 0 if name == "clear" else int(o > i if name == "A" else o >= i)
            for o in range(3) for i in range(3)]


def resize_taps(taps, k_old: int, k_new: int) -> list:
    """Taps for a new kernel size: the same preset if they were one, else cropped/padded centred."""
    for name in PRESETS:
        if list(taps) == preset_taps(name, k_old):
            return preset_taps(name, k_new)
    d = (k_new - k_old) // 2
    return [taps[(r - d) * k_old + s - d] if 0 <= r - d < k_old and 0 <= s - d < k_old else 0
            for r in range(k_new) for s in range(k_new)]


def designed_mask(kernel_size: int, taps, table=None) -> torch.Tensor:
    """Float mask [C, C, k, k] (out, in colour): `taps` everywhere, and for RGB (`table` given,
    [out * 3 + in]) the centre tap per colour pair."""
    k = check_kernel_size(kernel_size)
    grid = torch.tensor(list(taps), dtype=torch.float32).view(k, k)
    if table is None:
        return grid[None, None].clone()
    mask = grid.expand(3, 3, k, k).clone()
    mask[:, :, k // 2, k // 2] = torch.tensor(list(table), dtype=torch.float32).view(3, 3)
    return mask


def as_mask(mask) -> torch.Tensor:
    """A designed mask as float [C, C, k, k]; accepts [k, k] too. Raises if it cannot be one."""
    mask = torch.as_tensor(mask, dtype=torch.float32)
    mask = mask[None, None] if mask.dim() == 2 else mask
    C = mask.shape[0] if mask.dim() == 4 else 0
    if not (mask.dim() == 4 and C in (1, 3) and mask.shape[1] == C
            and mask.shape[2] == mask.shape[3] and mask.shape[2] % 2 == 1):
        raise ValueError(f"a designed mask has shape [k, k], [1, 1, k, k] or [3, 3, k, k] with k "
                         f"odd, got {list(mask.shape)}: use MaskDesigner.mask() or causal_mask().")
    if not ((mask == 0) | (mask == 1)).all():
        raise ValueError("a designed mask holds only 0 (closed tap) and 1 (open tap).")
    return mask


def layer_masks(mask, n_layers: int, all_as_designed: bool = False) -> list:
    """Each layer's mask: layer 1 as designed, later ones with the centre opened as in mask B
    (out >= in added), unless `all_as_designed`."""
    mask = as_mask(mask)
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}.")
    C, k = mask.shape[0], mask.shape[-1]
    opened = mask.clone()
    c = k // 2
    opened[:, :, c, c] = torch.maximum(mask[:, :, c, c], torch.ones(C, C).tril())  # out >= in
    return [mask] + [mask if all_as_designed else opened for _ in range(n_layers - 1)]


class DesignedStack(AutoregressiveImageModel):
    """n layers of one designed mask (k x k CausalConv2d, zero padding all round, ReLU between):
    the model MaskDesigner draws. Hidden channels split into C colour groups, each hidden tap open
    where the mask opens it for the two groups; the last layer outputs the logits."""

    def __init__(self, mask, n_layers, all_as_designed=False, hidden_channels=None, color_levels=2):
        mask = as_mask(mask)
        C, k = mask.shape[0], mask.shape[-1]
        hidden = hidden_channels or 4 * C
        super().__init__(C, color_levels, None, dict(
            mask=mask.int().tolist(), n_layers=n_layers, all_as_designed=all_as_designed,
            hidden_channels=hidden, color_levels=color_levels))
        groups, r = channel_groups(hidden, C), k // 2
        masks = layer_masks(mask, n_layers, all_as_designed)
        ins = [self.image_groups] + [groups] * (n_layers - 1)
        outs = [groups] * (n_layers - 1) + [self.logit_groups()]
        self.convs = nn.ModuleList(CausalConv2d(len(gi), len(go), k, (r, r, r, r), m[go][:, gi])
                                   for m, gi, go in zip(masks, ins, outs))
        self.acts = nn.ModuleList(nn.ReLU() for _ in range(n_layers - 1))

    def logits_from_float(self, x, y=None):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x))
        return self.to_logits(self.convs[-1](x))


def design_field(mask, n_layers, image_size, target, channel=0, all_as_designed=False):
    """(reach, kinds, counts) for output (channel, target) of DesignedStack(mask, n_layers).

    reach: bool [C, H, W], the input values with a path to the target (dependency_map, exact).
    kinds: long [C, H, W] of FUTURE..LEAK; a leak is a value at or after the target in raster
    and channel order that reaches it. counts: past and field (earlier values, all / reaching),
    leaks, blind (receptive.blind_spot of the pixels the earlier values reach).
    """
    model = DesignedStack(mask, n_layers, all_as_designed)
    (H, W), (i, j), C = image_size, target, model.in_channels
    reach = dependency_map(model, (channel, i, j), (H, W))
    order = (torch.arange(H * W).view(1, H, W) * C + torch.arange(C).view(C, 1, 1))
    t = (i * W + j) * C + channel
    earlier = order < t
    blind = blind_spot((reach & earlier).any(0), (i, j))
    kinds = torch.where(earlier, torch.where(reach, SEEN, torch.where(blind, BLIND, UNREACHED)),
                        torch.where(reach, LEAK, FUTURE))
    kinds[(order == t) & ~reach] = TARGET
    counts = {"past": t, "field": int((kinds == SEEN).sum()), "leaks": int((kinds == LEAK).sum()),
              "blind": int(blind.sum())}
    return reach, kinds, counts


def verdict(counts: dict, rgb: bool = False) -> str:
    """'causal', 'causal, blind spot of M pixels' or 'leaks N future pixels: the model could cheat'
    (sub-pixels for RGB, where a later colour of the target's own pixel counts too)."""
    n, m = counts["leaks"], counts["blind"]
    if n:
        unit = "future sub-pixel" if rgb else "future pixel"
        return f"leaks {n} {unit}{'' if n == 1 else 's'}: the model could cheat"
    return f"causal, blind spot of {m} pixel{'' if m == 1 else 's'}" if m else "causal"


def check_mask(mask, n_layers: int, all_as_designed: bool = False, channel: int = 0) -> MaskReport:
    """(causal?, n_leaks, field size, blind-spot size) of a stack of n_layers of `mask`, for output
    colour `channel`, on an image large enough that no border clips the field: (2nr + 1) square,
    target in the middle, r = k // 2. An RGB mask is causal only if it is for channels 0, 1, 2."""
    mask = as_mask(mask)
    n = n_layers * (mask.shape[-1] // 2)
    size = (2 * n + 1, 2 * n + 1)
    _, _, counts = design_field(mask, n_layers, size, (n, n), channel, all_as_designed)
    return MaskReport(counts["leaks"] == 0, counts["leaks"], counts["field"], counts["blind"])


def _binary(name, length=None):
    def check(self, proposal):
        v, want = list(proposal["value"]), length or self.kernel_size ** 2
        if len(v) != want or any(x not in (0, 1) for x in v):
            raise t.TraitError(f"{name} must be {want} values of 0/1 (row by row), got {v}; change "
                               "kernel_size to resize the taps, or use set_mask().")
        return v
    return t.validate(name)(check)


class MaskDesigner(anywidget.AnyWidget):
    """Toggle a k x k mask's taps (and, for RGB, its centre's colour table); see, for a stack of
    n_layers of it, which input (sub-)pixels reach a target pixel, the leaks and the blind spot.

    Synced traits: kernel_size (3, 5, 7), taps (k*k 0/1, row by row), channel_taps (the centre's
    3x3 table, [out * 3 + in], used when rgb), rgb, n_layers, max_layers, all_as_designed,
    image_size, target, channel; and `counts`, `verdict`, computed here by `design_field`.
    The blind-spot count M in the verdict is the number of *pixels* receptive.blind_spot marks:
    earlier pixels inside the field's bounding box that no path reaches.
    """
    _esm = designer_bundle()
    kernel_size = t.Int(3).tag(sync=True)
    taps = t.List(t.Int()).tag(sync=True)
    channel_taps = t.List(t.Int(), default_value=preset_table("A")).tag(sync=True)
    rgb = t.Bool(False).tag(sync=True)
    n_layers = t.Int(3).tag(sync=True)
    max_layers = t.Int(8).tag(sync=True)
    all_as_designed = t.Bool(False).tag(sync=True)
    image_size = t.Tuple(t.Int(), t.Int(), default_value=(10, 11)).tag(sync=True)
    target = t.Tuple(t.Int(), t.Int(), default_value=(6, 5)).tag(sync=True)
    channel = t.Int(0).tag(sync=True)
    counts = t.Dict().tag(sync=True)
    verdict = t.Unicode("").tag(sync=True)
    _check_taps = _binary("taps")
    _check_table = _binary("channel_taps", 9)

    def __init__(self, kernel_size=3, preset="A", rgb=False, n_layers=3, image_size=(10, 11),
                 target=None, **kwargs):
        H, W = image_size
        if kernel_size in KERNEL_SIZES:  # else the trait refuses it, with the reason
            kwargs.setdefault("taps", preset_taps(preset, kernel_size))
        kwargs.setdefault("channel_taps", preset_table(preset))
        target = tuple(target) if target is not None else (H * 2 // 3, W // 2)
        super().__init__(kernel_size=kernel_size, rgb=rgb, n_layers=n_layers,
                         image_size=tuple(image_size), target=target, **kwargs)
        self._update()

    @t.validate("kernel_size")
    def _check_kernel(self, proposal):
        if proposal["value"] not in KERNEL_SIZES:
            raise t.TraitError(f"kernel_size must be one of {KERNEL_SIZES}, "
                               f"got {proposal['value']!r}.")
        return proposal["value"]

    @t.validate("n_layers")
    def _check_layers(self, proposal):
        if not 1 <= proposal["value"] <= self.max_layers:
            raise t.TraitError(f"n_layers must lie in [1, {self.max_layers}], "
                               f"got {proposal['value']}.")
        return proposal["value"]

    @t.validate("image_size")
    def _check_size(self, proposal):
        if not all(1 <= n <= 32 for n in proposal["value"]):
            raise t.TraitError(f"image_size must be two sizes in [1, 32], got {proposal['value']}.")
        return proposal["value"]

    @t.validate("target")
    def _check_target(self, proposal):
        (H, W), (i, j) = self.image_size, proposal["value"]
        if not (0 <= i < H and 0 <= j < W):
            raise t.TraitError(f"target ({i}, {j}) lies outside the {H}x{W} image.")
        return proposal["value"]

    @t.validate("channel")
    def _check_channel(self, proposal):
        if not 0 <= proposal["value"] < (3 if self.rgb else 1):
            raise t.TraitError(f"channel must be 0{', 1 or 2' if self.rgb else ' for greyscale'}.")
        return proposal["value"]

    @t.observe("kernel_size", "taps", "channel_taps", "rgb", "n_layers", "all_as_designed",
               "image_size", "target", "channel")
    def _update(self, change=None):
        if change and change["name"] == "kernel_size" and len(self.taps) != self.kernel_size ** 2:
            self.taps = resize_taps(self.taps, change["old"], change["new"])  # calls _update again
            return
        if not self.rgb and self.channel:
            self.channel = 0
            return
        (H, W), (i, j) = self.image_size, self.target
        if i >= H or j >= W:
            self.target = (min(i, H - 1), min(j, W - 1))
            return
        _, _, self.counts = design_field(self.mask(), self.n_layers, self.image_size, self.target,
                                         self.channel, self.all_as_designed)
        self.verdict = verdict(self.counts, self.rgb)

    def settings(self) -> dict:
        """The page's settings object (designer.js designerSettings), in Python names."""
        return dict(kernel_size=self.kernel_size, taps=list(self.taps),
                    table=list(self.channel_taps), rgb=self.rgb, n_layers=self.n_layers,
                    all_as_designed=self.all_as_designed, image_size=tuple(self.image_size),
                    target=tuple(self.target), channel=self.channel)

    def mask(self) -> torch.Tensor:
        """The designed (layer-1) mask, float [C, C, k, k] (C = 3 for RGB), out colour first."""
        return designed_mask(self.kernel_size, self.taps, self.channel_taps if self.rgb else None)

    def layer_masks(self) -> list:
        return layer_masks(self.mask(), self.n_layers, self.all_as_designed)

    def model(self, hidden_channels=None, color_levels=2) -> DesignedStack:
        """A fresh DesignedStack with this mask and these layers (random weights)."""
        return DesignedStack(self.mask(), self.n_layers, self.all_as_designed, hidden_channels,
                             color_levels)

    def field(self):
        """(reach bool [C, H, W], kinds long [C, H, W]): what the page draws."""
        reach, kinds, _ = design_field(self.mask(), self.n_layers, self.image_size, self.target,
                                       self.channel, self.all_as_designed)
        return reach, kinds

    def check(self) -> MaskReport:
        """check_mask for this design, layer count and target colour (no image border)."""
        return check_mask(self.mask(), self.n_layers, self.all_as_designed, self.channel)

    def apply_preset(self, name: str):
        """"A", "B", "clear" or "full", for the taps and the centre's colour table."""
        self._set(taps=preset_taps(name, self.kernel_size), channel_taps=preset_table(name))

    def _set(self, **state):
        with self.hold_trait_notifications():  # validated together, observed once
            for key, value in state.items():
                setattr(self, key, value)

    def toggle(self, row: int, col: int):
        """Flip tap (row, col) of the kernel (0..k-1; the centre is (k // 2, k // 2)). For RGB the
        centre closes all 9 colour pairs if any is open, else opens them all, as a click does."""
        k = self.kernel_size
        if not (0 <= row < k and 0 <= col < k):
            raise ValueError(f"tap ({row}, {col}) lies outside the {k}x{k} kernel.")
        if self.rgb and row == col == k // 2:
            self.channel_taps = [0 if any(self.channel_taps) else 1] * 9
        else:
            self.taps = [1 - v if p == row * k + col else v for p, v in enumerate(self.taps)]

    def set_channel_tap(self, out: int, inp: int, on: bool = True):
        """Open (or close) the centre tap from input colour `inp` to output colour `out` (0 = R)."""
        self.channel_taps = [int(on) if p == 3 * out + inp else v
                             for p, v in enumerate(self.channel_taps)]

    def set_mask(self, mask):
        """Load a mask [k, k], [1, 1, k, k] or [3, 3, k, k] (same taps off the centre for every
        colour pair, as masks.causal_mask makes them)."""
        mask = as_mask(mask)
        C, k = mask.shape[0], mask.shape[-1]
        off = mask.clone()
        off[:, :, k // 2, k // 2] = off[0, 0, k // 2, k // 2]
        if not (off == off[0, 0]).all():
            raise ValueError("the designer's taps off the centre are shared by all colour pairs; "
                             "this mask differs between pairs.")
        if k not in KERNEL_SIZES:
            raise ValueError(f"the designer draws kernels of size {KERNEL_SIZES}, got {k}.")
        state = {"kernel_size": k, "taps": mask[0, 0].flatten().int().tolist(), "rgb": C == 3}
        if C == 3:
            state["channel_taps"] = mask[:, :, k // 2, k // 2].flatten().int().tolist()
        else:
            state["channel"] = 0
        self._set(**state)


__all__ = ["MaskDesigner", "MaskReport", "DesignedStack", "check_mask", "design_field", "verdict",
           "layer_masks", "designed_mask", "preset_taps", "preset_table", "resize_taps",
           "designer_bundle"]
