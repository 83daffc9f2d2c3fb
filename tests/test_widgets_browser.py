"""The widgets in a real browser, whatever the chapters contain: build a small demo book with every
widget (tests/widget_demo_book.py: same _config.yml settings and vendored JavaScript as the book,
notebook executed by nbclient with its widget state saved, as tools/run_chapters.py does), serve it
on 127.0.0.1, open it in headless Chromium and use each widget (tests/test_book_browser.py
`check_page`): every drawn map must be the Python library's, with no console error and no request
leaving the site.

Needs Chromium (``apt-get install -y chromium``); skips without it unless PIXELCNN_REQUIRE_BUILD=1.
Set PIXELCNN_WIDGET_DEMO=DIR to build into (and keep) DIR instead of a temporary folder.
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import pytest
import torch

from test_book_browser import (CHROMIUM, book_pages, browser, check_page, saved_widget_models,  # noqa: F401
                               serve, unavailable)
from designer_browser import check_designers
from widget_demo_book import TRAINED, build

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_html(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    keep = os.environ.get("PIXELCNN_WIDGET_DEMO")
    return build(Path(keep) if keep else tmp_path_factory.mktemp("widget-demo"))


def test_demo_book_widgets_draw_pythons_maps(demo_html, browser):
    report: dict = {}
    with serve(demo_html) as site:
        problems = {page: check_page(browser, site, demo_html, page, report) for page in book_pages(demo_html)}
    problems = {page: found for page, found in problems.items() if found}
    assert not problems, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())

    # Every kind of widget was used, and the interesting cases were among the compared maps.
    assert set(report) == {"field", "mask", "trained"}, report.keys()
    field = report["field"]
    assert all(step.get("ok") for steps in report.values() for step in steps)
    assert any(s["counts"]["blind"] for s in field), "no blind spot among the compared maps"
    assert any(s["settings"]["arch"] == "two_stacks" and s["settings"]["dilations"] and
               max(s["settings"]["dilations"]) > 1 for s in field), "no dilated gated model compared"
    assert any(s["settings"]["n_channels"] == 3 and s["settings"]["channel"] > 0 for s in field)
    assert {s["what"].split(" ")[0] for s in field} >= {"layer", "clicked", "ArrowUp", "architecture"}
    assert {s["rgb"] for s in report["mask"]} == {True, False}
    assert len(report["trained"]) >= 2 * 3 and any(s["used"] for s in report["trained"])


def test_demo_book_designer_draws_pythons_fields(demo_html, browser):
    """Taps clicked and toggled by keyboard, presets, layers, target, kernel size, colour table: after
    every step the drawn field, leaks, counts and verdict are MaskDesigner's (dependency_map)."""
    report: dict = {}
    with serve(demo_html) as site:
        context = browser.new_context()
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
            page.goto(f"{site}/book/widgets.html", wait_until="load")
            problems = check_designers(page, (demo_html / "book" / "widgets.html").read_text(), report)
        finally:
            context.close()
    problems += [f"console error: {e}" for e in errors if "THEBE_JS_URL" not in e]
    assert not problems, "\n".join(problems)
    steps = report["designer"]
    assert len(steps) >= 2 * 12 and all(s.get("ok") for s in steps)
    verdicts = {s["verdict"].split(" ")[0].rstrip(",") for s in steps}
    assert verdicts == {"causal", "leaks"}, verdicts
    assert any(s["counts"]["blind"] and not s["counts"]["leaks"] for s in steps), "no blind spot compared"
    assert {s["rgb"] for s in steps} == {True, False} and {s["kernel"] for s in steps} >= {3, 5, 7}


def test_demo_book_widget_state_is_current_and_small(demo_html):
    """The saved maps are exactly the library's for the demo's model, and each widget's saved state
    (what every chapter notebook and page carries) stays small."""
    from pixelcnn_lib.designer import designer_bundle
    from pixelcnn_lib.widgets import esm_bundle

    models = saved_widget_models((demo_html / "book" / "widgets.html").read_text())
    ours = {mid: m for mid, m in models.items() if "_pxw_view" in m["state"]}
    assert len(ours) >= 5
    designers = [m["state"] for m in models.values() if m["state"].get("_anywidget_id", "").endswith(".MaskDesigner")]
    assert len(designers) == 2 and all(d["_esm"] == designer_bundle() for d in designers)
    assert all(len(json.dumps({k: v for k, v in d.items() if k != "_esm"})) < 5_000 for d in designers)
    for mid, m in ours.items():
        s = m["state"]
        assert s["_esm"] == esm_bundle()
        data = sum(len(v) if isinstance(v, bytes) else len(json.dumps(v)) for k, v in s.items() if k != "_esm")
        assert data < 50_000, (mid, s["_pxw_view"], data)
    # The trained views' codes are exactly what TrainedFieldView computes for the demo's models.
    namespace: dict = {}
    exec(TRAINED, namespace)
    expected = {(tuple(v.image_size), v.stride, v.channel): v.codes() for v in namespace["views"]}
    trained = [m["state"] for m in ours.values() if m["state"]["_pxw_view"] == "trained"]
    assert len(trained) == len(expected) == 2
    for s in trained:
        got = torch.frombuffer(bytearray(zlib.decompress(s["influence"])), dtype=torch.uint8).view(-1, *s["image_size"])
        want = expected[(tuple(s["image_size"]), s["stride"], s["channel"])]
        # the support exactly; the log-scale codes up to a rounding step (float64 sums, other threads)
        assert torch.equal(got > 0, want > 0) and (got.int() - want.int()).abs().max() <= 1
