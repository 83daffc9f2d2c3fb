"""show_source: the library's real source, and in HTML long lines wrap with a hanging indent (the
book's column holds 78 characters; tests/test_page_checks.py checks the page does not scroll)."""
import inspect
import re

from pixelcnn_lib.show import WrappedCode, show_source


def test_show_source_shows_the_library_source_with_where_it_lives():
    from pixelcnn_lib.masks import causal_mask

    code = show_source(causal_mask)
    assert code.data == f"# pixelcnn_lib.masks.causal_mask (line {inspect.getsourcelines(causal_mask)[1]})\n" + \
        inspect.getsource(causal_mask)


def test_a_region_is_named_not_numbered():
    """show_source(obj, region=NAME): the lines between the library's marker comments, dedented,
    with the line they start at; an unknown region is refused with what to write."""
    import pytest
    from pixelcnn_lib.layers import GatedBlock
    from pixelcnn_lib.naive_sampling import sample_naive

    code = show_source(sample_naive, region="the loop").data.splitlines()
    source, first = inspect.getsourcelines(sample_naive)
    at = next(k for k, line in enumerate(source) if line.strip() == "# show: the loop")
    assert code[0] == f"# pixelcnn_lib.naive_sampling.sample_naive (line {first + at + 1})"
    assert code[1].startswith("for i, j, c in steps:") and "# show" not in "\n".join(code)
    assert code[-1].lstrip().startswith("x[:, c, i, j] = torch.where(")
    stacks = show_source(GatedBlock, region="the two stacks").data
    assert "def forward(self, v, h, y=None):" in stacks and '"""One layer' not in stacks
    with pytest.raises(ValueError, match="# show: nothing"):
        show_source(GatedBlock, region="nothing")


def test_each_line_hangs_four_columns_past_its_indentation():
    source = "def f(x):\n    if x:\n        return x\n\nclass A:\n    pass\n"
    html = WrappedCode(source, language="python")._repr_html_()
    hangs = [int(h) for h in re.findall(r'class="pxs-line" style="padding-left: (\d+)ch; text-indent: -\1ch"', html)]
    assert hangs == [4, 8, 12, 4, 4, 8]
    text = re.sub(r"<[^>]+>", "", html.split("<pre>", 1)[1].split("</pre>", 1)[0])
    assert text.replace("&quot;", '"') == source  # every character, nothing added


def test_its_colours_do_not_restyle_the_rest_of_the_page():
    style = WrappedCode("x = 1", language="python")._repr_html_().split("<style>")[1].split("</style>")[0]
    rules = [r for r in style.splitlines() if r.strip()]
    assert rules and all(r.startswith(".pxs-source") for r in rules), rules
