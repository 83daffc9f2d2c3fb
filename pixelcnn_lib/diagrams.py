"""Block diagrams of the library's models, drawn by matplotlib so their labels stay legible and
true of the code: the whole GatedPixelCNN (chapter 6) and one two-stack block (chapters 4 and 6;
the paper's Figure 2 is the diagram readers expect, redrawn here for the library's block).

Every label is 9 pt, at least 12 px as the book's 690 px column shows a 7-inch figure.
"""
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

FS = 9
BLUE, ORANGE, GREEN, GREY = "#CFE3F3", "#F9DDB1", "#CBEBDD", "#EEEEEE"
PURPLE, YELLOW = "#E8D5EE", "#F3F3C9"
SKIP, RES, LABEL = "#009E73", "#0072B2", "#8E5BA6"


def box(ax, x, y, w, h, text, color, fontsize=FS):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#333333", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def arrow(ax, start, end, color="#333333", ls="-"):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2, linestyle=ls,
                                shrinkA=0, shrinkB=0))


def _canvas(ax):
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.set_axis_off()


def draw_gated_pixelcnn(ax):
    """The whole model, bottom to top: image, causal block, gated blocks, skip sum, head."""
    _canvas(ax)
    X, W = 3.9, 4.6  # the column of blocks
    box(ax, X, 0.7, W, 0.9, "image $x$: levels 0..255, scaled to $[-1, 1]$", GREY)
    box(ax, X, 2.3, W, 1.2, "causal block (layer 1): vertical\n4x7, horizontal 1x4, mask A", BLUE)
    box(ax, X, 4.1, W, 0.9, "gated block 2 (mask B, dilation $d_2$)", ORANGE)
    ax.text(X, 5.15, "...", ha="center", va="center", fontsize=14)
    box(ax, X, 6.2, W, 0.9, "gated block $n$ (mask B, dilation $d_n$)", ORANGE)
    box(ax, 8.35, 4.6, 2.6, 0.9, "sum of the skips", GREEN)
    box(ax, 8.35, 6.2, 2.6, 0.8, "ReLU, 1x1 conv", GREEN)
    box(ax, 8.35, 7.4, 2.6, 0.8, "ReLU, 1x1 conv", GREEN)
    box(ax, 7.5, 9.0, 4.6, 1.1, "256 logits per channel, softmax:\n$p(x_i \\mid x_{<i}, y)$", GREY)
    box(ax, 0.75, 5.15, 1.3, 1.0, "class\n$y$", PURPLE)
    for y0, y1 in [(1.15, 1.7), (2.9, 3.65), (4.55, 4.85), (5.45, 5.75)]:
        arrow(ax, (X - 0.6, y0), (X - 0.6, y1))
        arrow(ax, (X + 0.6, y0), (X + 0.6, y1))
    ax.text(X - 0.75, 3.27, "v", fontsize=FS, color="#555555", ha="right", va="center")
    ax.text(X + 0.75, 3.27, "h", fontsize=FS, color="#555555", ha="left", va="center")
    for y in (4.1, 6.2):
        arrow(ax, (X + W / 2, y), (7.05, 4.6 + (y - 5.15) * 0.25), color=SKIP)
        arrow(ax, (1.4, 5.15 + (y - 5.15) * 0.3), (X - W / 2, y), color=LABEL, ls="--")
    ax.text(6.5, 4.95, "skips", color=SKIP, fontsize=FS, ha="center", va="center")
    arrow(ax, (8.35, 5.05), (8.35, 5.8))
    arrow(ax, (8.35, 6.6), (8.35, 7.0))
    arrow(ax, (8.35, 7.8), (8.35, 8.45))
    ax.set_title("the gated PixelCNN (the library's GatedPixelCNN)", fontsize=11)


def draw_two_stack_block(ax, gated=True, classes=True):
    """One block of layers 2..n (layers.GatedBlock with mask B): both stacks, the down-shifted
    1x1 link, the class bias, the activation, the residual and the skip. `gated=False` draws the
    ReLU block chapter 4 trains (h pre-activation channels instead of 2h, no gate)."""
    _canvas(ax)
    V, H = 1.9, 6.3  # the vertical and the horizontal column
    width = "2h" if gated else "h"
    act = r"$\tanh(f)\odot\sigma(g)$" if gated else "ReLU"
    box(ax, V, 0.6, 2.8, 0.8, "vertical input $v$", BLUE)
    box(ax, H, 0.6, 2.8, 0.8, "horizontal input $h$", BLUE)
    box(ax, V, 2.3, 3.4, 1.1, f"2x3 conv (rows above\n+ current row) to {width}", ORANGE)
    box(ax, H, 2.3, 3.4, 1.1, f"1x2 conv (left + current\npixel, mask B) to {width}", ORANGE)
    box(ax, 4.1, 4.0, 2.6, 1.0, "shift down 1 row,\n1x1 conv", YELLOW)
    box(ax, H, 5.2, 0.7, 0.6, "+", GREY, fontsize=11)
    if classes:
        box(ax, V, 5.2, 0.7, 0.6, "+", GREY, fontsize=11)
        box(ax, 4.1, 6.0, 2.2, 0.9, f"class bias\n$V_y$ ({width})", PURPLE)
        arrow(ax, (3.2, 6.0), (V + 0.35, 5.3), color=LABEL, ls="--")
        arrow(ax, (5.0, 6.0), (H - 0.35, 5.3), color=LABEL, ls="--")
        arrow(ax, (V, 2.85), (V, 4.9))
        arrow(ax, (V, 5.5), (V, 6.5))
    else:
        arrow(ax, (V, 2.85), (V, 6.5))
    box(ax, V, 6.9, 2.8, 0.8, act, GREEN)
    box(ax, H, 6.9, 2.8, 0.8, act, GREEN)
    box(ax, H, 8.1, 1.8, 0.7, "1x1 conv", ORANGE)
    box(ax, H, 9.3, 0.7, 0.6, "+", GREY, fontsize=11)
    box(ax, 8.6, 8.1, 1.2, 0.9, "1x1\nskip", GREEN)
    box(ax, V, 9.3, 2.8, 0.8, "vertical output $v'$", BLUE)
    ax.text(4.5, 9.3, "horizontal\noutput $h'$", ha="center", va="center", fontsize=FS)
    ax.text(8.6, 8.65, "to the head", ha="center", va="bottom", fontsize=FS, color=SKIP)
    arrow(ax, (V, 1.0), (V, 1.75))
    arrow(ax, (H, 1.0), (H, 1.75))
    arrow(ax, (V + 1.0, 2.85), (3.5, 3.5))
    arrow(ax, (5.0, 4.3), (H - 0.35, 5.05))
    arrow(ax, (H, 2.85), (H, 4.9))
    arrow(ax, (H, 5.5), (H, 6.5))
    arrow(ax, (V, 7.3), (V, 8.9))
    arrow(ax, (H, 7.3), (H, 7.75))
    arrow(ax, (H, 8.45), (H, 9.0))
    arrow(ax, (H + 1.4, 7.0), (8.0, 7.65), color=SKIP)
    arrow(ax, (H - 0.35, 9.3), (5.25, 9.3))
    ax.plot([H + 1.4, 9.8, 9.8], [0.6, 0.6, 9.3], color=RES, lw=1.2)
    arrow(ax, (9.8, 9.3), (H + 0.35, 9.3), color=RES)
    ax.text(9.6, 4.0, "residual", color=RES, fontsize=FS, rotation=90, va="center", ha="right")
    kind = "gated block" if gated else "two-stack block (ReLU)"
    ax.set_title(f"inside a {kind} (blocks 2..n)", fontsize=11)


def architecture_figure():
    """Chapter 6's figure: the whole model above, one gated block below."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 9.6),
                                      gridspec_kw=dict(height_ratios=[1, 1.15]))
    draw_gated_pixelcnn(top)
    draw_two_stack_block(bottom)
    fig.tight_layout()
    return fig


def block_figure(gated=True, classes=True):
    """One two-stack block on its own (chapter 4: gated=False, classes=False)."""
    fig, ax = plt.subplots(figsize=(7, 5.2))
    draw_two_stack_block(ax, gated=gated, classes=classes)
    fig.tight_layout()
    return fig
