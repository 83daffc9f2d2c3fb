"""Checks for the book's "build it yourself" exercises: the reader writes a piece of the model.

Each chapter's exercise cells (their source of record is `tools/exercises.py`) define a
function such as `my_causal_mask`; a hidden cell then calls `check_causal_mask(my_causal_mask)`,
which runs it on random inputs and named edge cases, compares it with the library's own
function (exactly for masks and fields, `allclose` in float64 for numbers), and prints one
verdict: "missing: ...", "case '...' failed: <why>" or "all N cases passed", wrapped to
78 characters a line (the book's code box). A check never raises and never prints the
expected answer. `JUDGES` maps each reader function's name to
(chapter, judge); a judge returns the `Verdict` that its check prints.
"""
from .caching import check_pixel_step, check_row_cache, judge_pixel_step, judge_row_cache
from .core import Verdict
from .gating import (check_conditional_gate, check_forward, check_gate, check_gated_block,
                     judge_conditional_gate, judge_forward, judge_gate, judge_gated_block)
from .likelihood import check_bits_per_dim, check_log_prob, judge_bits_per_dim, judge_log_prob
from .masking import (check_blind_spot, check_causal_mask, check_colour_mask, check_masked_field,
                      judge_blind_spot, judge_causal_mask, judge_colour_mask, judge_masked_field)
from .stacks import check_down_shift, check_vertical_stack, judge_down_shift, judge_vertical_stack

JUDGES = {
    "my_log_prob": (1, judge_log_prob),
    "my_bits_per_dim": (1, judge_bits_per_dim),
    "my_causal_mask": (2, judge_causal_mask),
    "my_colour_mask": (2, judge_colour_mask),
    "my_masked_field": (3, judge_masked_field),
    "my_blind_spot": (3, judge_blind_spot),
    "my_down_shift": (4, judge_down_shift),
    "my_vertical_stack": (4, judge_vertical_stack),
    "my_gate": (5, judge_gate),
    "my_gated_block": (5, judge_gated_block),
    "my_forward": (6, judge_forward),
    "my_conditional_gate": (6, judge_conditional_gate),
    "my_row_cache": (7, judge_row_cache),
    "my_pixel_step": (7, judge_pixel_step),
}

__all__ = ["JUDGES", "Verdict", "check_log_prob", "check_bits_per_dim", "check_causal_mask",
           "check_colour_mask", "check_masked_field", "check_blind_spot", "check_down_shift",
           "check_vertical_stack", "check_gate", "check_gated_block", "check_forward",
           "check_conditional_gate", "check_row_cache", "check_pixel_step"]
