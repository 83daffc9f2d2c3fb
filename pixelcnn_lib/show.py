"""Show the library's own source in a chapter, so the book never pastes a stale copy."""
import inspect
import re

from IPython.display import Code

# The book's content column holds 78 characters of code a line; the library's lines go up to 100.
_LINE_CSS = ".pxs-source .pxs-line {display: block; white-space: pre-wrap; overflow-wrap: anywhere}"


class WrappedCode(Code):
    """IPython's Code, except that in HTML a line too long for the page wraps, continuing 4 columns
    further in than the line's own indentation, instead of making the reader scroll sideways.
    Its colours are scoped to it (IPython's Code restyles every <pre> of the page)."""

    def _repr_html_(self):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name

        formatter = HtmlFormatter(cssclass="highlight", linespans="pxs")
        html = highlight(self.data, get_lexer_by_name(self.language or "python"), formatter)
        lines = self.data.splitlines()

        def line(m):  # hanging indent: the line's indentation + 4 characters
            text = lines[int(m.group(1)) - 1] if int(m.group(1)) <= len(lines) else ""
            hang = len(text) - len(text.lstrip(" ")) + 4
            return f'<span class="pxs-line" style="padding-left: {hang}ch; text-indent: -{hang}ch">'

        html = re.sub(r'<span id="pxs-(\d+)">', line, html)
        scope = ".pxs-source .highlight"
        style = "\n".join(rule for rule in formatter.get_style_defs(scope).splitlines()
                          if rule.startswith(scope))  # not its rules for every <pre> of the page
        return f'<div class="pxs-source"><style>{style}\n{_LINE_CSS}</style>{html}</div>'


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
    return WrappedCode(header + source, language="python")
