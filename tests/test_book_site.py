"""Site-level fixes of the built book (tools/sphinx_local.py, _config.yml), checked without building:
each script once per page, references told apart, Markdown outputs rendered with tables.
The built pages themselves are checked by tests/test_book_browser.py and tests/test_page_checks.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml
from pybtex.database import parse_file, parse_string
from sphinx.builders.html._assets import _JavaScript

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sphinx_local  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_the_local_extension_is_loaded():
    assert CONFIG["sphinx"]["local_extensions"] == {"sphinx_local": "tools"}
    assert (ROOT / "tools" / "sphinx_local.py").is_file()


def test_an_inline_script_added_twice_is_kept_once():
    """Sphinx 7 keeps sphinx-thebe's configuration script twice (file name None and ''): a page
    declaring `const THEBE_JS_URL` twice logs a console error."""
    body = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("doctools.js"), _JavaScript(None, body=body), _JavaScript("", body=body),
               _JavaScript("other.js", **{"async": "async"}), _JavaScript("", body="let y = 1")]
    kept = sphinx_local.unique_scripts(scripts)
    assert [(js.filename, js.attributes) for js in kept] == [
        ("doctools.js", {}), (None, {"body": body}), ("other.js", {"async": "async"}), ("", {"body": "let y = 1"})]


def test_markdown_outputs_are_rendered_as_myst():
    """CommonMark (myst-nb's default for text/markdown outputs) has no tables."""
    assert CONFIG["sphinx"]["config"]["nb_render_markdown_format"] in {"myst", "gfm"}


def labels(bib) -> list[str]:
    return [sphinx_local.author_year_label(entry) for entry in bib.entries.values()]


def test_every_reference_is_cited_distinguishably():
    found = labels(parse_file(str(ROOT / "references.bib")))
    repeated = sorted({label for label in found if found.count(label) > 1})
    assert not repeated, (f"references cited alike: {repeated}; tell them apart in references.bib "
                          "with year = {2016a} and {2016b}")
    assert "van den Oord et al., 2016a" in found and "van den Oord et al., 2016b" in found
    assert CONFIG["sphinx"]["config"]["bibtex_reference_style"] == "author_year"


class FakeConfig(dict):
    __getattr__ = dict.__getitem__
    __setattr__ = dict.__setitem__


def test_the_reference_list_is_labelled_author_year():
    for before, after in [("alpha", "authoryear"), ("plain", "plain")]:  # alpha: the default
        config = FakeConfig(bibtex_default_style=before)
        sphinx_local._author_year_references(None, config)
        assert config.bibtex_default_style == after
    no_bibliography = FakeConfig()
    sphinx_local._author_year_references(None, no_bibliography)
    assert no_bibliography == {}


def test_references_cited_alike_are_found():
    bib = parse_string("""
        @article{a, author = {van den Oord, A{\\"a}ron and Kalchbrenner, Nal and Graves, Alex}, year = {2016}}
        @article{b, author = {van den Oord, A{\\"a}ron and Vinyals, Oriol and Kavukcuoglu, Koray}, year = {2016}}
        @article{c, author = {Larochelle, Hugo and Murray, Iain}, year = {2011}}
        @article{d, author = {{\\L}ukasz, Kaiser}, year = {2018}}""", "bibtex")
    assert labels(bib) == ["van den Oord et al., 2016", "van den Oord et al., 2016",
                           "Larochelle and Murray, 2011", "Łukasz, 2018"]
