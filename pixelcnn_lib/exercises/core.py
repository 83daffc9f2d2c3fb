"""The machinery every check shares: run the reader's function safely, compare, explain.

A check runs the reader's function on a list of named cases and compares each result with
the library's own answer (exactly for masks and sets, `allclose` in float64 for numbers).
The first case that differs is reported by name, with the first known mistake whose output
the reader's result matches (a wrong implementation written from the same library pieces),
or else with a description from the exercise's `explain`. A check never raises and never
prints the expected answer.
"""
import contextlib
import copy
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch

@dataclass
class Verdict:
    """What a check found: status "missing", "failed" or "passed", and the message it prints."""
    status: str
    message: str
    case: Optional[str] = None

    def __str__(self):
        return self.message


@dataclass
class Case:
    """One named input for the reader's function, and the library's answer for it."""
    name: str
    args: tuple
    expected: Any
    context: dict = field(default_factory=dict)  # anything `explain` or a mistake needs


@dataclass
class Mistake:
    """A usual wrong answer: `wrong(case)` computes its output; `why` says what went wrong."""
    why: str
    wrong: Callable


@contextlib.contextmanager
def seeded(seed):
    """Reproducible cases without touching the reader's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def missing(name, called=None):
    if called and called != name and called.startswith("my_"):  # another exercise's stub
        return Verdict("missing", f"missing: fill in `{called}` above (your `{name}` calls it "
                                  f"and it still raises NotImplementedError), then run this again.")
    return Verdict("missing", f"missing: fill in `{name}` above, then run this cell again.")


def _raised_in(err):
    """Name of the function a NotImplementedError came from (the innermost frame)."""
    frames = traceback.extract_tb(err.__traceback__)
    return frames[-1].name if frames else None


def to_tensor(value):
    """The reader's result as a detached tensor (lists, numbers and numpy arrays accepted)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    return torch.as_tensor(value)


def shape_problem(got, expected, what="your result"):
    if tuple(got.shape) != tuple(expected.shape):
        return f"{what} has shape {list(got.shape)}, the exercise asks for {list(expected.shape)}"
    return None


def compare_exact(got, expected, what="your result"):
    """None if equal as 0/1 (or integer) tensors, else a short reason."""
    got = to_tensor(got)
    problem = shape_problem(got, expected, what)
    if problem:
        return problem
    if got.is_floating_point() and not torch.equal(got, got.round()):
        return f"{what} holds values other than whole numbers"
    return None if torch.equal(got.long(), expected.long()) else "differs"


def compare_close(got, expected, what="your result", rtol=1e-5, atol=1e-7):
    """None if allclose in float64, else a short reason."""
    got = to_tensor(got)
    if got.is_complex() or got.dtype == torch.bool:
        return f"{what} has dtype {got.dtype}, expected real numbers"
    problem = shape_problem(got, expected, what)
    if problem:
        return problem
    got = got.double()
    if not torch.isfinite(got).all():
        return f"{what} contains NaN or infinity"
    ok = torch.allclose(got, expected.double(), rtol=rtol, atol=atol)
    return None if ok else "differs"


def compare_tuple(names, compare=compare_close):
    """A comparison for functions returning a tuple: each named element compared in turn."""
    def compare_all(got, expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"your function must return a tuple of {len(expected)}: ({', '.join(names)})"
        for name, g, e in zip(names, got, expected):
            if g is None:
                return f"your `{name}` is None"
            problem = compare(g, e, f"your `{name}`")
            if problem == "differs":
                return f"your `{name}` differs from the library's"
            if problem:
                return problem
        return None
    return compare_all


def _matches(got, wrong, compare):
    try:
        return compare(got, wrong) is None
    except Exception:
        return False


def judge(fn, name, cases, compare, mistakes=(), explain=None, passed=""):
    """Run `fn` on every case (lazily built by `cases()`) and return a Verdict; never raises."""
    if fn is None:
        return missing(name)
    if not callable(fn):
        return Verdict("failed", f"`{name}` is a {type(fn).__name__}, not a function: "
                                 f"define it with `def {name}(...)` above.")
    try:
        with torch.no_grad():
            built = list(cases())
    except Exception as err:  # a bug in the check itself: say so rather than blame the reader
        return Verdict("failed", f"the check could not build its cases ({type(err).__name__}: "
                                 f"{err}).")
    for case in built:
        args = copy.deepcopy(case.args)  # the reader may edit its inputs in place
        try:
            with torch.no_grad():
                got = fn(*args)
        except NotImplementedError as err:
            return missing(name, _raised_in(err))
        except Exception as err:
            return fail(case, f"your function raised {type(err).__name__}: {str(err)[:200]}")
        if got is None:
            return fail(case, "your function returned None: did you forget `return`?")
        try:
            problem = compare(got, case.expected)
            if problem is None:
                continue
            why = named_mistake(got, case, compare, mistakes)
            if why is None and problem == "differs":
                why = describe(got, case, explain)
        except Exception as err:
            why = f"your result could not be compared ({type(err).__name__}: {str(err)[:200]})"
        return fail(case, why or problem)
    return Verdict("passed", f"all {len(built)} cases passed" + (f": {passed}" if passed else "."))


def named_mistake(got, case, compare, mistakes):
    """The explanation of the first known mistake whose output the reader's result matches."""
    for mistake in mistakes:
        try:
            wrong = mistake.wrong(case)
        except Exception:
            continue
        if wrong is not None and _matches(got, wrong, compare):
            return mistake.why
    return None


def describe(got, case, explain):
    """The exercise's own description of how the result differs, or a plain statement."""
    if explain is not None:
        try:
            value = got if isinstance(got, (tuple, list)) else to_tensor(got)
            text = explain(value, case)
            if text:
                return text
        except Exception:
            pass
    return "your result differs from the library's."


def fail(case, why):
    return Verdict("failed", f"case '{case.name}' failed: {why}", case.name)


WIDTH = 78  # the book's code box (and so a cell's output) shows this many characters


def wrapped(message, width=WIDTH):
    """The message as printed: each of its lines wrapped to `width` characters, so that
    no verdict scrolls sideways in the book."""
    lines = []
    for line in str(message).splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_on_hyphens=False) or [""]
    return "\n".join(lines)


def report(verdict):
    """What a check cell shows: the verdict's message, wrapped (and nothing returned)."""
    print(wrapped(verdict.message))
