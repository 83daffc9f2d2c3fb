"""pixelcnn_lib.book: glue writes what myst-nb's {glue:} role pastes, show_source shows real source."""
import pytest
from IPython.core.interactiveshell import InteractiveShell

from pixelcnn_lib.book import GLUE_PREFIX, fmt, glue
from pixelcnn_lib.show import show_source


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def captured_glue(monkeypatch, name, value, **kw):
    shown = []
    monkeypatch.setattr("pixelcnn_lib.book.display", lambda data, raw, metadata: shown.append((data, metadata)))
    assert glue(name, value, **kw) is None  # a glue() ending a cell must not echo the value too
    assert len(shown) == 1
    return shown[0]


@pytest.mark.parametrize("value", [fmt(0.80812), fmt(81.3, 2), fmt(852160.0)])
def test_glued_strings_come_back_exactly_through_glue_text(shell, monkeypatch, value):
    """{glue:text} literal-evaluates the stored text: a repr gives the string back unchanged
    (stored bare, "81.30" would come back as 81.3 and "852,160" as a tuple)."""
    from myst_nb.core.variables import format_plain_text
    data, metadata = captured_glue(monkeypatch, "ch0_x", value)
    assert format_plain_text(data[GLUE_PREFIX + "text/plain"], "") == value
    assert metadata["scrapbook"] == {"name": "ch0_x", "mime_prefix": GLUE_PREFIX}


def test_glued_numbers_keep_their_repr_and_can_be_displayed(shell, monkeypatch):
    data, metadata = captured_glue(monkeypatch, "ch0_n", 1234, display_value=True)
    assert data["text/plain"] == "1234" and metadata["scrapbook"]["mime_prefix"] == ""


def test_fmt():
    assert fmt(0.80812) == "0.808" and fmt(852160.0) == "852,160" and fmt(81.3, 2) == "81.30"


def test_show_source_is_the_library_source():
    from pixelcnn_lib.masks import causal_mask
    import inspect
    code = show_source(causal_mask)
    assert inspect.getsource(causal_mask) in code.data
    assert code.data.startswith("# pixelcnn_lib.masks.causal_mask (line ")
