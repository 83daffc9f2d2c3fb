"""The browser's sampler against Python's, side by side in one run: milliseconds per digit.

    python benchmarks/browser_sampling.py              # shipped model -> book/data/bench_browser.json
    python benchmarks/browser_sampling.py --quick      # tiny random model, 2 digits (no JSON)

JavaScript: pixelcnn_lib/gated.js in headless Chromium (Debian's /usr/bin/chromium), one digit after
another (batch 1, no animation), `Drawing(...).finish()` timed with performance.now(). Python: the
library's cached sampler on the same model, batch 1 and batch 10, on the same CPU, timed around
`sample()`. The rounds alternate (JS, Python, JS, ...) and the medians are kept, so both see the
same machine. Target of the browser-model issue: 10 digits in at most 3 s in the browser.
"""
import argparse
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pixelcnn_lib import GatedPixelCNN, count_parameters  # noqa: E402
from pixelcnn_lib.browser_model import export  # noqa: E402
from pixelcnn_lib.checkpoints import load_model, shipped_checkpoint  # noqa: E402
from pixelcnn_lib.sampling import sample  # noqa: E402
from report import provenance, write_json  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><html><body><script type="module">
const source = %s;
const m = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
const spec = %s, raw = atob("%s"), bytes = new Uint8Array(raw.length);
for (let k = 0; k < raw.length; k++) bytes[k] = raw.charCodeAt(k);
const net = m.buildModel(spec, new Float32Array(bytes.buffer));
window.timeDigits = (n, seed) => {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) new m.Drawing(net, { label: k %% 10, seed: seed + k }).finish();
  return performance.now() - t0;
};
window.ready = true;
</script></body></html>"""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--digits", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.quick:
        torch.manual_seed(0)
        model, args.digits, args.rounds = GatedPixelCNN(1, 256, 8, 3, n_classes=10), 2, 1
        out = args.out
    else:
        model = load_model(shipped_checkpoint(), device="cpu")
        out = args.out or ROOT / "book" / "data" / "bench_browser.json"
    model = model.cpu().eval()
    spec, blob = export(model)
    html = PAGE % (json.dumps((ROOT / "pixelcnn_lib" / "gated.js").read_text()), json.dumps(spec),
                   base64.b64encode(blob).decode())
    from playwright.sync_api import sync_playwright
    js_ms, py1_ms, py10_ms = [], [], []
    labels = torch.arange(args.digits) % 10
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.set_content(html, wait_until="load")
        page.wait_for_function("window.ready === true")
        page.evaluate("window.timeDigits(1, 999)")  # warm up the JIT
        sample(model, 1, (1, 28, 28), y=labels[:1], generator=999)
        for r in range(args.rounds):
            js_ms.append(page.evaluate(f"window.timeDigits({args.digits}, {100 * r})") / args.digits)
            t0 = time.perf_counter()
            for k in range(args.digits):
                sample(model, 1, (1, 28, 28), y=labels[k:k + 1], generator=100 * r + k)
            py1_ms.append((time.perf_counter() - t0) * 1000 / args.digits)
            t0 = time.perf_counter()
            sample(model, args.digits, (1, 28, 28), y=labels, generator=100 * r)
            py10_ms.append((time.perf_counter() - t0) * 1000 / args.digits)
        version = browser.version
        browser.close()
    result = dict(
        benchmark="browser sampler (gated.js in headless Chromium) vs the Python cached sampler",
        **provenance(torch.device("cpu"), __file__, argv), browser=f"Chromium {version}",
        model=dict(model.config, parameters=count_parameters(model)), digits=args.digits,
        rounds=args.rounds, js_ms_per_digit=statistics.median(js_ms),
        python_batch1_ms_per_digit=statistics.median(py1_ms),
        python_batch10_ms_per_digit=statistics.median(py10_ms),
        rounds_ms=dict(js=js_ms, python_batch1=py1_ms, python_batch10=py10_ms))
    print(f"per digit: browser {result['js_ms_per_digit']:.0f} ms, Python cached batch 1 "
          f"{result['python_batch1_ms_per_digit']:.0f} ms, batch {args.digits} "
          f"{result['python_batch10_ms_per_digit']:.0f} ms")
    write_json(result, out)
    return result


if __name__ == "__main__":
    main()
