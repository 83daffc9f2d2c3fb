"""plot_history draws what train(...) returns (a History) as well as a plain dict."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pixelcnn_lib.plotting import plot_history  # noqa: E402
from pixelcnn_lib.training import History  # noqa: E402


def test_plot_history_accepts_a_training_history_and_a_dict():
    h = History(epochs=[{"train_bits_per_dim": 3.0 - e, "val_bits_per_dim": 3.1 - e, "images_per_s": 1.0}
                        for e in range(3)])
    for history in (h, {"train_bpd": h.train_bits_per_dim, "val_bpd": h.val_bits_per_dim}):
        ax = plot_history(history)
        lines = ax.get_lines()
        assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0, 1.0], [3.1, 2.1, 1.1]]
        plt.close(ax.figure)


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
