"""plotting: animations that load nothing from other sites."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def test_animation_html_requests_nothing_from_other_sites():
    from matplotlib import animation
    from pixelcnn_lib.plotting import animation_html
    fig, ax = plt.subplots()
    im = ax.imshow([[0, 1]])
    anim = animation.FuncAnimation(fig, lambda k: [im], frames=2)
    raw, html = anim.to_jshtml(), animation_html(anim)
    plt.close(fig)
    assert "://" in raw.split("<script")[0]          # matplotlib's own output links a CDN ...
    assert "http://" not in html and "https://" not in html  # ... ours does not
    assert "fa-play" in html and "<img" in html       # buttons and frames are still there


def test_block_diagrams_say_what_the_block_computes():
    """The two-stack block's diagram names what layers.GatedBlock builds: a gate or a ReLU, the
    class bias only when asked, the down-shifted link, residual and skip; every label >= 9 pt."""
    import matplotlib.pyplot as plt
    from pixelcnn_lib.diagrams import architecture_figure, block_figure

    def texts(fig):
        return [t for ax in fig.axes for t in ax.texts + [ax.title] if t.get_text()]
    gated, relu, whole = architecture_figure(), block_figure(gated=False, classes=False), None
    words = " ".join(t.get_text() for t in texts(gated))
    assert "tanh" in words and "class bias" in words and "shift down 1 row" in words
    assert "residual" in words and "skip" in words and "4x7" in words
    words = " ".join(t.get_text() for t in texts(relu))
    assert "ReLU" in words and "tanh" not in words and "class bias" not in words and "to h" in words
    assert min(t.get_fontsize() for fig in (gated, relu) for t in texts(fig)) >= 9
    plt.close("all")
