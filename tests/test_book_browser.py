"""Open every page of the built book in headless Chromium and check what a reader would see.

The checks live in tests/page_checks.py (see its docstring) and apply to every page of the built
book, so a new chapter is checked as soon as it is in _toc.yml: no console error of any kind, no
request to another site, every file and image loaded, all math typeset, no `$`, LaTeX or raw
Markdown (tables) left in the text, no figure text below 8 CSS px at the size it is shown, no code,
output or table that scrolls sideways in the ~690 px content column. tests/test_page_checks.py
proves each check fails on a page with that defect.

On a page with the book's own widgets (pixelcnn_lib.widgets) it also uses each one as a reader
would, by mouse and keyboard (layer slider, clicks and arrow keys on the pixel grid, the selects),
and after every step compares the map drawn in the DOM (each cell's kind, the influence codes, the
input image read back from the canvas) with the map the Python library computes for the same
settings, mirrored on a Python widget built from the page's saved widget state.
tests/test_widgets_browser.py runs the same checks on a demo book it builds, so the widgets are
tested in a browser whatever the chapters contain.

Needs the built book (``make book`` or ``jupyter-book build . -W -n --keep-going``) and Chromium
(``apt-get install -y chromium``). Without them the test skips, unless ``PIXELCNN_REQUIRE_BUILD=1``
(set by ``make test`` and ``.ci/run``), which turns the skip into a failure.

    pytest -m browser
"""
from __future__ import annotations

import base64
import functools
import json
import math
import os
import re
import zlib
from pathlib import Path

import pytest

import page_checks
# test_widgets_browser imports CHROMIUM and serve from here.
from page_checks import CHROMIUM, CHROMIUM_ARGS, WIDGET_TIMEOUT_MS, serve  # noqa: F401

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("PIXELCNN_BOOK_HTML", ROOT / "_build" / "html"))
REQUIRED = os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1"


def book_pages(html: Path = HTML) -> list[str]:
    """Every HTML page of the book, relative to the build folder (theme/static snippets excluded)."""
    return page_checks.book_pages(html)


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (PIXELCNN_REQUIRE_BUILD=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site():
    if not book_pages():
        unavailable(f"no built book at {HTML}: run `make book` first")
    with serve(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def check_page(browser, site: str, html: Path, page_path: str, report: dict | None = None,
               layout: bool = False) -> list[str]:
    """Everything wrong with one page (page_checks.check_page plus the widgets). `report`
    (optional) collects what the widget checks compared, by widget kind. `layout` adds the figure
    text size and sideways-scrolling checks, meant for the book's own pages."""
    def book_widgets(page, html_text):
        if not page.evaluate(page_checks.WIDGET_VIEWS_JS):
            return []
        return check_book_widgets(page, html_text, report)

    return page_checks.check_page(browser, site, html, page_path, extra=book_widgets, layout=layout)


@pytest.mark.parametrize("page_path", book_pages() or ["(no build)"])
def test_page(page_path, site, browser):
    problems = check_page(browser, site, HTML, page_path, layout=True)
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


# --- the book's widgets, used and compared with the Python library ----------------------------------

STATE_RE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)
OKABE_ITO_BLUE = "rgb(0, 114, 178)"  # widgets.js COLOURS.seen


def saved_widget_models(html_text: str) -> dict:
    """model_id -> saved widget model of a page, binary buffers decoded into its state as bytes."""
    models = {}
    for m in STATE_RE.finditer(html_text):
        for model_id, model in json.loads(m.group(1))["state"].items():
            state = dict(model["state"])
            for buf in model.get("buffers", []):
                *path, key = buf["path"]
                holder = functools.reduce(lambda d, k: d[k], path, state)
                holder[key] = base64.b64decode(buf["data"]) if buf.get("encoding", "base64") == "base64" else buf["data"]
            models[model_id] = {**model, "state": state}
    return models


TAG_WIDGETS_JS = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')].flatMap((s, n) => {
  const area = s.previousElementSibling, root = area && area.querySelector(".pxw");
  if (root) root.dataset.pxwIndex = String(n);
  return [[n, JSON.parse(s.textContent).model_id, !!root]];
})"""

READ_WIDGET_JS = """r => ({
  data: {...r.dataset},
  kinds: [...r.querySelectorAll(".pxw-grid .pxw-cell")].map(c => +c.dataset.kind),
  codes: [...r.querySelectorAll(".pxw-grid .pxw-cell")].map(c => +(c.dataset.code ?? -1)),
  mask: [...r.querySelectorAll(".pxw-mask .pxw-cell")].map(c => c.dataset.on),
  taps: [...r.querySelectorAll(".pxw-taps td")].map(c => +c.dataset.on),
  status: (r.querySelector(".pxw-status") || {}).textContent || "",
  unlabelled: [...r.querySelectorAll("input, select")].filter(e => !(e.labels && e.labels.length))
                .map(e => e.name || e.outerHTML.slice(0, 60)),
  seenColour: (c => c && getComputedStyle(c).backgroundColor)(
    r.querySelector('.pxw-field .pxw-grid .pxw-cell[data-kind="2"]')),
  image: (c => c ? Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) : null)(
    r.querySelector("canvas")),
})"""


def _mirror(model: dict):
    """A Python object showing what the saved widget should draw: the widget class itself for the
    explorers (rebuilt from the saved traits), or the saved maps for the trained view."""
    from pixelcnn_lib.widgets import MaskExplorer, ReceptiveFieldExplorer

    s, view = model["state"], model["state"]["_pxw_view"]
    if view == "field":
        keys = ("arch", "n_layers", "max_layers", "kernel_size", "causal_kernel_size", "dilation_cycle",
                "image_size", "target", "channel", "n_channels")
        return ReceptiveFieldExplorer(**{k: tuple(s[k]) if k in ("image_size", "target") else s[k] for k in keys})
    if view == "mask":
        return MaskExplorer(kernel_size=s["kernel_size"], mask_type=s["mask_type"], rgb=s["rgb"])
    return _TrainedMirror(s)


class _TrainedMirror:
    """TrainedFieldView's saved state: its maps, and the settings of the outline drawn on them."""

    def __init__(self, s):
        self.s, self.image_size, self.stride, self.target = s, tuple(s["image_size"]), s["stride"], tuple(s["target"])
        raw = s["influence"]
        raw = zlib.decompress(raw) if s.get("influence_encoding", "raw") == "deflate" else raw
        H, W = self.image_size
        self.codes = [list(raw[n:n + H * W]) for n in range(0, len(raw), H * W)]

    def snap(self, target):
        from pixelcnn_lib.widgets import TrainedFieldView
        return TrainedFieldView._snap(target, self.image_size, self.stride,
                                      self.s.get("extra_targets", []))

    def settings(self):
        keys = ("arch", "n_layers", "kernel_size", "causal_kernel_size", "dilations", "channel", "n_channels")
        return dict({k: self.s[k] for k in keys}, target=self.target, image_size=self.image_size)

    def shown(self):
        """The codes of the current target: an extra target's (after the grid's), else the grid's."""
        (i, j), s, (H, W) = self.target, self.stride, self.image_size
        extras = [tuple(e) for e in self.s.get("extra_targets", [])]
        if (i, j) in extras:
            return self.codes[math.ceil(H / s) * math.ceil(W / s) + extras.index((i, j))]
        return self.codes[(i // s) * math.ceil(W / s) + j // s]


def check_book_widgets(page, html_text: str, report: dict | None = None) -> list[str]:
    """Use every pixelcnn_lib widget on the page and compare each drawn map with Python's."""
    from pixelcnn_lib.widgets import esm_bundle
    import anywidget

    problems: list[str] = []
    models = saved_widget_models(html_text)
    views = page.evaluate(TAG_WIDGETS_JS)
    tagged = [(n, mid) for n, mid, drawn in views if drawn]
    ours = {mid for mid, m in models.items() if "_pxw_view" in m["state"]}
    # Shown directly by an output (not inside an ipywidgets container, which WIDGETS_RENDERED_JS covers).
    shown = {mid for _, mid, _ in views} & ours
    for model_id in sorted(shown - {mid for _, mid in tagged}):
        problems.append(f"widget {model_id} ({models[model_id]['state']['_pxw_view']}) did not render")
    for model_id in sorted(ours):
        m = models[model_id]
        wanted = m["model_module_version"].lstrip("~^")
        if wanted.split(".")[:2] != anywidget.__version__.split(".")[:2]:
            problems.append(f"widget {model_id} wants anywidget {wanted}, the book serves {anywidget.__version__}")
        if m["state"]["_esm"] != esm_bundle():
            problems.append(f"widget {model_id} carries an older widgets.js/field.js: re-run its chapter "
                            "(python tools/run_chapters.py CHAPTER)")
    if not tagged:
        return problems
    try:
        page.wait_for_function("() => [...document.querySelectorAll('[data-pxw-index]')].every(r => r.dataset.ready)",
                               timeout=WIDGET_TIMEOUT_MS)
    except Exception:
        problems.append("a pixelcnn_lib widget never finished drawing (no data-ready)")
        return problems
    for n, model_id in tagged:
        model = models.get(model_id)
        if model is None:
            problems.append(f"widget {model_id}: no saved state")
            continue
        root = page.locator(f'[data-pxw-index="{n}"]')
        view = model["state"]["_pxw_view"]
        label = f"{view} widget #{n}"
        checker = {"field": _use_field, "mask": _use_mask, "trained": _use_trained}[view]
        try:
            steps = checker(page, root, _mirror(model), label, problems)
        except Exception as err:  # a control missing or not operable
            problems.append(f"{label}: {type(err).__name__}: {err}")
            steps = []
        if report is not None:
            report.setdefault(view, []).extend(steps)
    return problems


def _read(root) -> dict:
    got = root.evaluate(READ_WIDGET_JS)
    got["data"].pop("pxwIndex", None)
    return got


def _use_field(page, root, w, label, problems) -> list[dict]:
    from pixelcnn_lib.widgets import summarise

    steps = []

    def compare(what):
        got = _read(root)
        kinds, counts = summarise(w.settings())
        step = {"what": what, "settings": w.settings(), "counts": counts}
        if got["kinds"] != kinds.flatten().tolist():
            problems.append(f"{label}, {what}: the drawn map is not Python's for {w.settings()}")
        elif json.loads(got["data"]["counts"]) != counts or w.counts != counts:
            problems.append(f"{label}, {what}: counts {got['data']['counts']} (page) vs {counts} (Python)")
        elif f"sees {counts['seen']} of {counts['past']} earlier pixel" not in got["status"]:
            problems.append(f"{label}, {what}: caption {got['status']!r} lacks the counts {counts}")
        else:
            step["ok"] = True
        if got["unlabelled"]:
            problems.append(f"{label}: form controls without a label: {got['unlabelled']}")
        if counts["seen"] and got["seenColour"] != OKABE_ITO_BLUE:
            problems.append(f"{label}: visible pixels drawn in {got['seenColour']}, not {OKABE_ITO_BLUE}")
        steps.append(step)
        return got

    compare("as saved")
    # The layer slider, by keyboard, then by mouse (a click near its right end).
    slider = root.locator('input[type="range"]')
    low = 1 if w.arch == "masked" else 2
    if w.n_layers < w.max_layers or w.n_layers > low:
        key, delta = ("ArrowRight", 1) if w.n_layers < w.max_layers else ("ArrowLeft", -1)
        slider.focus()
        slider.press(key)
        w.n_layers += delta
        compare(f"layer slider {key} to {w.n_layers}")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    value = int(slider.input_value())
    if value != w.max_layers:
        problems.append(f"{label}: a click at the slider's right end gave {value} layers, not {w.max_layers}")
    w.n_layers = value
    compare(f"layer slider clicked to {value}")
    # A pixel clicked, then moved up with the arrow keys.
    H, W = w.image_size
    for pick in [(H - 1, W // 2), (H // 2, W - 1), (0, 0)]:
        if pick != tuple(w.target):
            root.locator(f'.pxw-grid .pxw-cell[data-i="{pick[0]}"][data-j="{pick[1]}"]').click()
            w.target = pick
            compare(f"clicked pixel {pick}")
            break
    grid = root.locator(".pxw-grid")
    grid.focus()
    grid.press("ArrowUp")
    w.target = (max(w.target[0] - 1, 0), w.target[1])
    compare(f"ArrowUp to {w.target}")
    grid.press("ArrowLeft")
    w.target = (w.target[0], max(w.target[1] - 1, 0))
    compare(f"ArrowLeft to {w.target}")
    # Another architecture.
    other = "two_stacks" if w.arch == "masked" else "masked"
    root.locator('select[name="arch"]').select_option(other)
    w.arch = other
    compare(f"architecture {other}")
    return steps


def _use_mask(page, root, w, label, problems) -> list[dict]:
    steps = []

    def compare(what):
        got, m = _read(root), w.mask()
        k, c = w.kernel_size, (w.kernel_size - 1) // 2
        cells = ["partial" if (r, s) == (c, c) and w.rgb else str(int(m[0, 0, r, s])) for r in range(k) for s in range(k)]
        taps = [int(m[o, i, c, c]) for o in range(3) for i in range(3)] if w.rgb else []
        ok = got["mask"] == cells and got["taps"] == taps
        if not ok:
            problems.append(f"{label}, {what}: drawn mask is not masks.causal_mask for k={k}, type {w.mask_type}, "
                            f"rgb={w.rgb}")
        if got["unlabelled"]:
            problems.append(f"{label}: form controls without a label: {got['unlabelled']}")
        steps.append({"what": what, "rgb": w.rgb, "ok": ok})

    compare("as saved")
    other = "B" if w.mask_type == "A" else "A"
    root.locator('select[name="type"]').select_option(other)
    w.mask_type = other
    compare(f"mask type {other}")
    k = 3 if w.kernel_size != 3 else 5
    root.locator('select[name="kernel"]').select_option(str(k))
    w.kernel_size = k
    compare(f"kernel {k}")
    root.locator('select[name="colour"]').select_option("grey" if w.rgb else "rgb")
    w.rgb = not w.rgb
    compare(f"rgb={w.rgb}")
    return steps


def _use_trained(page, root, w, label, problems) -> list[dict]:
    from pixelcnn_lib.widgets import summarise

    steps = []
    H, W = w.image_size
    C = w.s["n_channels"]
    image = list(w.s["image"])

    def compare(what):
        got = _read(root)
        kinds, counts = summarise(w.settings())
        ok = got["kinds"] == kinds.flatten().tolist() and got["codes"] == w.shown()
        if not ok:
            problems.append(f"{label}, {what}: drawn influence/outline differ from the saved maps at {w.target}")
        if tuple(int(v) for v in got["data"]["target"].split(",")) != w.target:
            problems.append(f"{label}, {what}: target {got['data']['target']} on the page, {w.target} expected")
        rgba = got["image"] or []
        tp = w.target[0] * W + w.target[1]
        drawn = [rgba[4 * p:4 * p + 3] for p in range(H * W) if p != tp]  # the target is marked in orange
        want = [[image[q * H * W + p] if C == 3 else image[p] for q in range(3)] for p in range(H * W) if p != tp]
        if drawn != want:
            problems.append(f"{label}, {what}: the canvas does not show the saved input image")
            ok = False
        steps.append({"what": what, "target": w.target, "counts": counts, "used": sum(c > 0 for c in w.shown()),
                      "ok": ok})

    compare("as saved")
    for pick in [(H - 1, W - 1), (H // 2, W // 3), (0, 1)]:
        if w.snap(pick) != w.target:
            root.locator(f'.pxw-grid .pxw-cell[data-i="{pick[0]}"][data-j="{pick[1]}"]').click()
            w.target = w.snap(pick)
            compare(f"clicked pixel {pick}")
            break
    grid = root.locator(".pxw-grid")
    grid.focus()
    grid.press("ArrowUp")
    w.target = w.snap((max(w.target[0] - w.stride, 0), w.target[1]))
    compare(f"ArrowUp to {w.target}")
    return steps
