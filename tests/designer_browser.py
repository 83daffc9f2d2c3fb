"""Use every MaskDesigner on a built page, by mouse and keyboard, and compare what it draws with the
Python library (a MaskDesigner mirror built from the page's saved widget state).

    problems = check_designers(page, html_text, report)   # page: a Playwright page, already loaded

tests/test_widgets_browser.py runs it on the demo book; tests/test_book_browser.py can call it on the
chapters' pages (the designer is not a `_pxw_view` widget, so its generic checks leave it alone).
"""
from __future__ import annotations

import json

from page_checks import WIDGET_TIMEOUT_MS
from test_book_browser import saved_widget_models

OKABE_ITO = {"seen": "rgb(0, 114, 178)", "leak": "rgb(213, 94, 0)"}  # dom.js COLOURS
COLUMN_PX, MIN_TEXT_PX = 690, 8  # the book's text column; the smallest legible text

VIEWS_JS = """ids => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
  .map((s, n) => [n, s]).filter(([n, s]) => ids.includes(JSON.parse(s.textContent).model_id))"""
DRAWN_JS = """ids => (%s)(ids).every(([n, s]) => {
  const area = s.previousElementSibling, root = area && area.querySelector(".pxd");
  return root && root.dataset.ready;
})""" % VIEWS_JS
TAG_JS = """ids => (%s)(ids).map(([n, s]) => {
  s.previousElementSibling.querySelector(".pxd").dataset.pxdIndex = String(n);
  return [n, JSON.parse(s.textContent).model_id];
})""" % VIEWS_JS

READ_JS = """r => {
  const texts = [...r.querySelectorAll("*")].filter(e => [...e.childNodes].some(
      n => n.nodeType === 3 && n.textContent.trim()) && e.getClientRects().length);
  const box = r.getBoundingClientRect();
  const colour = sel => (e => e && getComputedStyle(e).backgroundColor)(r.querySelector(sel));
  return {
    data: {...r.dataset},
    kinds: [...r.querySelectorAll(".pxd-val")].map(e => +e.dataset.kind),
    taps: [...r.querySelectorAll(".pxd-tap")].map(e => e.dataset.on),
    table: [...r.querySelectorAll(".pxd-tab button")].map(e => +e.dataset.on),
    tableShown: !r.querySelector(".pxd-tab").hidden,
    verdict: r.querySelector(".pxd-verdict strong").textContent,
    status: r.querySelector(".pxw-status").textContent,
    unlabelled: [...r.querySelectorAll("input, select")].filter(e => !(e.labels && e.labels.length))
                  .map(e => e.name),
    unnamedButtons: [...r.querySelectorAll("button")].filter(e => !(e.getAttribute("aria-label") || e.textContent.trim())).length,
    smallestText: Math.min(...texts.map(e => parseFloat(getComputedStyle(e).fontSize))),
    width: Math.max(...[...r.querySelectorAll("*")].map(e => e.getBoundingClientRect().right)) - box.left,
    seenColour: colour('.pxd-val[data-kind="2"]'),
    leakColour: colour('.pxd-val[data-kind="5"]'),
    focusedTap: document.activeElement && document.activeElement.classList.contains("pxd-tap")
                ? document.activeElement.dataset.p : null,
  };
}"""

SETTINGS = ("kernel_size", "taps", "channel_taps", "rgb", "n_layers", "max_layers", "all_as_designed",
            "image_size", "target", "channel")


def mirror(state: dict):
    from pixelcnn_lib.designer import MaskDesigner

    kwargs = {k: tuple(state[k]) if k in ("image_size", "target") else state[k] for k in SETTINGS}
    return MaskDesigner(**kwargs)


def check_designers(page, html_text: str, report: dict | None = None) -> list[str]:
    """Everything wrong with the MaskDesigners of a loaded page; `report` collects the steps."""
    from pixelcnn_lib.designer import designer_bundle

    problems: list[str] = []
    models = saved_widget_models(html_text)
    ids = [mid for mid, m in models.items() if m["state"].get("_anywidget_id", "").endswith(".MaskDesigner")]
    for mid in ids:
        if models[mid]["state"]["_esm"] != designer_bundle():
            problems.append(f"designer {mid} carries an older designer.js: re-run its notebook")
    if not page.evaluate(VIEWS_JS, ids):
        return problems
    try:
        page.wait_for_function(DRAWN_JS, arg=ids, timeout=WIDGET_TIMEOUT_MS)
    except Exception:
        return problems + ["a MaskDesigner did not render or never finished drawing (no data-ready)"]
    for n, model_id in page.evaluate(TAG_JS, ids):
        label = f"designer #{n}"
        try:
            steps = _use(page, page.locator(f'[data-pxd-index="{n}"]'), mirror(models[model_id]["state"]),
                         label, problems)
        except Exception as err:  # a control missing or not operable
            problems.append(f"{label}: {type(err).__name__}: {err}")
            steps = []
        if report is not None:
            report.setdefault("designer", []).extend(steps)
    return problems


def _use(page, root, w, label, problems) -> list[dict]:
    steps = []

    def compare(what):
        got = root.evaluate(READ_JS)
        _, kinds = w.field()
        k, c = w.kernel_size, w.kernel_size ** 2 // 2
        table = w.channel_taps
        centre = ("1" if all(table) else "partial" if any(table) else "0") if w.rgb else str(w.taps[c])
        taps = [centre if p == c else str(v) for p, v in enumerate(w.taps)]
        step = {"what": what, "counts": w.counts, "verdict": w.verdict, "rgb": w.rgb, "kernel": k}
        wrong = [name for name, ok in [
            ("field", got["kinds"] == kinds.permute(1, 2, 0).flatten().tolist()),
            ("counts", json.loads(got["data"]["counts"]) == w.counts),
            ("verdict", got["verdict"] == w.verdict),
            ("taps", got["taps"] == taps and got["table"] == table and got["tableShown"] == w.rgb),
            ("target", got["data"]["target"] == ",".join(map(str, w.target)) and int(got["data"]["channel"]) == w.channel),
        ] if not ok]
        if wrong:
            problems.append(f"{label}, {what}: {', '.join(wrong)} differ from Python's ({w.settings()}, "
                            f"page {got['data']}, verdict {got['verdict']!r} vs {w.verdict!r})")
        else:
            step["ok"] = True
        if got["unlabelled"] or got["unnamedButtons"]:
            problems.append(f"{label}: unlabelled controls {got['unlabelled']}, {got['unnamedButtons']} unnamed buttons")
        if got["smallestText"] < MIN_TEXT_PX or got["width"] > COLUMN_PX:
            problems.append(f"{label}, {what}: text down to {got['smallestText']} px, {got['width']:.0f} px wide")
        for kind, code in (("seen", 2), ("leak", 5)):
            if code in kinds and got[f"{kind}Colour"] != OKABE_ITO[kind]:
                problems.append(f"{label}: {kind} values drawn in {got[f'{kind}Colour']}, not {OKABE_ITO[kind]}")
        step["focusedTap"] = got["focusedTap"]
        steps.append(step)
        return got

    compare("as saved")
    k, c = w.kernel_size, w.kernel_size ** 2 // 2
    # Open (or close) the centre with the mouse: the leak appears (or goes).
    root.locator(f'.pxd-tap[data-p="{c}"]').click()
    w.toggle(k // 2, k // 2)
    compare("centre tap clicked")
    # The keyboard: from the centre up one tap, Space toggles it; the focus stays on the tap.
    root.locator(f'.pxd-tap[data-p="{c}"]').focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    w.toggle(k // 2 - 1, k // 2)
    got = compare("ArrowUp, Space")
    if got["focusedTap"] != str(c - k):
        problems.append(f"{label}: after Space the keyboard focus is on tap {got['focusedTap']}, not {c - k}")
    root.locator('button[data-preset="B"]').click()
    w.apply_preset("B")
    compare("preset B")
    root.locator('button[data-preset="A"]').click()
    w.apply_preset("A")
    compare("preset A")
    slider = root.locator('input[name="layers"]')
    key, delta = ("ArrowRight", 1) if w.n_layers < w.max_layers else ("ArrowLeft", -1)
    slider.focus()
    slider.press(key)
    w.n_layers += delta
    compare(f"layers {w.n_layers}")
    root.locator('input[name="same"]').check()
    w.all_as_designed = True
    compare("all layers as designed")
    root.locator('input[name="same"]').uncheck()
    w.all_as_designed = False
    H, W = w.image_size
    pick = (H - 2, 1) if (H - 2, 1) != w.target else (H - 1, W - 1)
    root.locator(f'.pxw-grid .pxw-cell[data-i="{pick[0]}"][data-j="{pick[1]}"]').click()
    w.target = pick
    compare(f"pixel {pick} clicked")
    grid = root.locator(".pxw-grid")
    grid.focus()
    grid.press("ArrowUp")
    w.target = (max(w.target[0] - 1, 0), w.target[1])
    compare(f"ArrowUp to {w.target}")
    k2 = 5 if k != 5 else 7
    root.locator('select[name="kernel"]').select_option(str(k2))
    w.kernel_size = k2
    compare(f"kernel {k2}")
    if not w.rgb:
        root.locator('select[name="colour"]').select_option("rgb")
        w.rgb = True
        compare("RGB")
    # A colour-table entry: B reads B of the current pixel; the target becomes blue.
    root.locator('.pxd-tab button[data-o="2"][data-i="2"]').click()
    w.set_channel_tap(2, 2, not w.channel_taps[8])
    w.channel = 2
    compare("table B <- B")
    root.locator(f'.pxw-cell[data-i="{w.target[0]}"][data-j="{w.target[1]}"] .pxd-sub[data-c="0"]').click()
    w.channel = 0
    compare("red sub-pixel of the target clicked")
    return steps
