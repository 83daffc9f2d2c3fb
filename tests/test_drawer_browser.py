"""DigitDrawer's view (draw.js with gated.js) in headless Chromium, on a page of its own: the
widget's saved state, as the static book holds it, rendered with a stand-in for the widget
manager. Press draw: the canvas fills to 784 pixels, the distribution and the field outline
appear; draw a stroke on the pad and complete it; no console error, no request at all.

The same widget inside the built book is checked by tests/test_book_browser.py's page checks.
"""
from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
import torch

from test_book_browser import CHROMIUM, browser, unavailable  # noqa: F401
from pixelcnn_lib import GatedPixelCNN
from pixelcnn_lib.live import DigitDrawer

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><body><div id="el"></div><script type="module">
const state = %s;
state.weights = (() => { const s = atob(state.weights); const b = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k); return new DataView(b.buffer); })();
const listeners = {};
const model = { get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes() {},
  on(e, f) { (listeners[e] ||= []).push(f); }, off() {} };
const url = URL.createObjectURL(new Blob([%s], { type: "text/javascript" }));
const view = (await import(url)).default;
view.render({ model, el: document.getElementById("el") });
window.widgetState = state;
</script></body></html>"""


@pytest.fixture(scope="module")
def page_html():
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    torch.manual_seed(0)
    model = GatedPixelCNN(1, 256, 8, 3, n_classes=10, dilations=[1, 2])
    examples = torch.randint(0, 256, (10, 1, 28, 28))
    w = DigitDrawer(model, examples=examples, example_labels=list(range(10)))
    state = {k: getattr(w, k) for k in ("spec", "field", "image_size", "n_classes", "label",
                                        "temperature", "examples", "example_labels", "last_image")}
    state["weights"] = base64.b64encode(w.weights).decode()
    return PAGE % (json.dumps(state), json.dumps(w._esm))


def use_drawer(page, state_js="window.widgetState && window.widgetState.last_image"):
    """Draw a digit of class 3 to the end, redraw its seed, complete a stroke: as a reader would.
    `state_js` reads the drawn levels back (None: from the canvas of the finished drawing)."""
    root = page.locator(".pxd").first
    root.wait_for()
    page.wait_for_function("document.querySelector('.pxd').dataset.ready === '1'", timeout=60_000)
    done = "document.querySelector('.pxd').dataset.pixels === '784'"
    page.select_option(".pxd select[name=class]", "3")
    page.locator(".pxd").get_by_role("button", name="Draw (new seed)").click()
    page.locator(".pxd").get_by_role("button", name="Finish now").click()
    page.wait_for_function(done, timeout=60_000)
    status = page.locator(".pxd [role=status]").first.inner_text()
    assert "Done: 784 of 784 pixels, class 3" in status, status
    assert int(root.get_attribute("data-field")) > 0  # the outline of the last pixel's field
    ink = page.evaluate("""(() => { const c = document.querySelector('.pxd-dist');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let k = 0; k < d.length; k += 4) if (d[k] < 200) n++; return n; })()""")
    assert ink > 50  # the distribution plot has bars
    drawn = page.evaluate(state_js)
    assert len(drawn) == 784 and 0 <= min(drawn) and max(drawn) <= 255
    seed = page.input_value(".pxd input[name=seed]")
    page.locator(".pxd").get_by_role("button", name="Draw this seed").click()
    page.locator(".pxd").get_by_role("button", name="Finish now").click()
    page.wait_for_function(done, timeout=60_000)
    assert page.evaluate(state_js) == drawn and seed == page.input_value(".pxd input[name=seed]")
    pad = page.locator(".pxd-pad").first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 90, steps=12)
    page.mouse.up()
    page.locator(".pxd").get_by_role("button", name="Complete it").click()
    page.locator(".pxd").get_by_role("button", name="Finish now").click()
    page.wait_for_function(done, timeout=60_000)
    top = page.evaluate(state_js)[:14 * 28]
    assert max(top) == 255 and top.count(0) < 14 * 28  # the stroke is kept


@contextlib.contextmanager
def watched_page(browser):
    """A new page, with every request and every console error it makes recorded."""
    context = browser.new_context()
    requests, errors = [], []
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, requests, errors
    finally:
        context.close()


def test_draw_and_complete_in_the_browser(page_html, browser):
    with watched_page(browser) as (page, requests, errors):
        page.set_content(page_html, wait_until="load")
        use_drawer(page)
    assert not errors, errors
    assert all(u.startswith(("blob:", "about:", "data:")) for u in requests), requests


@pytest.mark.built
def test_the_built_books_drawer_draws_and_completes(browser):
    """Chapter 6 of the built book, served on 127.0.0.1: the saved DigitDrawer works with no
    kernel, with no console error and no request leaving the site."""
    from test_book_browser import HTML, serve
    page_file = HTML / "book" / "06_full_model.html"
    if not page_file.exists():
        unavailable(f"no built chapter 6 at {page_file}: run `make book` first")
    read_back = """(() => {  // the drawn levels, from the widget manager's model
      const m = [...(window.__pxdModels || [])].pop(); return m ? m.get("last_image") : null; })()"""
    with serve(HTML) as site, watched_page(browser) as (page, requests, errors):
        page.goto(f"{site}/book/06_full_model.html", wait_until="load")
        page.wait_for_function("window.__pxdModels && window.__pxdModels.length > 0",
                               timeout=60_000)
        use_drawer(page, read_back)
    errors = [e for e in errors if "THEBE_JS_URL" not in e]  # a known Sphinx 7 message
    assert not errors, errors
    outside = [u for u in requests if not u.startswith((site, "data:", "blob:", "about:"))]
    assert not outside, outside
