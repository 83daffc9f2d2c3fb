"""What a reader sees on one page of a built book, checked in headless Chromium.

`check_page` opens a page at the width that gives sphinx-book-theme's ~690 px content column and
lists everything wrong with it:

- console: any console error or uncaught exception (no exceptions), local files that fail to load
  (HTTP >= 400), any request to another site (all are blocked: the book is self-hosted), a network
  that never goes idle;
- math and widgets: math MathJax did not typeset or typeset with an error; saved widgets that did
  not render;
- text: a `$`, a LaTeX command (`\\mid`, `\\frac`, `x_{`) or raw Markdown (a `|---|` table, `**`,
  `](`) left in the rendered text outside code and typeset math;
- images: images that did not load, and figures (images in the page's article) whose smallest
  text would be drawn below MIN_FIGURE_TEXT_PX CSS pixels at the size the page shows them.
  Figures carry their smallest font size, in PNG pixels, in a PNG tEXt chunk
  (pixelcnn_lib.plotting.FONT_STAMP_KEY, written for every figure a chapter shows); the check
  scales it by displayed width / natural width. A figure without the stamp fails unless
  ALLOWED_UNSTAMPED_IMAGES gives a reason;
- layout (`layout=True`): code, outputs, tables or math that need horizontal scrolling beyond
  SCROLL_ALLOWANCE_PX, and a page that scrolls sideways. With the theme's code font a 684 px
  code box holds 78 characters a line.

Each problem names the page element (notebook cell or section) and the measured value, so a chapter's
author can find it. tests/test_book_browser.py applies this to every page of the built book;
tests/test_page_checks.py proves that each check fails on a page with that defect.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import os
import re
import threading
import urllib.parse
from pathlib import Path

from pixelcnn_lib.plotting import FONT_STAMP_KEY, png_text_chunks

CHROMIUM = os.environ.get("PIXELCNN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# At 1280 px sphinx-book-theme's article column is 688 px wide (both sidebars shown).
VIEWPORT = {"width": 1280, "height": 800}
MIN_FIGURE_TEXT_PX = 8.0
SCROLL_ALLOWANCE_PX = 8
# Images that may lack a font stamp: regular expression on the image's URL -> why. Keep it short.
ALLOWED_UNSTAMPED_IMAGES: dict[str, str] = {}
# Schemes that never leave the browser.
LOCAL_SCHEMES = ("data:", "blob:", "about:")
MATHJAX_TIMEOUT_MS = 30_000
WIDGET_TIMEOUT_MS = 30_000


def book_pages(html: Path) -> list[str]:
    """Every HTML page of a built book, relative to its build folder (theme/static files excluded)."""
    if not (html / "index.html").is_file():
        return []
    rels = (p.relative_to(html) for p in html.rglob("*.html"))
    return sorted(r.as_posix() for r in rels if not any(part.startswith("_") for part in r.parts))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve `directory` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# Where an element sits, in words a chapter's author can find: "cell 12 (output)", "section #x".
WHERE_JS = """() => { window.__pxcWhere = el => {
  const cell = el.closest("div.cell");
  if (cell) {
    const n = [...document.querySelectorAll("div.cell")].indexOf(cell) + 1;
    const part = el.closest(".cell_output, .output") ? "output" : "code";
    const sec = cell.closest("section[id]");
    const pre = cell.querySelector(".cell_input pre");  // hidden inputs are not on the page
    const first = pre ? pre.textContent.trim().split("\\n")[0].slice(0, 40) : "";
    return `code cell ${n} (${part}${sec ? ", section #" + sec.id : ""}${first ? ", code: " + first : ""})`;
  }
  const sec = el.closest("section[id]");
  const tag = (el.closest("p, li, td, th, figcaption, caption, h1, h2, h3, h4, dt, dd") || el).tagName;
  return `${tag.toLowerCase()}${sec ? " in section #" + sec.id : ""}`;
}; }"""

MATH_NODES_JS = "() => document.querySelectorAll('.math').length"

MATH_JS = """async () => {
  await window.MathJax.startup.promise;
  const untypeset = [...document.querySelectorAll(".math")]
    .filter(el => !el.querySelector("mjx-container"))
    .map(el => el.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll("mjx-merror, [data-mjx-error]")]
    .map(el => el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80));
  return {untypeset, errors};
}"""

# Text a reader sees that is not typeset: outside code, scripts and MathJax's output.
RAW_TEXT_JS = """() => {
  const skip = "script, style, noscript, template, pre, code, kbd, samp, textarea, mjx-container, " +
               ".highlight, .MathJax";
  const patterns = [
    ["a `$` outside typeset math", /\\$/],
    ["a LaTeX command outside typeset math", /\\\\[A-Za-z]+|\\\\[()\\[\\]{}]|[_^]\\{/],
    ["a raw Markdown table", /\\|\\s*:?-{3,}:?\\s*\\||^\\s*\\|[^|\\n]*\\|[^|\\n]*\\|/m],
    ["raw Markdown emphasis `**`", /\\*\\*\\S/],
    ["a raw Markdown link `](`", /\\]\\(/],
  ];
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    const text = node.textContent;
    for (const [what, re] of patterns) {
      const m = re.exec(text);
      if (!m) continue;
      const from = Math.max(0, m.index - 40);
      found.push({what, where: window.__pxcWhere(el),
                  text: text.slice(from, m.index + 40).replace(/\\s+/g, " ").trim()});
    }
  }
  return found;
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
      problems.push("widget not rendered: " + s.textContent.trim().slice(0, 120));
  });
  if (document.body.innerText.includes("Error displaying widget"))
    problems.push("'Error displaying widget' on the page");
  return problems;
}"""

IMAGES_JS = """async () => {
  const imgs = [...document.images];
  for (const img of imgs) img.loading = "eager";
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done); img.addEventListener("error", done); setTimeout(done, 10000);
  })));
  return imgs.map(img => ({
    src: img.currentSrc || img.getAttribute("src") || "", natural: img.naturalWidth,
    shown: img.getBoundingClientRect().width, where: window.__pxcWhere(img),
    content: !!img.closest("article"),  // the page's own content, not the theme's icons
    html: img.outerHTML.slice(0, 120)}));
}"""

# Elements that scroll sideways (their content is wider than their box), and the page itself.
OVERFLOW_JS = """allowance => {
  const kind = el => el.closest(".cell_output, .output") ? "output" :
                     el.closest(".cell_input, div.highlight") ? "code" :
                     el.closest("table, .pst-scrollable-table-container") || el.querySelector("table") ?
                       "table" : el.closest("mjx-container, .math") ? "math" : el.tagName.toLowerCase();
  const found = [];
  for (const el of document.querySelectorAll("main *")) {
    if (el.clientWidth === 0) continue;
    const ox = getComputedStyle(el).overflowX;
    if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + allowance)
      found.push({kind: kind(el), where: window.__pxcWhere(el), scroll: el.scrollWidth,
                  client: el.clientWidth});
  }
  // Only the innermost of nested scrolling boxes (a <pre> inside its highlight <div>) is reported.
  const page = document.documentElement;
  return {found: found.filter((f, i) => !found.some((g, j) => j > i && g.where === f.where &&
                                                     g.kind === f.kind)),
          page: page.scrollWidth > page.clientWidth + allowance ? [page.scrollWidth, page.clientWidth]
                                                                : null};
}"""


def image_bytes(src: str, site: str, html: Path) -> bytes | None:
    """The bytes of an image the page shows: a data: URL, or a file of the served book."""
    if src.startswith("data:"):
        head, _, data = src.partition(",")
        return base64.b64decode(data) if head.endswith(";base64") else urllib.parse.unquote_to_bytes(data)
    if src.startswith(site + "/"):
        path = html / urllib.parse.unquote(urllib.parse.urlsplit(src).path).lstrip("/")
        return path.read_bytes() if path.is_file() else None
    return None


def figure_text_problems(images: list[dict], site: str, html: Path) -> list[str]:
    """Images whose smallest text is drawn below MIN_FIGURE_TEXT_PX, or that cannot tell."""
    problems = []
    for img in images:
        if not img["content"] or img["natural"] == 0 or img["shown"] == 0:
            continue  # a theme icon, not loaded (reported elsewhere) or not displayed
        name = img["src"][:60] + "..." if img["src"].startswith("data:") else img["src"].replace(site, "")
        allowed = [why for pattern, why in ALLOWED_UNSTAMPED_IMAGES.items() if re.search(pattern, img["src"])]
        data = image_bytes(img["src"], site, html)
        try:
            stamp = png_text_chunks(data).get(FONT_STAMP_KEY) if data else None
        except ValueError:  # not a PNG
            stamp = None
        if stamp is None:
            if not allowed:
                problems.append(f"figure without a font-size stamp ({FONT_STAMP_KEY}): {img['where']}, "
                                f"{name}; show figures from a chapter that imports pixelcnn_lib.book")
            continue
        if stamp == "none":
            continue  # no text in it
        scale = img["shown"] / img["natural"]
        px = float(stamp) * scale
        if px < MIN_FIGURE_TEXT_PX:
            problems.append(f"figure text too small: {img['where']}: smallest text {px:.1f} CSS px "
                            f"(< {MIN_FIGURE_TEXT_PX:g}): {float(stamp):.1f} px in the PNG, shown at "
                            f"{img['shown']:.0f} of its {img['natural']} px width; {name}")
    return problems


def check_page(browser, site: str, html: Path, page_path: str, extra=None, layout: bool = True) -> list[str]:
    """Everything wrong with one page of the book served at `site` from the folder `html`.

    `extra(page, html_text) -> list[str]`: more checks on the loaded page (the book's widgets),
    run after the others, so those see the page as it was saved. `layout=False` skips the figure
    text size and horizontal scrolling checks (pages that no reader sees, such as a demo book).
    """
    context = browser.new_context(viewport=VIEWPORT)
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
        page.evaluate(WHERE_JS)

        if page.evaluate(WIDGET_VIEWS_JS):
            try:
                page.wait_for_function(WIDGETS_RENDERED_JS, timeout=WIDGET_TIMEOUT_MS)
            except Exception:
                pass  # listed just below
            problems += page.evaluate(WIDGET_PROBLEMS_JS)

        if page.evaluate(MATH_NODES_JS):
            try:
                page.wait_for_function(
                    "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
                    timeout=MATHJAX_TIMEOUT_MS)
            except Exception:
                problems.append("the page has math but MathJax never started")
            else:
                math_state = page.evaluate(MATH_JS)
                problems += [f"math not typeset: {m}" for m in math_state["untypeset"]]
                problems += [f"MathJax error: {m}" for m in math_state["errors"]]

        problems += [f"{f['what']}: {f['where']}: {f['text']!r}" for f in page.evaluate(RAW_TEXT_JS)]

        images = page.evaluate(IMAGES_JS)
        problems += [f"image did not load: {img['src'] or img['html']}" for img in images if img["natural"] == 0]
        if layout:
            problems += figure_text_problems(images, site, html)
            overflow = page.evaluate(OVERFLOW_JS, SCROLL_ALLOWANCE_PX)
            problems += [f"{f['kind']} scrolls sideways: {f['where']}: content {f['scroll']} px wide in a "
                         f"{f['client']} px box" for f in overflow["found"]]
            if overflow["page"]:
                problems.append("the page scrolls sideways: {} px wide in a {} px window".format(*overflow["page"]))

        if extra is not None:
            problems += extra(page, (html / page_path).read_text())
        page.wait_for_timeout(200)  # let late console messages arrive
    finally:
        context.close()

    problems += [f"console error: {e}" for e in console_errors]
    problems += [f"failed to load: {r}" for r in bad_responses]
    problems += [f"request to another site (blocked): {u}" for u in dict.fromkeys(external)]
    return problems
