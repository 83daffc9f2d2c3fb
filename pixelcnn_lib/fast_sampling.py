"""Cached sampling: the naive sampler's images without recomputing the past.

What is final when. The horizontal stack (and a masked k x k kernel) at pixel (i, j) reads
its input only on rows above i and on row i up to column j (the current pixel through the
colour mask), so once computed its output there never changes while the rest of the image
is sampled. The vertical stack is different: its output at (i, j) reads rows i - r .. i of
its input, up to column j + r (r = k // 2 times the dilation), so it is final only once row
i is complete; it reaches the horizontal stack only through the down-shift, at row i + 1.
We keep every layer's inputs and split its horizontal pre-activation at (i, j) into
  * a row part, fixed once row i starts: the vertical stack at row i - 1 (computed when row i
    starts, row i - 1 being complete, and entering row i through the down-shift and the 1x1
    link) or, for a masked k x k kernel, its taps on the rows above; plus the conv bias and
    the label bias;
  * a pixel part: the kernel's taps on the current row, up to pixel (i, j).
A sampling step then runs every layer on one pixel instead of the whole image, as in
fast PixelCNN++ generation (Ramachandran et al. 2017, arXiv 1704.06001). It reads the
model's own modules and masked weights and pads with zeros exactly where the training
graph does, so logits agree to rounding and, for the same generator, samples agree.
"""
import torch
import torch.nn.functional as F

from .models import GatedPixelCNN, PixelCNN
from .sampling_common import draw, make_generator, positions, prepare


def rows_of(conv, row):
    """Taps of `conv`'s kernel row `row`, up to its centre, as an [out, taps * in] matrix.

    Matches a window [B, taps, in] of channels-last inputs flattened to [B, taps * in].
    """
    w = conv.masked_weight()
    taps = w.shape[-1] if w.shape[-2] == 1 else w.shape[-1] // 2 + 1
    w = w[:, :, row, :taps]
    return w.permute(0, 2, 1).reshape(w.shape[0], -1)


class CachedLayer:
    """One causal layer (a GatedBlock, or a PixelCNN conv) run one row, then one pixel, at a time.

    Inputs live in channels-last buffers padded like the training graph: p = r * dilation
    zero columns on both sides and p zero rows on top (the rows below are never read).
    """

    def __init__(self, conv, act, label_h, label_v, residual, block, n, H, W, dtype, device,
                 h_in=None):
        self.conv, self.act, self.block = conv, act, block
        self.stacks = block is not None and block.two_stacks
        kh, kw = conv.kernel_size
        self.d = conv.dilation[1]
        self.r = kw - 1 if self.stacks else kw // 2
        self.p = self.r * self.d
        self.W = W
        self.w_cur = rows_of(conv, kh // 2).t()                      # current-row taps
        self.label_h = label_h                                        # [n, out] or None
        ch = conv.in_channels
        full = lambda: torch.zeros(n, H + self.p, W + 2 * self.p, ch, dtype=dtype, device=device)
        # h input: the image (shared), a full buffer (k x k kernels read rows above), or one row.
        self.h_in = h_in if h_in is not None else (full() if not self.stacks else
                                                   torch.zeros(n, 1, W + 2 * self.p, ch, dtype=dtype, device=device))
        self.v_in = (self.h_in if h_in is not None else full()) if self.stacks else None
        self.label_v = label_v                                        # [n, out] or None
        self.residual = residual                                      # (weight, bias, channels) or None
        self.row_pre = None                                           # [W, n, out], set by start_row

    def h_row(self, i):
        """Row i of the horizontal input, padded: [n, W + 2p, in]."""
        return self.h_in[:, i + self.p] if self.h_in.shape[1] > 1 else self.h_in[:, 0]

    def start_row(self, i, next_layer):
        """Everything about row i that does not depend on row i itself."""
        n, out = self.h_in.shape[0], self.conv.out_channels
        if self.stacks:
            b = self.block
            if i == 0:  # the down-shift brings in a row of zeros: the link adds only its bias
                above = b.v_to_h.bias[None, :, None].expand(n, out, self.W)
            else:       # vertical stack at row i - 1, from input rows i - 1 - p .. i - 1
                slab = self.v_in[:, i - 1: i + self.p].permute(0, 3, 1, 2)
                v_pre = F.conv2d(slab, b.v_conv.masked_weight(), b.v_conv.bias,
                                 dilation=b.v_conv.dilation)            # [n, out, 1, W]
                above = b.v_to_h(v_pre)[:, :, 0]
                if next_layer is not None:
                    if self.label_v is not None:
                        v_pre = v_pre + self.label_v[:, :, None, None]
                    v = b.v_act(v_pre)[:, :, 0].transpose(1, 2)         # [n, W, ch]
                    q = next_layer.p
                    next_layer.v_in[:, i - 1 + q, q: q + self.W] = v
        elif self.r > 0:  # rows above of a masked k x k kernel: input rows i - p .. i - d
            slab = self.h_in[:, i: i + (self.r - 1) * self.d + 1].permute(0, 3, 1, 2)
            w = self.conv.masked_weight()[:, :, :self.r]
            above = F.conv2d(slab, w, dilation=self.conv.dilation)[:, :, 0]
        else:
            above = torch.zeros(n, out, self.W, dtype=self.h_in.dtype, device=self.h_in.device)
        pre = above + self.conv.bias[None, :, None]
        if self.label_h is not None:
            pre = pre + self.label_h[:, :, None]
        self.row_pre = pre.permute(2, 0, 1).contiguous()

    def window(self, row, j):
        """Input columns j - p, j - p + d, ..., j of a padded row: [n, r + 1, in]."""
        return row[:, j: j + self.p + 1: self.d]

    def step(self, i, j):
        """Output at (i, j) (and the skip, for residual blocks) from the cached inputs."""
        row = self.h_row(i)
        win = self.window(row, j)
        pre = torch.addmm(self.row_pre[j], win.reshape(len(win), -1), self.w_cur)
        gated = self.act(pre)
        if self.residual is None:
            return gated, None
        w, b, ch = self.residual
        both = torch.addmm(b, gated, w)                                # h_out and skip, fused
        return row[:, j + self.p] + both[:, :ch], both[:, ch:]


def pointwise(conv):
    """A 1x1 CausalConv2d as (weight [in, out], bias) for addmm."""
    return conv.masked_weight()[:, :, 0, 0].t(), conv.bias


def supports_cached(model):
    """Whether the cached sampler knows this model's layers (PixelCNN and GatedPixelCNN)."""
    return isinstance(model, (GatedPixelCNN, PixelCNN))


class CachedModel:
    """The whole model's caches for a batch being sampled: start a row, step a pixel, write a value.

    `step(i, j, c)` returns the logits [n, L] of channel c at (i, j) given every sub-pixel
    written so far (those at or after (c, i, j) are never read); call it with c = C - 1
    for each pixel, even if that channel is kept, so the layer caches see the whole pixel.
    """

    def __init__(self, model, x, y=None):
        if not supports_cached(model):
            raise NotImplementedError(
                f"cached sampling knows GatedPixelCNN and PixelCNN, not {type(model).__name__}: "
                f"use method='naive'.")
        n, C, H, W = x.shape
        self.model, self.C, self.L = model, C, model.color_levels
        dtype, device = next(model.parameters()).dtype, x.device  # float64 models: exact tests
        kw = dict(n=n, H=H, W=W, dtype=dtype, device=device)
        if isinstance(model, GatedPixelCNN):
            blocks = [model.causal, *model.blocks]
            specs = [(b.h_conv, b.act, None if b.label_h is None else b.label_h(y), b) for b in blocks]
            residuals = [None] + [self.fuse(b.h_out, b.skip) for b in model.blocks]
            hd = model.head
            self.head = [hd[0], pointwise(hd[1]), hd[2], pointwise(hd[3])]
        else:
            specs = [(conv, act, None if model.labels is None else model.labels[k](y), None)
                     for k, (conv, act) in enumerate(zip(model.convs, model.acts))]
            residuals = [None] * len(specs)
            self.head = [pointwise(model.head)]
        self.gated = isinstance(model, GatedPixelCNN)
        self.layers = []
        for k, ((conv, act, label_h, block), res) in enumerate(zip(specs, residuals)):
            p = conv.dilation[1] * (conv.kernel_size[1] - 1 if block is not None and block.two_stacks
                                    else conv.kernel_size[1] // 2)
            image = None
            if k == 0:  # the image itself, scaled as the model scales it
                image = torch.zeros(n, H + p, W + 2 * p, C, dtype=dtype, device=device)
                image[:, p:, p: p + W] = model.scale(x).to(dtype).permute(0, 2, 3, 1)
                self.image, self.p0 = image, p
            label_v = None if block is None or block.label_v is None else block.label_v(y)
            self.layers.append(CachedLayer(conv, act, label_h, label_v, res, block, h_in=image, **kw))

    @staticmethod
    def fuse(h_out, skip):
        (w1, b1), (w2, b2) = pointwise(h_out), pointwise(skip)
        return torch.cat([w1, w2], 1), torch.cat([b1, b2]), w1.shape[1]

    def start_row(self, i):
        for k, layer in enumerate(self.layers):
            layer.start_row(i, self.layers[k + 1] if k + 1 < len(self.layers) else None)

    def step(self, i, j, c=None):
        """Run every layer at pixel (i, j); logits [n, L] of channel c (None: just update caches)."""
        skips = 0
        for k, layer in enumerate(self.layers):
            out, skip = layer.step(i, j)
            if skip is not None:
                skips = skips + skip
            if k + 1 < len(self.layers):
                nxt = self.layers[k + 1]
                nxt.h_row(i)[:, j + nxt.p] = out
        if c is None:
            return None
        z = skips if self.gated else out
        for f in self.head[:-1]:
            z = f(z) if callable(f) else torch.addmm(f[1], z, f[0])
        w, b = self.head[-1]
        rows = slice(c * self.L, (c + 1) * self.L)  # logits layout: [C, L] per pixel
        return torch.addmm(b[rows], z, w[:, rows])

    def put(self, i, j, c, values):
        """Write sampled levels [n] of sub-pixel (c, i, j) into the image cache."""
        scaled = self.model.scale(values).to(self.image.dtype)
        self.image[:, i + self.p0, j + self.p0, c] = scaled


@torch.no_grad()
def sample_cached(model, n, image_shape, y=None, *, temperature=1.0, generator=None, init=None,
                  keep=None, progress=False):
    """Same arguments, random stream and images as `naive_sampling.sample_naive`."""
    device = next(model.parameters()).device
    x, keep, y = prepare(model, n, image_shape, y, temperature, init, keep, device)
    g = make_generator(generator, device)
    C, H, W = image_shape
    skip_all = keep.all(dim=0).cpu()  # one host sync instead of one per sub-pixel
    was_training = model.training
    model.eval()
    try:
        cache = CachedModel(model, x, y)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=H, desc="sampling (cached)")
        for i, j, c in positions(image_shape):
            if j == 0 and c == 0:
                cache.start_row(i)
                if bar is not None and i:
                    bar.update(1)
            drawing = not bool(skip_all[c, i, j])
            if drawing or c == C - 1:
                logits = cache.step(i, j, c if drawing else None)
            if drawing:
                kept = keep[:, c, i, j]
                x[:, c, i, j] = torch.where(kept, x[:, c, i, j], draw(logits, temperature, g))
                cache.put(i, j, c, x[:, c, i, j])
        if bar is not None:
            bar.update(1)
            bar.close()
    finally:
        model.train(was_training)
    return x
