"""No committed chapter output shows a path of the machine that executed it: a reader's machine
has none of them, and a path cut mid-word in an error message reads as a bug.

Scans every output of every chapter (text, HTML, markdown, errors and saved widget state; not
the image bytes) for absolute paths under the usual roots of home folders, build machines and
temporary folders, and for this checkout's own path.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.~])(?:/(?:work|root|home|tmp|Users|opt|mnt|srv|private)/"
                          r"|[A-Za-z]:\\\\(?:Users|Windows)\\\\)")


def output_text(output):
    data = {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}
    return json.dumps({"text": output.get("text"), "data": data,
                       "traceback": output.get("traceback")})


def test_the_pattern_finds_what_it_should():
    assert MACHINE_PATH.search("not found under /work/shared/data (torchvi")
    assert MACHINE_PATH.search("found: /root/.cache/pixelcnn_book/ch3.pt")
    assert not MACHINE_PATH.search("found: ~/.cache/pixelcnn_book/ch3.pt, see pixelcnn_lib/weights/")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_no_output_shows_a_machine_path(chapter):
    nb = json.loads(chapter.read_text())
    found = []
    for k, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            text = output_text(output)
            for m in MACHINE_PATH.finditer(text):
                found.append(f"cell {k}: ...{text[max(0, m.start() - 40):m.end() + 40]}...")
            if str(ROOT) in text:
                found.append(f"cell {k}: the checkout's path {ROOT}")
    widgets = json.dumps(nb.get("metadata", {}).get("widgets", {}))
    found += [f"widget state: ...{widgets[max(0, m.start() - 40):m.end() + 40]}..."
              for m in MACHINE_PATH.finditer(widgets)]
    assert not found, "\n".join(found)
