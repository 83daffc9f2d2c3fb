"""Local Sphinx fixes for the book's HTML (loaded from _config.yml, `sphinx.local_extensions`).

1. Every page declared `const THEBE_JS_URL` twice, which logged "Identifier 'THEBE_JS_URL' has
   already been declared" in every reader's console. sphinx-thebe adds its inline configuration
   script with `app.add_js_file(None, body=...)` after the HTML builder has started; Sphinx 7 then
   keeps two copies of it (file name None and file name ''), and the page got both. Each page's
   scripts are de-duplicated here (same file, same inline body, same attributes: the same script).
2. The bibliography style `authoryear`, made the default here: the reference list labels each
   work the way the text cites it ("van den Oord et al., 2016a"), instead of pybtex's alpha labels
   ("vdOKK16") that match nothing in the text. (Not set in _config.yml: sphinxcontrib-bibtex, and
   so its settings, exist only in a book with a bibliography, and tests/widget_demo_book.py copies
   the book's Sphinx settings into a book without one.) Two works with the same authors and year must be told apart in
   references.bib itself (year = {2016a}, {2016b}), so the citations in the text differ too;
   tests/test_book_structure.py checks that no two labels are equal.
3. A code cell whose source is hidden (tag `hide-input`) opens inside an admonition box whose side
   padding made its code box 18 px narrower than every other cell's, so a 77-character line
   scrolled sideways there. A small stylesheet gives it the full width: the book wraps code at 78
   characters for every code box (tests/page_checks.py measures it).
"""
from __future__ import annotations

from pathlib import Path

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _script_key(js) -> tuple:
    """What makes two scripts the same: file and attributes (an inline script's `body` is one).
    Not the priority, and not None versus '' as the file name of an inline script."""
    if isinstance(js, str):  # themes may list plain file names
        return (js, ())
    attributes = tuple(sorted((k, str(v)) for k, v in js.attributes.items()))
    return (str(js.filename or ""), attributes)


def unique_scripts(scripts) -> list:
    """`scripts` in order, each distinct script once (file and inline body alike)."""
    seen, kept = set(), []
    for js in scripts:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    return kept


def _dedupe_page_scripts(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])


def _surname(person) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year_label(entry) -> str:
    """'Larochelle and Murray, 2011', 'van den Oord et al., 2016a': how the text cites `entry`."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if len(people) > 2:
        who = f"{_surname(people[0])} et al."
    else:
        who = " and ".join(_surname(p) for p in people) or entry.fields.get("title", entry.key)
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield author_year_label(entry)


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style (sorted by author, year, title), labelled by author and year."""
    default_label_style = AuthorYearLabels


def _author_year_references(app, config):
    if "bibtex_default_style" in config and config.bibtex_default_style == "alpha":  # the default
        config.bibtex_default_style = "authoryear"


CSS_FILE = "pixelcnn-local.css"
CSS = """/* tools/sphinx_local.py: hidden code cells get the same width as every other code box. */
div.cell details.hide.above-input { padding-left: 0; padding-right: 0; }
"""


def _write_css(app, exception):
    if exception is None and app.builder.format == "html":
        path = Path(app.outdir) / "_static" / CSS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CSS)


def setup(app):
    app.add_css_file(CSS_FILE)
    app.connect("build-finished", _write_css)
    # Late, so scripts that other extensions add to a page are seen too.
    app.connect("html-page-context", _dedupe_page_scripts, priority=900)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.connect("config-inited", _author_year_references)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
