"""Show the library's own source in a chapter, so the book never pastes a stale copy."""
import inspect

from IPython.display import Code


def show_source(obj, lines=None):
    """Syntax-highlighted source of a function, class or method, with where it lives.

    `lines=(first, last)` shows only part of it (1-based, inclusive, relative to the object).
    """
    source = inspect.getsource(obj)
    if lines is not None:
        first, last = lines
        source = "".join(source.splitlines(keepends=True)[first - 1:last])
    module = inspect.getmodule(obj).__name__
    start = inspect.getsourcelines(obj)[1]
    header = f"# {module}.{getattr(obj, '__qualname__', obj)} (line {start})\n"
    return Code(header + source, language="python")
