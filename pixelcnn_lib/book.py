"""Small helpers for the chapters themselves.

`glue` records a value in a cell's output so the book's prose can quote it with {glue:text}`name`
(the plain {glue:} role would show a string with its quotes; {glue:text} evaluates the stored repr,
so glue numbers as strings from `fmt`, which keeps trailing zeros and thousands separators):
the same output format as `myst_nb.glue`, written here so chapters also run where myst-nb
is not installed (Colab, a bare Jupyter).
"""
import IPython
from IPython.display import display

GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, display_value: bool = False):
    """Store `value`'s displayed form under `name` for the book to paste into the text.

    Returns None, so that a glue() call ending a cell does not also print the value.
    """
    bundle, metadata = IPython.core.formatters.format_display_data(value)
    prefix = "" if display_value else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def fmt(x: float, digits: int = 3) -> str:
    """A number as prose shows it: fixed decimals, thousands separators for big ones."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"
