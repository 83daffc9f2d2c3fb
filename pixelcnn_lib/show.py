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


def show_source(obj, region=None):
    """Syntax-highlighted source of a function, class or method (`Class.method`, or a nested
    function passed as the object itself), with where it lives.

    `region="NAME"` shows only the lines between the library's marker comments
    `# show: NAME` and `# end show: NAME` inside it (the markers themselves are not shown), so a
    chapter names the part it teaches and an edit of the library cannot shift it silently.
    """
    source = inspect.getsource(obj)
    start = inspect.getsourcelines(obj)[1]
    if region is not None:
        lines = source.splitlines(keepends=True)
        marks = [k for k, line in enumerate(lines)
                 if line.strip() in (f"# show: {region}", f"# end show: {region}")]
        if len(marks) != 2:
            raise ValueError(f"{getattr(obj, '__qualname__', obj)} has no region {region!r}: mark it "
                             f"with '# show: {region}' ... '# end show: {region}' comments.")
        first, last = marks
        start += first + 1
        source = "".join(lines[first + 1:last])
        indent = min(len(line) - len(line.lstrip()) for line in source.splitlines() if line.strip())
        source = "".join(line[indent:] if line.strip() else line
                         for line in source.splitlines(keepends=True))
    module = inspect.getmodule(obj).__name__
    header = f"# {module}.{getattr(obj, '__qualname__', obj)} (line {start})\n"
    return WrappedCode(header + source, language="python")
