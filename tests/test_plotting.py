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
