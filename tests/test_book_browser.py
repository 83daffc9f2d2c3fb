"""Open every page of the built book in headless Chromium and check what a reader would see.

Fails on: JavaScript errors in the console, local files that fail to load (HTTP >= 400), images that
did not load, math that MathJax did not typeset (or typeset with errors), saved widgets that did not
render, and any request to another site (all are blocked and listed: the book must be self-hosted).

Needs the built book (``make book`` or ``jupyter-book build . -W -n --keep-going``) and Chromium
(``apt-get install -y chromium``). Without them the test skips, unless ``PIXELCNN_REQUIRE_BUILD=1``
(set by ``make test`` and ``.ci/run``), which turns the skip into a failure.

    pytest -m browser
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("PIXELCNN_BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("PIXELCNN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REQUIRED = os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1"

# Console errors known to be harmless. Keep this list short and explain every entry.
ALLOWED_CONSOLE_ERRORS = (
    # Sphinx 7 + sphinx-thebe declare this `let` twice on every page; thebe is not used here.
    "Identifier 'THEBE_JS_URL' has already been declared",
)
# Schemes that never leave the browser.
LOCAL_SCHEMES = ("data:", "blob:", "about:")
MATHJAX_TIMEOUT_MS = 30_000
WIDGET_TIMEOUT_MS = 30_000


def book_pages() -> list[str]:
    """Every HTML page of the book, relative to the build folder (theme/static snippets excluded)."""
    if not (HTML / "index.html").is_file():
        return []
    rels = (p.relative_to(HTML) for p in HTML.rglob("*.html"))
    return sorted(r.as_posix() for r in rels if not any(part.startswith("_") for part in r.parts))


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (PIXELCNN_REQUIRE_BUILD=1 makes this a failure)")
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def site():
    if not book_pages():
        unavailable(f"no built book at {HTML}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


IMAGES_JS = """async () => {
  const imgs = [...document.images];
  for (const img of imgs) img.loading = "eager";
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done); img.addEventListener("error", done); setTimeout(done, 10000);
  })));
  return imgs.filter(img => img.naturalWidth === 0)
             .map(img => img.currentSrc || img.getAttribute("src") || img.outerHTML.slice(0, 120));
}"""

MATH_NODES_JS = "() => document.querySelectorAll('.math').length"

MATH_JS = """async () => {
  await window.MathJax.startup.promise;
  const untypeset = [...document.querySelectorAll(".math")]
    .filter(el => !el.querySelector("mjx-container"))
    .map(el => el.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll("mjx-merror, [data-mjx-error]")]
    .map(el => el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80));
  // Raw TeX left in the page's text (outside code, scripts and typeset math).
  const skip = "script, style, pre, code, textarea, mjx-container, .highlight";
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && node.parentElement.closest(skip)) continue;
    if (/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\$\\\\[a-zA-Z]/.test(node.textContent))
      raw.push(node.textContent.trim().slice(0, 80));
  }
  return {untypeset, errors, raw};
}"""

WIDGET_VIEWS_JS = """() => document.querySelectorAll(
  'script[type="application/vnd.jupyter.widget-view+json"]').length"""

WIDGETS_RENDERED_JS = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')]
  .every(s => { const d = s.previousElementSibling;
                return d && d.classList.contains("widget-subarea") && d.childElementCount > 0; })"""

WIDGET_PROBLEMS_JS = """() => {
  const problems = [];
  document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').forEach(s => {
    const d = s.previousElementSibling;
    if (!(d && d.classList.contains("widget-subarea") && d.childElementCount > 0))
      problems.push("not rendered: " + s.textContent.trim().slice(0, 120));
  });
  if (document.body.innerText.includes("Error displaying widget"))
    problems.push("'Error displaying widget' on the page");
  return problems;
}"""


@pytest.mark.parametrize("page_path", book_pages() or ["(no build)"])
def test_page(page_path, site, browser):
    context = browser.new_context()
    external: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(site + "/") or url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda e: console_errors.append(f"uncaught exception: {e}"))
    bad_responses: list[str] = []
    page.on("response", lambda r: r.status >= 400 and bad_responses.append(f"{r.status} {r.url}"))

    problems: list[str] = []
    try:
        page.goto(f"{site}/{page_path}", wait_until="load")
        try:
            page.wait_for_load_state("networkidle", timeout=15_000)
        except Exception:
            problems.append("network never went idle within 15 s")

        if page.evaluate(MATH_NODES_JS):
            try:
                page.wait_for_function(
                    "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
                    timeout=MATHJAX_TIMEOUT_MS)
            except Exception:
                problems.append("the page has math but MathJax never started")
            else:
                math = page.evaluate(MATH_JS)
                problems += [f"math not typeset: {m}" for m in math["untypeset"]]
                problems += [f"MathJax error: {m}" for m in math["errors"]]
                problems += [f"raw TeX left in text: {m}" for m in math["raw"]]

        if page.evaluate(WIDGET_VIEWS_JS):
            try:
                page.wait_for_function(WIDGETS_RENDERED_JS, timeout=WIDGET_TIMEOUT_MS)
            except Exception:
                pass  # listed just below
            problems += page.evaluate(WIDGET_PROBLEMS_JS)

        problems += [f"image did not load: {src}" for src in page.evaluate(IMAGES_JS)]
        page.wait_for_timeout(200)  # let late console messages arrive
    finally:
        context.close()

    problems += [f"console error: {e}" for e in console_errors
                 if not any(allowed in e for allowed in ALLOWED_CONSOLE_ERRORS)]
    problems += [f"failed to load: {r}" for r in bad_responses]
    problems += [f"request to another site (blocked): {u}" for u in dict.fromkeys(external)]
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)
