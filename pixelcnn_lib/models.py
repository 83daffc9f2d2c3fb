"""The two models the book trains: the original masked PixelCNN and the gated PixelCNN.

Both take integer images x [B, C, H, W] with values in [0, color_levels) and optional
class labels y [B], and return logits [B, color_levels, C, H, W], ready for
`F.cross_entropy(logits, x)`. Channel c at pixel (i, j) depends only on pixels before
(i, j) in raster order and on channels < c of pixel (i, j).
"""
import torch
import torch.nn as nn

from .layers import GatedBlock, masked_conv, mirrored_init, pointwise_conv
from .masks import channel_groups, check_kernel_size


class AutoregressiveImageModel(nn.Module):
    """Shared plumbing: argument checks, input scaling, the logits layout, the config."""

    def __init__(self, in_channels, color_levels, n_classes, config):
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 (greyscale) or 3 (RGB), got {in_channels!r}.")
        if not isinstance(color_levels, int) or color_levels < 2:
            raise ValueError(f"color_levels must be an integer >= 2 (2 = binary), got {color_levels!r}.")
        if n_classes is not None and (not isinstance(n_classes, int) or n_classes < 1):
            raise ValueError(f"n_classes must be None or a positive integer, got {n_classes!r}.")
        self.in_channels, self.color_levels, self.n_classes = in_channels, color_levels, n_classes
        self.config = dict(config)  # constructor arguments: enough to rebuild the model

    @property
    def image_groups(self):
        return torch.arange(self.in_channels)  # one colour group per image channel

    def logit_groups(self):
        return torch.arange(self.in_channels).repeat_interleave(self.color_levels)

    def check_input(self, x, y=None):
        """Raise a ValueError that says what to do for any malformed (x, y)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of colour levels, got {type(x).__name__}.")
        if x.is_floating_point() or x.dtype == torch.bool or x.is_complex():
            raise TypeError(
                f"x must hold integer colour levels in [0, {self.color_levels}), got dtype {x.dtype}. "
                f"Quantise images first, e.g. pixelcnn_lib.data.quantize(images, {self.color_levels})."
            )
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have shape [batch, {self.in_channels}, height, width], got {list(x.shape)}."
            )
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.color_levels):
            raise ValueError(
                f"x has values in [{int(x.min())}, {int(x.max())}] but this model has "
                f"color_levels={self.color_levels}: values must lie in [0, {self.color_levels - 1}]."
            )
        if self.n_classes is None:
            if y is not None:
                raise ValueError("This model is unconditional (n_classes=None): call it without y.")
            return
        if y is None:
            raise ValueError(f"This model is class-conditional (n_classes={self.n_classes}): pass labels y.")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.long or y.shape != (x.shape[0],):
            raise ValueError(f"y must be a LongTensor of shape [{x.shape[0]}] (one label per image).")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes - 1}], got [{int(y.min())}, {int(y.max())}].")

    def scale(self, x):
        """Integer levels -> floats in [-1, 1], in the dtype of the weights."""
        dtype = next(self.parameters()).dtype
        return x.to(dtype) * (2.0 / (self.color_levels - 1)) - 1.0

    def forward(self, x, y=None, *, check=True):
        """Logits [B, color_levels, C, H, W]. `check=False` skips the (host-syncing) input check."""
        if check:
            self.check_input(x, y)
        return self.logits_from_float(self.scale(x), y)

    def to_logits(self, out):
        """[B, C * L, H, W] head output -> [B, L, C, H, W]."""
        b, _, h, w = out.shape
        return out.view(b, self.in_channels, self.color_levels, h, w).transpose(1, 2)

    def logits_from_float(self, x, y=None):
        raise NotImplementedError


class PixelCNN(AutoregressiveImageModel):
    """The original PixelCNN: one mask-A convolution, then mask-B ones, ReLUs, a 1x1 head.

    Every layer sees a k x k window clipped to the past, so the receptive field grows
    as a staircase that never reaches the up-right region: the blind spot.
    """

    def __init__(self, in_channels=1, color_levels=256, hidden_channels=64, n_layers=7,
                 kernel_size=3, n_classes=None):
        super().__init__(in_channels, color_levels, n_classes, dict(
            in_channels=in_channels, color_levels=color_levels, hidden_channels=hidden_channels,
            n_layers=n_layers, kernel_size=kernel_size, n_classes=n_classes))
        check_kernel_size(kernel_size)
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}.")
        groups = channel_groups(hidden_channels, in_channels)
        self.convs = nn.ModuleList(
            [masked_conv(in_channels, hidden_channels, kernel_size, "A", self.image_groups, groups)]
            + [masked_conv(hidden_channels, hidden_channels, kernel_size, "B", groups, groups)
               for _ in range(n_layers - 1)])
        self.acts = nn.ModuleList(nn.ReLU() for _ in range(n_layers))
        self.labels = (nn.ModuleList(nn.Embedding(n_classes, hidden_channels) for _ in range(n_layers))
                       if n_classes else None)
        self.head = pointwise_conv(hidden_channels, in_channels * color_levels, groups,
                                   self.logit_groups())

    def logits_from_float(self, x, y=None):
        for k, (conv, act) in enumerate(zip(self.convs, self.acts)):
            x = conv(x)
            if self.labels is not None:
                x = x + self.labels[k](y)[:, :, None, None]
            x = act(x)
        return self.to_logits(self.head(x))


class GatedPixelCNN(AutoregressiveImageModel):
    """Gated PixelCNN (van den Oord et al. 2016): no blind spot, gates, residuals, skips.

    Layer 1 is the causal block (mask A, kernel `causal_kernel_size`); layers 2..n_layers
    are gated blocks with residual connections whose skip outputs are summed and sent
    through ReLU -> 1x1 -> ReLU -> 1x1 to `color_levels` logits per channel. With
    `n_classes`, each gated block adds a learned per-class bias inside its gate.
    `dilations` (one per gated block) widens the field without more parameters;
    `gated` and `two_stacks` switch off the gate / the vertical stack for comparisons.
    In colour models the layers feeding the head's ReLUs start from `mirrored_init`, so
    that no colour group of a narrow model starts dead.
    """

    def __init__(self, in_channels=1, color_levels=256, hidden_channels=64, n_layers=15,
                 n_classes=None, *, kernel_size=3, causal_kernel_size=7, skip_channels=None,
                 head_channels=None, dilations=None, gated=True, two_stacks=True):
        skip_channels = skip_channels or hidden_channels
        head_channels = head_channels or skip_channels
        super().__init__(in_channels, color_levels, n_classes, dict(
            in_channels=in_channels, color_levels=color_levels, hidden_channels=hidden_channels,
            n_layers=n_layers, n_classes=n_classes, kernel_size=kernel_size,
            causal_kernel_size=causal_kernel_size, skip_channels=skip_channels,
            head_channels=head_channels, dilations=list(dilations) if dilations else None,
            gated=gated, two_stacks=two_stacks))
        check_kernel_size(kernel_size)
        check_kernel_size(causal_kernel_size, "causal_kernel_size")
        if n_layers < 2:
            raise ValueError(f"n_layers must be >= 2 (the causal block plus at least one gated block), got {n_layers}.")
        dilations = list(dilations) if dilations else [1] * (n_layers - 1)
        if len(dilations) != n_layers - 1 or any(not isinstance(d, int) or d < 1 for d in dilations):
            raise ValueError(f"dilations needs {n_layers - 1} positive integers (one per gated block), got {dilations}.")
        self.dilations = dilations
        C, h = in_channels, hidden_channels
        groups = channel_groups(h, C)
        self.causal = GatedBlock(C, h, causal_kernel_size, "A", self.image_groups, C,
                                 gated=gated, two_stacks=two_stacks)
        self.blocks = nn.ModuleList(
            GatedBlock(h, h, kernel_size, "B", groups, C, n_classes, skip_channels, d, gated, two_stacks)
            for d in dilations)
        skip_groups, head_groups = channel_groups(skip_channels, C), channel_groups(head_channels, C)
        self.head = nn.Sequential(
            nn.ReLU(), pointwise_conv(skip_channels, head_channels, skip_groups, head_groups),
            nn.ReLU(), pointwise_conv(head_channels, C * color_levels, head_groups, self.logit_groups()))
        # Start both head ReLUs alive in every colour group: the skip convs (whose sum the
        # first ReLU sees) and the head's first 1x1 get one (w, -w) pair per group, bias 0.
        # Greyscale keeps PyTorch's init: its one group holds every channel.
        if C > 1:
            for block in self.blocks:
                mirrored_init(block.skip, skip_groups)
            mirrored_init(self.head[1], head_groups)

    def logits_from_float(self, x, y=None):
        v, h, _ = self.causal(x, x)
        skips = 0
        for block in self.blocks:
            v, h, skip = block(v, h, y)
            skips = skips + skip
        return self.to_logits(self.head(skips))


class FullyVisibleModel(AutoregressiveImageModel):
    """The simplest autoregressive image model: one masked linear layer (chapter 1).

    Every sub-pixel's logits are an affine function of ALL earlier sub-pixels in raster
    order (a fully visible sigmoid belief network when color_levels=2). No convolution,
    no hidden layer, no blind spot: a weight matrix [H*W*C*L, H*W*C] with the future
    masked out, so it only works at the image size it was built for.
    """

    def __init__(self, in_channels=1, color_levels=2, image_size=(28, 28), n_classes=None):
        image_size = tuple(int(s) for s in image_size)
        super().__init__(in_channels, color_levels, n_classes, dict(
            in_channels=in_channels, color_levels=color_levels, image_size=list(image_size),
            n_classes=n_classes))
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size must be (height, width) with both >= 1, got {image_size}.")
        self.image_size = image_size
        H, W = image_size
        n = in_channels * H * W
        order = self.raster_order()                          # [n]: position of each input in raster order
        self.linear = nn.Linear(n, n * color_levels)
        out_order = order.repeat_interleave(color_levels)    # every level of a sub-pixel shares its position
        self.linear.register_buffer("mask", (order[None, :] < out_order[:, None]).float())
        self.linear.weight.data.mul_(self.linear.mask)
        self.labels = nn.Embedding(n_classes, n * color_levels) if n_classes else None

    def raster_order(self):
        """Index of each sub-pixel of the flattened [C, H, W] image in raster-then-channel order."""
        C, (H, W) = self.in_channels, self.image_size
        c, i, j = torch.meshgrid(torch.arange(C), torch.arange(H), torch.arange(W), indexing="ij")
        return ((i * W + j) * C + c).flatten()

    def check_input(self, x, y=None):
        super().check_input(x, y)
        if tuple(x.shape[2:]) != self.image_size:
            raise ValueError(f"this FullyVisibleModel was built for {self.image_size[0]}x{self.image_size[1]} "
                             f"images, got {x.shape[2]}x{x.shape[3]}; build one with image_size=(H, W).")

    def logits_from_float(self, x, y=None):
        b = x.shape[0]
        C, (H, W), L = self.in_channels, self.image_size, self.color_levels
        out = nn.functional.linear(x.reshape(b, -1), self.linear.weight * self.linear.mask, self.linear.bias)
        if self.labels is not None:
            out = out + self.labels(y)
        # out is ordered (c, i, j, level) -> [B, L, C, H, W]
        return out.view(b, C, H, W, L).permute(0, 4, 1, 2, 3)


def count_parameters(model: nn.Module) -> int:
    """Trainable numbers that can affect the output: masked-out kernel taps are not counted."""
    total = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            mask = getattr(module, "mask", None)
            total += int(mask.sum()) if name == "weight" and mask is not None else p.numel()
    return total


MODELS = {"FullyVisibleModel": FullyVisibleModel, "PixelCNN": PixelCNN, "GatedPixelCNN": GatedPixelCNN}


def build_model(name: str, config: dict) -> AutoregressiveImageModel:
    """Rebuild a model from its class name and `model.config` (used by checkpoints)."""
    if name not in MODELS:
        raise ValueError(f"unknown model class {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**config)
