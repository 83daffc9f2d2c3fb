"""The build-it-yourself exercises: every check says "missing" for the stubs, passes the
solutions, catches the usual mistakes by name, never raises; the notebooks hold the cells.

The exercise cells are self-contained, so their stub, check and solution cells run here
without executing the chapters (which train models).
"""
from __future__ import annotations

import contextlib
import io
import math
import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from pixelcnn_lib.exercises import JUDGES
from pixelcnn_lib.layers import down_shift

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import exercises as tool  # noqa: E402

EXERCISES = [(n, ex) for n, exs in tool.CHAPTERS.items() for ex in exs]
WIDTH = 78  # the book's code box: a longer code or output line scrolls sideways


def solution_code(ex) -> str:
    match = re.search(r"```python\n(.*?)\n```", ex.solution_markdown(), re.S)
    assert match, f"{ex.function}: no python block in its solution"
    return match.group(1)


def run_check(ex, namespace) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(ex.check_source(), namespace)  # must not raise, whatever the reader wrote
    return out.getvalue().strip()


def assert_fits(printed: str, where: str) -> None:
    """Every line a check printed fits the book's code box."""
    long = [line for line in printed.splitlines() if len(line) > WIDTH]
    assert not long, f"{where}: printed lines over {WIDTH} characters: {long}"


def printed_by_check(function: str, reader) -> str:
    import pixelcnn_lib.exercises as exercises
    check = getattr(exercises, "check_" + function.removeprefix("my_"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert check(reader) is None  # prints its verdict, echoes nothing under the cell
    return out.getvalue().strip()


def words(text: str) -> list:
    return text.split()


# ----------------------------------------------------------------------------- the cells


def test_every_chapter_has_two_build_exercises_with_a_judge():
    assert sorted(tool.CHAPTERS) == [1, 2, 3, 4, 5, 6, 7]
    assert all(len(exs) >= 2 for exs in tool.CHAPTERS.values())
    assert {ex.function: n for n, ex in EXERCISES} == {f: n for f, (n, _) in JUDGES.items()}


@pytest.mark.parametrize("chapter", sorted(tool.CHAPTERS))
def test_cells_are_well_formed(chapter):
    cells = tool.chapter_cells(chapter)
    assert len({c.id for c in cells}) == len(cells)
    for cell in cells:
        assert tool.TAG in cell.metadata["tags"]
        if cell.cell_type == "code":
            compile(cell.source, cell.id, "exec")
            long = [line for line in cell.source.splitlines() if len(line) > WIDTH]
            assert not long, f"{cell.id}: lines over {WIDTH} characters: {long}"
    checks = [c for c in cells if c.id.endswith("-check")]
    assert checks and all("remove-input" in c.metadata["tags"] for c in checks)
    for ex in tool.CHAPTERS[chapter]:
        assert "raise NotImplementedError" in ex.stub and f"def {ex.function}(" in ex.stub
        assert ex.stub.count('"""') == 2, f"{ex.function}: the stub needs a docstring"
        code = solution_code(ex)
        compile(code, ex.function, "exec")
        long = [line for line in code.splitlines() if len(line) > WIDTH]
        assert not long, f"{ex.function}: solution lines over {WIDTH} characters: {long}"
        assert ex.solution_markdown().startswith("<details>")  # collapsed, never executed


@pytest.mark.parametrize("chapter", sorted(tool.CHAPTERS))
def test_stubs_report_missing_and_nothing_raises(chapter):
    namespace: dict = {}
    for ex in tool.CHAPTERS[chapter]:
        exec(ex.stub, namespace)
        message = run_check(ex, namespace)
        assert message == f"missing: fill in `{ex.function}` above, then run this cell again."
        assert_fits(message, ex.function)


@pytest.mark.parametrize("chapter", sorted(tool.CHAPTERS))
def test_solutions_pass(chapter):
    namespace: dict = {}
    for ex in tool.CHAPTERS[chapter]:  # in order: a solution may use an earlier one
        exec(ex.stub, namespace)
        exec(solution_code(ex), namespace)
        message = run_check(ex, namespace)
        assert re.match(r"all \d+ cases passed", message), f"{ex.function}: {message}"
        assert_fits(message, ex.function)


def test_a_stub_called_by_a_solution_is_named():
    verdict = JUDGES["my_gated_block"][1](_gated_block_with_stub_gate)
    assert verdict.status == "missing" and "`my_gate`" in verdict.message
    printed = printed_by_check("my_gated_block", _gated_block_with_stub_gate)
    assert_fits(printed, "my_gated_block")
    assert words(printed) == words(verdict.message)


def _gated_block_with_stub_gate(block, v, h):
    def my_gate(x):
        raise NotImplementedError
    return my_gate(block.v_conv(v)), h, h


# ----------------------------------------------------------------------------- usual mistakes


def _mask(k, mask_type, centre=None):
    c = k // 2 if centre is None else centre
    m = torch.zeros(k, k)
    m[:c] = 1
    if c < k:
        m[c, :c] = 1
        m[c, c] = float(mask_type == "B")
    return m


def _log_prob_mean(logits, x):
    return torch.log_softmax(logits, 1).gather(1, x[:, None])[:, 0].mean(dim=(1, 2, 3))


def _bits_mean_of_batches(batches):
    return sum(F.cross_entropy(lg, x).item() for lg, x in batches) / len(batches) / math.log(2)


def _bits_nats(batches):
    nats = sum(F.cross_entropy(lg, x, reduction="sum").item() for lg, x in batches)
    return nats / sum(x.numel() for _, x in batches)


def _shift_up(x):
    return F.pad(x, (0, 0, 0, 1))[:, :, 1:]


def _vertical(x, weight, bias, pad_bottom=False, shift=True):
    r = weight.shape[-1] // 2
    out = F.conv2d(F.pad(x, (r, r, 0, r) if pad_bottom else (r, r, r, 0)), weight, bias)
    return down_shift(out) if shift else out


def _colour_reversed(k, mask_type, in_g, out_g):
    m = torch.zeros(len(out_g), len(in_g), k, k)
    m[:, :, :k // 2] = 1
    m[:, :, k // 2, :k // 2] = 1
    o, i = out_g[:, None], in_g[None, :]
    m[:, :, k // 2, k // 2] = (o < i if mask_type == "A" else o <= i).float()
    return m


def _field_all_type_a(target, size, n, k=3):
    H, W = size
    r = k // 2
    taps = [(a, b) for a in range(-r, 1) for b in range(-r, r + 1) if a < 0 or b < 0]
    need = {tuple(target)}
    for _ in range(n):
        need = {(i + a, j + b) for i, j in need for a, b in taps
                if 0 <= i + a < H and 0 <= j + b < W}
    field = torch.zeros(H, W, dtype=torch.bool)
    for i, j in need:
        field[i, j] = True
    return field


def _blind_with_diagonal(target, size, n):
    H, W = size
    i, j = target
    reach = min(n, i, W - 1 - j)
    spot = torch.zeros(H, W, dtype=torch.bool)
    for up in range(1, i + 1):
        for right in range(up, reach + 1):
            spot[i - up, j + right] = True
    return spot


def _gate_swapped(x):
    f, g = x.chunk(2, 1)
    return torch.sigmoid(f) * torch.tanh(g)


def _gate(x):
    f, g = x.chunk(2, 1)
    return torch.tanh(f) * torch.sigmoid(g)


def _block_no_shift(block, v, h):
    v_pre = block.v_conv(v)
    gated = _gate(block.h_conv(h) + block.v_to_h(v_pre))
    return _gate(v_pre), h + block.h_out(gated), block.skip(gated)


def _forward_wrong_layout(model, x, y=None):
    xs = model.scale(x)
    v, h, _ = model.causal(xs, xs)
    skips = 0
    for block in model.blocks:
        v, h, skip = block(v, h, y)
        skips = skips + skip
    out = model.head(skips)
    return out.view(out.shape[0], model.color_levels, model.in_channels, *out.shape[2:])


def _bias_after_gate(pre, y, table):
    return _gate(pre) + table(y)[:, :pre.shape[1] // 2, None, None]


def _row_cache_reads_row_i(conv, x, i):
    return conv(x)[:, :, i]


def _pixel_step_reads_pixel(conv, row_pre, x, i, j):
    r = conv.kernel_size[0] // 2
    window = F.pad(x[:, :, i], (r, 0))[:, :, j: j + r + 1]       # includes column j
    taps = conv.weight[:, :, r, :r + 1]                           # unmasked centre tap
    return row_pre[:, :, j] + (window[:, None] * taps[None]).sum(dim=(2, 3))


# (reader's function, a wrong implementation, the case that must fail, words in the reason)
WRONG = [
    ("my_causal_mask", lambda k, t: _mask(k, "B" if t == "A" else "A"), "3x3, type A",
     "centre pixel see itself"),                                          # type A vs B
    ("my_causal_mask", lambda k, t: _mask(k, t, centre=k // 2 + 1), "3x3, type A",
     "off by one"),                                                       # off-by-one centre
    ("my_causal_mask", lambda k, t: _mask(k, t).flip(0, 1), "3x3, type A", "flipped"),
    ("my_log_prob", _log_prob_mean, "random logits, 4 levels", "average"),  # averaging
    ("my_bits_per_dim", _bits_mean_of_batches, "uneven last batch", "average the batches"),
    ("my_bits_per_dim", _bits_nats, "one batch", "nats"),
    ("my_down_shift", _shift_up, "random", "shift up"),                   # the wrong way
    ("my_vertical_stack", lambda x, w, b: _vertical(x, w, b, pad_bottom=True), "3x3 kernel",
     "pad below"),                                                        # the wrong way
    ("my_vertical_stack", lambda x, w, b: _vertical(x, w, b, shift=False), "3x3 kernel",
     "down-shift"),
    ("my_colour_mask", _colour_reversed, "RGB image", "reversed"),
    ("my_masked_field", _field_all_type_a, "2 layers, 5x5", "type A"),
    ("my_blind_spot", _blind_with_diagonal, "1 layer", "diagonal"),
    ("my_gate", _gate_swapped, "one pair", "swapped"),
    ("my_gated_block", _block_no_shift, "3x3, 4 channels", "without the down-shift"),
    ("my_forward", _forward_wrong_layout, "RGB", "layout"),
    ("my_conditional_gate", _bias_after_gate, "2 images", "after the gate"),
    ("my_row_cache", _row_cache_reads_row_i, "row 0", "row i itself"),
    ("my_pixel_step", _pixel_step_reads_pixel, "left edge", "pixel being drawn"),
]


@pytest.mark.parametrize("function, wrong, case, reason", WRONG,
                         ids=[f"{w[0]}-{w[3]}" for w in WRONG])
def test_usual_mistakes_are_caught_and_named(function, wrong, case, reason):
    verdict = JUDGES[function][1](wrong)
    assert verdict.status == "failed", verdict.message
    assert verdict.case.startswith(case), verdict.message
    assert verdict.message.startswith(f"case '{verdict.case}' failed: ")
    assert reason in verdict.message, verdict.message
    printed = printed_by_check(function, wrong)  # the verdict as the page shows it
    assert_fits(printed, function)
    assert words(printed) == words(verdict.message)  # wrapped, not cut


def test_printed_verdicts_are_wrapped_not_cut():
    from pixelcnn_lib.exercises.core import wrapped
    message = "case 'x' failed: " + "a long reason " * 12 + "\nsecond line " + "z" * 90
    text = wrapped(message)
    assert_fits(text, "wrapped")
    assert "".join(text.split()) == "".join(message.split())  # no character lost
    assert words(text)[:5] == ["case", "'x'", "failed:", "a", "long"]  # words kept whole
    assert any(line.startswith("second line") for line in text.splitlines())  # break kept
    assert wrapped("all 3 cases passed.") == "all 3 cases passed."


def test_every_exercise_has_a_usual_mistake_tested():
    assert {w[0] for w in WRONG} == set(JUDGES)


@pytest.mark.parametrize("reader", [
    lambda *a: 1 / 0, lambda *a: None, lambda *a: "a string", lambda *a: [[1, 2], [3]],
    lambda: 0, "not a function"], ids=["raises", "none", "string", "ragged", "no-args", "str"])
@pytest.mark.parametrize("function", sorted(JUDGES))
def test_checks_never_raise_whatever_the_reader_wrote(function, reader):
    printed = printed_by_check(function, reader)
    verdict = JUDGES[function][1](reader)
    assert verdict.status == "failed" and words(printed) == words(verdict.message)
    assert_fits(printed, function)


def test_a_numeric_check_does_not_print_the_answer():
    from pixelcnn_lib.exercises.likelihood import bits_cases
    expected = [float(c.expected) for c in bits_cases()]
    verdict = JUDGES["my_bits_per_dim"][1](lambda batches: 0.123)
    assert verdict.status == "failed"
    assert not any(f"{e:.3f}" in verdict.message for e in expected), verdict.message


def test_the_readers_inputs_may_be_edited_in_place():
    def zeroing_shift(x):
        out = F.pad(x, (0, 0, 1, 0))[:, :, :-1].clone()
        x.zero_()  # a reader's side effect must not change the expected answers
        return out
    assert JUDGES["my_down_shift"][1](zeroing_shift).status == "passed"


# ----------------------------------------------------------------------------- the tool


def _toy_notebook(path, extra=()):
    cells = [nbformat.v4.new_markdown_cell("# 9. Toy"), nbformat.v4.new_code_cell("x = 1"),
             *extra, nbformat.v4.new_markdown_cell("## What we built\n\n- a toy")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def test_apply_inserts_before_what_we_built_and_is_idempotent(tmp_path):
    path = tmp_path / "09_toy.ipynb"
    _toy_notebook(path)
    assert tool.problems(path, 2) == ["it has no exercise cells"]
    assert tool.apply(path, 2) == "inserted"
    cells = nbformat.read(path, 4).cells
    block = [c for c in cells if tool.is_managed(c)]
    assert [c.source for c in cells if not tool.is_managed(c)] == [
        "# 9. Toy", "x = 1", "## What we built\n\n- a toy"]
    assert cells[2:2 + len(block)] == block and cells[-1].source.startswith("## What we built")
    assert tool.problems(path, 2) == []
    before = path.read_bytes()
    assert tool.apply(path, 2) == "unchanged" and path.read_bytes() == before


def test_apply_updates_in_place_keeps_outputs_and_other_cells(tmp_path):
    path = tmp_path / "09_toy.ipynb"
    _toy_notebook(path, [nbformat.v4.new_markdown_cell("anchor", metadata={
        "tags": [tool.ANCHOR_TAG]})])
    tool.apply(path, 5)
    nb = nbformat.read(path, 4)
    assert nb.cells[2].source == "anchor" and tool.is_managed(nb.cells[3])
    check = next(c for c in nb.cells if c.id.endswith("gate-check"))
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="all 4 cases passed")]
    stub = next(c for c in nb.cells if c.id.endswith("gated-block-stub"))
    stub.source = "def my_gated_block(block, v, h):\n    return v, h, h  # edited"
    nb.cells.append(nbformat.v4.new_code_cell("y = 2"))
    nbformat.write(nb, path)
    assert "differs from the record" in "; ".join(tool.problems(path, 5))
    assert tool.apply(path, 5) == "updated"
    nb = nbformat.read(path, 4)
    assert tool.problems(path, 5) == [] and nb.cells[-1].source == "y = 2"
    check = next(c for c in nb.cells if c.id.endswith("gate-check"))
    assert check.outputs and check.outputs[0].text == "all 4 cases passed"


def test_library_package_ships_the_exercises():
    """Colab installs the library with pip: the subpackage must be listed in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    if "[tool.setuptools.packages.find]" in text:
        return  # automatic discovery finds every folder with an __init__.py
    packages = re.search(r"^packages\s*=\s*\[(.*?)\]", text, re.M | re.S)
    assert packages and '"pixelcnn_lib.exercises"' in packages.group(1), (
        'pyproject.toml: [tool.setuptools] packages must list "pixelcnn_lib.exercises"')


def test_notebooks_hold_the_current_exercise_cells():
    stale = {n: tool.problems(tool.chapter_path(n), n) for n in tool.CHAPTERS}
    stale = {n: p for n, p in stale.items() if p}
    assert not stale, f"{stale}; run: python tools/exercises.py --apply"
