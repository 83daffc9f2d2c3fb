#!/usr/bin/env python3
"""The "build it yourself" exercise cells of every chapter: their source of record, and a tool
that puts them into the notebooks.

    python tools/exercises.py --apply            # insert or update the cells in book/0*.ipynb
    python tools/exercises.py --apply 02 05      # only these chapters
    python tools/exercises.py --check            # exit 1 if a notebook lacks the current cells
    python tools/exercises.py --list             # the exercises, chapter by chapter

Design
------
* In each exercise the reader writes a piece of the model: a function `my_<piece>` given as a
  stub (signature, docstring, `raise NotImplementedError`). The chapter still runs top to
  bottom with every stub unfilled.
* The cell after the stub is one line, `check_<piece>(my_<piece>)`, from
  `pixelcnn_lib.exercises`. It compares the reader's function with the library's own on random
  inputs and named edge cases and prints one verdict: "missing: fill in ...", "case '...'
  failed: <why>" (naming the usual mistake when the result matches one) or "all N cases
  passed", wrapped to 78 characters a line. It never raises and never prints the answer.
  Its input is hidden in the book (tag `remove-input`): the page shows the verdict right
  under the stub.
* The solution is a markdown cell holding `<details><summary>` around a fenced python block, so
  the chapter never executes it (it would overwrite the reader's function). `<details>` opens
  with one click in the Jupyter Book build (checked in a scratch book) and in Jupyter and Colab,
  where a MyST `{dropdown}` would show as raw text. Solutions are short versions a reader could
  write, not the library's source.
* Every cell is self-contained (its imports are torch, torch.nn.functional, math and
  pixelcnn_lib), so `tests/test_exercises.py` runs a chapter's stub, check and solution cells
  without executing the chapter, which trains models.
* Every cell this tool writes carries the tag `exercises-build` and a fixed id
  (`build-NN-<piece>-<role>`). `--apply` replaces the tagged block as a whole and leaves every
  other cell untouched; unchanged cells keep their outputs, and a second run changes nothing.
  The block goes where the tagged cells already are; else right after a cell tagged
  `exercises-build-here` (a chapter's author can put one anywhere); else before the chapter's
  "## What we built" heading; else at the end.
* Inserted code cells have no outputs, so `tools/run_chapters.py --check` reports the chapter
  as stale until it is re-executed.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TAG = "exercises-build"
ANCHOR_TAG = "exercises-build-here"
BEFORE_HEADING = "## What we built"

HEADING = """\
## Exercises: build it yourself

In these exercises you write pieces of the model yourself. Each gives a function to fill in: its
signature and docstring say what it must do. The cell under it checks your function against the
library's, on random inputs and on the edge cases where the usual mistakes show, and says which
case failed and why. Until you fill a function in, its check says what is missing. A solution
hides under each check: try first."""


@dataclass
class Exercise:
    function: str   # the reader's function, e.g. "my_causal_mask"
    title: str
    prose: str      # markdown: what to build, and why
    stub: str       # code cell: imports and the function to fill in
    solution: str   # python, shown collapsed under the check

    @property
    def piece(self) -> str:
        return self.function.removeprefix("my_")

    @property
    def check(self) -> str:
        return f"check_{self.piece}"

    def check_source(self) -> str:
        return (f"from pixelcnn_lib.exercises import {self.check}\n\n"
                f"{self.check}({self.function})")

    def solution_markdown(self) -> str:
        return ("<details>\n<summary>Solution (click to open)</summary>\n\n"
                f"```python\n{self.solution}\n```\n\n</details>")


def stub(imports: str, signature: str, docstring: str) -> str:
    """A stub cell: imports, then the function with its docstring and NotImplementedError."""
    body = docstring.strip("\n")
    return (f"{imports}\n\n\n{signature}\n    \"\"\"{body}\n    \"\"\"\n"
            "    # your code here\n    raise NotImplementedError")


# ----------------------------------------------------------------------------- the exercises
# Code lines stay within 78 characters: the book's code box shows no more without scrolling
# sideways. tests/test_exercises.py checks it.

CH1 = [
    Exercise(
        "my_log_prob", "log p(x) by the chain rule",
        "By the chain rule, $\\log p(\\mathbf{x})$ is a sum over the sub-pixels of\n"
        "$\\log p(x_i \\mid \\mathbf{x}_{<i})$. A model gives logits `[B, L, C, H, W]`: for every\n"
        "sub-pixel, one score per level. Write `my_log_prob`, the log-likelihood of each image in\n"
        "nats. The check also enumerates every image of two tiny worlds (a 2×2 binary image, and\n"
        "one RGB pixel with 3 levels) and holds your probabilities to summing to one.",
        stub("import torch\nimport torch.nn.functional as F", "def my_log_prob(logits, x):", """\
log p(x) in nats for each image, by the chain rule.

    logits: [B, L, C, H, W], one score per level for every sub-pixel (its
    conditional given the past); x: [B, C, H, W], the levels that occurred.
    Returns a float tensor [B]."""),
        """\
def my_log_prob(logits, x):
    # log p(level | past), for every sub-pixel and every level
    log_p = torch.log_softmax(logits, dim=1)
    # the log-probability of the level that occurred: [B, C, H, W]
    observed = log_p.gather(1, x[:, None])[:, 0]
    return observed.sum(dim=(1, 2, 3))   # chain rule: the logs add up"""),
    Exercise(
        "my_bits_per_dim", "bits per dimension of a test set",
        "`evaluate` reports bits per dimension from *summed* log-likelihoods: all the nats of the\n"
        "test set, divided once by the number of sub-pixels and by $\\ln 2$. Write\n"
        "`my_bits_per_dim`, given the model's logits batch by batch. The last batch may be\n"
        "smaller than the others, and the images may have three colour channels.",
        stub("import math\n\nimport torch\nimport torch.nn.functional as F",
             "def my_bits_per_dim(batches):", """\
Bits per dimension of a whole test set, from the model's outputs.

    batches: a list of (logits [B, L, C, H, W], x [B, C, H, W]) pairs, one per
    batch; the last batch may be smaller. Returns one number (a float)."""),
        """\
def my_bits_per_dim(batches):
    total_nats, n_dims = 0.0, 0
    for logits, x in batches:
        total_nats += F.cross_entropy(logits, x, reduction="sum").item()
        n_dims += x.numel()   # every sub-pixel of every image
    return total_nats / (n_dims * math.log(2))   # divide once, at the end"""),
]

CH2 = [
    Exercise(
        "my_causal_mask", "the mask of one channel",
        "Write the mask of a one-channel causal kernel: `my_causal_mask(kernel_size, mask_type)`\n"
        "returns a $k\\times k$ tensor, 1 where the kernel may read and 0 where it may not. Taps\n"
        "before the centre in raster order are open; the centre is closed by type A and open in\n"
        "type B; everything after it is closed.",
        stub("import torch", "def my_causal_mask(kernel_size, mask_type):", """\
The mask of a one-channel causal kernel (1 = may read, 0 = may not).

    kernel_size: an odd k; mask_type: "A" (first layer) or "B" (later
    layers). Returns a float tensor [k, k]."""),
        """\
def my_causal_mask(kernel_size, mask_type):
    k, c = kernel_size, kernel_size // 2   # c: row and column of the centre
    mask = torch.zeros(k, k)
    mask[:c, :] = 1                        # every row above the centre
    mask[c, :c] = 1                        # the centre row, left of it
    if mask_type == "B":
        # type B: the centre holds only features of the past
        mask[c, c] = 1
    return mask"""),
    Exercise(
        "my_colour_mask", "the colour rule at the centre",
        "With colour, each channel belongs to a colour group (0 = R, 1 = G, 2 = B) and the centre\n"
        "tap needs a rule for every pair of channels: output channel $o$ may read input channel\n"
        "$i$ at the centre if $i$'s colour comes before $o$'s (type A), or before or equal to it\n"
        "(type B). Off the centre every pair follows the one-channel mask. Write\n"
        "`my_colour_mask`; the check tries the first layer of an RGB model, hidden layers and the\n"
        "head.",
        stub("import torch", "def my_colour_mask(kernel_size, mask_type, in_groups, out_groups):",
             """\
The causal mask of a colour convolution: float [out, in, k, k].

    in_groups[i] and out_groups[o] (LongTensors) are the colours
    (0 = R, 1 = G, 2 = B) of input channel i and output channel o. Off the
    centre: the one-channel rule for every pair; at the centre: the colour
    rule of mask_type."""),
        """\
def my_colour_mask(kernel_size, mask_type, in_groups, out_groups):
    k, c = kernel_size, kernel_size // 2
    mask = torch.zeros(len(out_groups), len(in_groups), k, k)
    mask[:, :, :c, :] = 1                # rows above the centre
    mask[:, :, c, :c] = 1                # left of the centre
    # [out, 1] and [1, in]: compared, they give every pair of channels
    out_g, in_g = out_groups[:, None], in_groups[None, :]
    earlier = out_g > in_g if mask_type == "A" else out_g >= in_g
    mask[:, :, c, c] = earlier.float()   # the colour rule
    return mask"""),
]

CH3 = [
    Exercise(
        "my_masked_field", "the receptive field, by walking back",
        "Compute the receptive field of stacked masked convolutions without a network: walk back\n"
        "from the target one layer at a time. The last layer's output at the target reads the\n"
        "positions under its open taps; each of those was computed by the layer below from *its*\n"
        "taps; and so on down to layer 1, which is type A. Layers 2 to $n$ are type B and also\n"
        "read their centre. Positions outside the image are zero padding, not pixels.",
        stub("import torch", "def my_masked_field(target, image_size, n_layers, kernel_size=3):",
             """\
Bool [H, W]: the pixels whose value can reach the output at `target`.

    The network: n_layers masked k x k convolutions, layer 1 of type A, the
    others of type B. target = (row, col); image_size = (H, W)."""),
        """\
def my_masked_field(target, image_size, n_layers, kernel_size=3):
    H, W = image_size
    r = kernel_size // 2
    before = [(di, dj) for di in range(-r, 1) for dj in range(-r, r + 1)
              if di < 0 or dj < 0]        # taps before the centre
    need = {tuple(target)}
    for layer in range(n_layers, 0, -1):  # from the last layer down
        # type B (every layer but the first) also reads its centre
        taps = before if layer == 1 else before + [(0, 0)]
        need = {(i + di, j + dj) for i, j in need for di, dj in taps
                if 0 <= i + di < H and 0 <= j + dj < W}
    field = torch.zeros(H, W, dtype=torch.bool)
    for i, j in need:
        field[i, j] = True
    return field"""),
    Exercise(
        "my_blind_spot", "the blind spot, predicted",
        "The blind spot is the part of the past inside the field's bounding box that the field\n"
        "misses. Predict it for $3\\times 3$ kernels from the field's shape: which offsets (rows\n"
        "up, columns right) can $n$ layers reach, when each layer moves a path at most one row up\n"
        "and one column sideways? Mind the borders: near the top of the image the field cannot\n"
        "reach as far right, and its bounding box shrinks with it. (Computing it from\n"
        "`my_masked_field` is allowed too.)",
        stub("import torch", "def my_blind_spot(target, image_size, n_layers):", """\
The blind spot of `target` after n_layers masked 3x3 layers.

    Returns bool [H, W]: the earlier pixels (in raster order) inside the
    bounding box of the receptive field that the field does not contain."""),
        """\
def my_blind_spot(target, image_size, n_layers):
    H, W = image_size
    i, j = target
    reach = min(n_layers, i, W - 1 - j)   # a step right costs a step up
    blind = torch.zeros(H, W, dtype=torch.bool)
    for up in range(1, i + 1):
        # further right than up: no path reaches it
        for right in range(up + 1, reach + 1):
            blind[i - up, j + right] = True
    return blind"""),
]

CH4 = [
    Exercise(
        "my_down_shift", "the down-shift",
        "The vertical stack's output at row $i$ has seen all of row $i$, including the pixels\n"
        "right of $(i, j)$. Before it reaches the horizontal stack it moves one row down, so that\n"
        "row $i$ holds what was computed for row $i - 1$. Write `my_down_shift`.",
        stub("import torch\nimport torch.nn.functional as F", "def my_down_shift(x):", """\
Move every row of x [B, C, H, W] one row down: row i holds row i - 1.

    Row 0 becomes zeros, the last row drops out, the shape stays the same."""),
        """\
def my_down_shift(x):
    shifted = torch.zeros_like(x)
    shifted[:, :, 1:] = x[:, :, :-1]   # row i <- row i - 1; row 0 stays zero
    return shifted"""),
    Exercise(
        "my_vertical_stack", "the cropped vertical stack",
        "The library crops the vertical stack's masked $k\\times k$ kernel to its nonzero part:\n"
        "the $r + 1$ rows above and through the centre ($r = k // 2$). It pads the input with\n"
        "$r$ zero columns on each side and $r$ zero rows on top, none below, convolves, and\n"
        "down-shifts the result. Write `my_vertical_stack` with `F.pad` and `F.conv2d`. The check\n"
        "compares it with the library's `vertical_conv` and, in one case, with the masked\n"
        "$k\\times k$ form, whose kernel rows below the centre are zero.",
        stub("import torch\nimport torch.nn.functional as F",
             "def my_vertical_stack(x, weight, bias):", """\
The vertical stack as the horizontal stack receives it: [B, out, H, W].

    x: [B, in, H, W]; weight: [out, in, r + 1, k], the rows above and
    through the centre of a k x k kernel (r = k // 2); bias: [out].
    Row i of the result may depend only on rows above row i."""),
        """\
def my_vertical_stack(x, weight, bias):
    r = weight.shape[-1] // 2
    # pad (left, right, top, bottom): r zero rows on top, none below
    padded = F.pad(x, (r, r, r, 0))
    out = F.conv2d(padded, weight, bias)   # row i reads rows i - r .. i
    # shifted down: row i reads rows i - r - 1 .. i - 1
    return F.pad(out, (0, 0, 1, 0))[:, :, :-1]"""),
]

CH5 = [
    Exercise(
        "my_gate", "the gate",
        "The gated activation splits its $2n$ channels into a feature half $f$ (the first $n$)\n"
        "and a gate half $g$ (the last $n$) and returns $\\tanh(f) \\odot \\sigma(g)$. Write\n"
        "`my_gate`.",
        stub("import torch", "def my_gate(x):", """\
tanh(f) * sigmoid(g) for x [B, 2n, H, W], split into halves f and g.

    f: the first n channels, g: the last n. Returns [B, n, H, W]."""),
        """\
def my_gate(x):
    n = x.shape[1] // 2
    f, g = x[:, :n], x[:, n:]   # feature half, gate half
    return torch.tanh(f) * torch.sigmoid(g)"""),
    Exercise(
        "my_gated_block", "a gated block's forward pass",
        "Now a whole gated block (type B, no labels) from its parts: the convolutions\n"
        "`block.v_conv`, `block.h_conv`, `block.v_to_h`, `block.h_out` and `block.skip`\n"
        "(each with its padding and mask built in), `down_shift`, and your gate. Follow the\n"
        "steps listed in this chapter and return the new vertical state, the new horizontal\n"
        "state and the skip.",
        stub("import torch\nfrom pixelcnn_lib.layers import down_shift",
             "def my_gated_block(block, v, h):", """\
(v, h, skip) of a GatedBlock (type B, no labels) from its convolutions.

    block: a pixelcnn_lib.layers.GatedBlock; v, h: [B, n, H, W], its
    vertical and horizontal inputs. Use block.v_conv, block.h_conv,
    block.v_to_h, block.h_out, block.skip, down_shift and a gate (your
    my_gate)."""),
        """\
def my_gated_block(block, v, h):
    v_pre = block.v_conv(v)   # rows above and this row
    # the link from the vertical stack, shifted one row down
    h_pre = block.h_conv(h) + block.v_to_h(down_shift(v_pre))
    gated = my_gate(h_pre)
    return my_gate(v_pre), h + block.h_out(gated), block.skip(gated)"""),
]

CH6 = [
    Exercise(
        "my_forward", "the whole model's forward pass",
        "The whole model from its parts: scale the integer image to $[-1, 1]$\n"
        "(`model.scale`), run the causal block (`model.causal(x, x)` returns v, h and no skip),\n"
        "run every gated block in `model.blocks` (each takes v, h and the labels y and returns\n"
        "v, h and a skip), send the *sum* of the skips through `model.head`, and put its output\n"
        "into the logits layout `[B, L, C, H, W]`. The head's $C \\cdot L$ channels come colour\n"
        "by colour: the $L$ levels of the first channel, then those of the second, and so on.",
        stub("import torch", "def my_forward(model, x, y=None):", """\
Logits [B, L, C, H, W] of a GatedPixelCNN, computed from its parts.

    model: a pixelcnn_lib.GatedPixelCNN; x: [B, C, H, W] integer levels;
    y: [B] class labels, or None. Use model.scale, model.causal,
    model.blocks and model.head."""),
        """\
def my_forward(model, x, y=None):
    x = model.scale(x)                       # levels -> [-1, 1]
    v, h, _ = model.causal(x, x)             # the causal block has no skip
    skips = 0
    for block in model.blocks:
        v, h, skip = block(v, h, y)
        skips = skips + skip                 # every block talks to the head
    # [B, C * L, H, W]: the L levels of each colour in turn
    out = model.head(skips)
    B, _, H, W = out.shape
    C, L = model.in_channels, model.color_levels
    return out.view(B, C, L, H, W).transpose(1, 2)"""),
    Exercise(
        "my_conditional_gate", "the class bias inside the gate",
        "A class-conditional model adds a learned vector $V_y$ to the pre-activations of every\n"
        "gated block, for both halves: $\\tanh(f + V_{f,y}) \\odot \\sigma(g + V_{g,y})$. `table`\n"
        "is an `nn.Embedding(n_classes, 2n)`: row $y$ holds the $2n$ numbers of class $y$, the\n"
        "same at every pixel. Write `my_conditional_gate`.",
        stub("import torch", "def my_conditional_gate(pre, y, table):", """\
The gate with a per-class bias inside: [B, n, H, W].

    pre: [B, 2n, H, W] pre-activations; y: [B] class labels; table: an
    nn.Embedding(n_classes, 2n), each class's bias for both halves."""),
        """\
def my_conditional_gate(pre, y, table):
    # [B, 2n, 1, 1]: the same bias at every pixel
    bias = table(y)[:, :, None, None]
    # inside the gate: added before tanh and sigmoid
    f, g = (pre + bias).chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)"""),
]

CH7 = [
    Exercise(
        "my_row_cache", "the row cache",
        "The cached sampler splits a layer's pre-activation at $(i, j)$ into a part that is fixed\n"
        "once row $i$ starts and a part that changes pixel by pixel. Take the smallest model,\n"
        "one masked $k\\times k$ convolution of type A on a greyscale image\n"
        "(`conv.masked_weight()` is its kernel `[out, 1, k, k]`, `conv.bias` its bias,\n"
        "$r = k // 2$). Write the row part for a whole row at once: the kernel's rows above the\n"
        "centre applied to image rows $i - r, \\dots, i - 1$, plus the bias, with the padding of\n"
        "the training graph: $r$ rows of zeros above the image and $r$ columns of zeros on each\n"
        "side, so every column $j$ of the row gets its full window.",
        stub("import torch\nimport torch.nn.functional as F", "def my_row_cache(conv, x, i):",
             """\
[B, out, W]: for every column j, the part of conv's output at (i, j)
    that comes from the rows above row i, plus the bias.

    conv: a masked k x k convolution of type A (kernel conv.masked_weight(),
    bias conv.bias); x: [B, 1, H, W], the image as the layer reads it;
    i: the row about to be drawn."""),
        """\
def my_row_cache(conv, x, i):
    r = conv.kernel_size[0] // 2
    # image rows i - r .. i - 1, with zero rows above the image
    rows = F.pad(x, (r, r, r, 0))[:, :, i: i + r]
    above = conv.masked_weight()[:, :, :r]   # kernel rows above the centre
    return F.conv2d(rows, above, conv.bias)[:, :, 0]   # [B, out, W]"""),
    Exercise(
        "my_pixel_step", "the pixel update",
        "Then the part that changes pixel by pixel: the kernel's centre row, left of the centre,\n"
        "applied to the $r$ pixels left of $(i, j)$ (zeros left of the image), added to the row\n"
        "part. Together they must give exactly what the full convolution computes at $(i, j)$,\n"
        "reading only pixels already drawn.",
        stub("import torch\nimport torch.nn.functional as F",
             "def my_pixel_step(conv, row_pre, x, i, j):", """\
[B, out]: conv's pre-activation at (i, j) from the row cache and row i.

    row_pre: [B, out, W], the row part of row i (what my_row_cache computes);
    x: [B, 1, H, W], the image, drawn up to (i, j) exclusive; conv as above."""),
        """\
def my_pixel_step(conv, row_pre, x, i, j):
    r = conv.kernel_size[0] // 2
    # row i with r zeros on its left: [B, 1, r + W]
    row = F.pad(x[:, :, i], (r, 0))
    window = row[:, :, j: j + r]               # pixels j - r .. j - 1
    left = conv.masked_weight()[:, :, r, :r]   # centre row, left of centre
    return row_pre[:, :, j] + (window[:, None] * left[None]).sum(dim=(2, 3))"""),
]

CHAPTERS = {1: CH1, 2: CH2, 3: CH3, 4: CH4, 5: CH5, 6: CH6, 7: CH7}


# ----------------------------------------------------------------------------- cells

def chapter_cells(number: int) -> list:
    """The exercise block of chapter `number`, as nbformat cells (heading first)."""
    import nbformat

    def meta(*extra):
        return {"tags": [TAG, *extra]}

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md(HEADING, metadata=meta(), id=f"build-{number:02d}-heading")]
    for k, ex in enumerate(CHAPTERS[number], start=1):
        key = f"build-{number:02d}-{ex.piece.replace('_', '-')}"
        text = f"### Exercise {k}: {ex.title}\n\n{ex.prose}"
        cells += [md(text, metadata=meta(), id=f"{key}-text"),
                  code(ex.stub, metadata=meta(), id=f"{key}-stub"),
                  code(ex.check_source(), metadata=meta("remove-input"), id=f"{key}-check"),
                  md(ex.solution_markdown(), metadata=meta(), id=f"{key}-solution")]
    return cells


def is_managed(cell) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def same(a, b) -> bool:
    return (a.cell_type == b.cell_type and a.source == b.source
            and a.metadata.get("tags", []) == b.metadata.get("tags", []))


def chapter_path(number: int) -> Path:
    found = sorted(BOOK.glob(f"{number:02d}_*.ipynb"))
    if len(found) != 1:
        raise SystemExit(f"expected one notebook book/{number:02d}_*.ipynb, found {len(found)}")
    return found[0]


def insert_at(cells) -> int:
    """Where a new block goes (see the module docstring)."""
    for k, cell in enumerate(cells):
        if ANCHOR_TAG in cell.get("metadata", {}).get("tags", []):
            return k + 1
    for k, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.startswith(BEFORE_HEADING):
            return k
    return len(cells)


def apply(path: Path, number: int) -> str:
    """Put chapter `number`'s block into the notebook at `path`: "inserted", "updated" or
    "unchanged"."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    wanted = chapter_cells(number)
    managed = [k for k, c in enumerate(nb.cells) if is_managed(c)]
    old = [nb.cells[k] for k in managed]
    contiguous = managed == list(range(managed[0], managed[0] + len(managed))) if managed else True
    if contiguous and len(old) == len(wanted) and all(map(same, old, wanted)):
        return "unchanged"
    kept = {(c.cell_type, c.source, tuple(c.metadata.get("tags", []))): c for c in old}
    block = [kept.get((c.cell_type, c.source, tuple(c.metadata["tags"])), c) for c in wanted]
    for fresh, cell in zip(wanted, block):
        cell["id"] = fresh["id"]
    rest = [c for c in nb.cells if not is_managed(c)]
    at = managed[0] if managed else insert_at(rest)
    nb.cells = rest[:at] + block + rest[at:]
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return "updated" if managed else "inserted"


def problems(path: Path, number: int) -> list[str]:
    """Why the notebook does not hold chapter `number`'s current block (empty: it does)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    managed = [k for k, c in enumerate(nb.cells) if is_managed(c)]
    wanted = chapter_cells(number)
    if not managed:
        return ["it has no exercise cells"]
    found = []
    if managed != list(range(managed[0], managed[0] + len(managed))):
        found.append("its exercise cells are not one contiguous block")
    old = [nb.cells[k] for k in managed]
    if len(old) != len(wanted):
        found.append(f"it has {len(old)} exercise cells, the record {len(wanted)}")
    found += [f"cell {w['id']} differs from the record" for o, w in zip(old, wanted)
              if not same(o, w)]
    return found


def select(names: list[str]) -> list[int]:
    """Chapter numbers from names like "02", "2", "02_masks" or "book/02_masks.ipynb"."""
    if not names:
        return sorted(CHAPTERS)
    numbers = []
    for name in names:
        digits = Path(name).name[:2].rstrip("_")
        if not digits.isdigit() or int(digits) not in CHAPTERS:
            raise SystemExit(f"unknown chapter {name!r}; chapters with exercises: "
                             f"{sorted(CHAPTERS)}")
        numbers.append(int(digits))
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply or check the build-it-yourself exercises.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--apply", action="store_true", help="insert or update the cells")
    mode.add_argument("--check", action="store_true", help="fail if a notebook lacks them")
    mode.add_argument("--list", action="store_true", help="list the exercises")
    parser.add_argument("chapters", nargs="*", help="chapter numbers or notebooks (default: all)")
    args = parser.parse_args(argv)
    failed = False
    for number in select(args.chapters):
        if args.list:
            print(f"chapter {number}: " + ", ".join(ex.function for ex in CHAPTERS[number]))
            continue
        path = chapter_path(number)
        rel = path.relative_to(ROOT)
        if args.apply:
            print(f"{rel}: {apply(path, number)}")
        else:
            found = problems(path, number)
            failed |= bool(found)
            print(f"{rel}: " + ("up to date" if not found else "; ".join(found)))
    if failed:
        print("run: python tools/exercises.py --apply", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
