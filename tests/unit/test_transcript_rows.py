"""A streamed block keeps its text once and makes each row from it when asked."""

from __future__ import annotations

from rich.style import Style

from mao_tui.tui.widgets.transcript import StreamBlock, Styles, wrap, wrap_spans

TEXT = "# Title\n\nsome words that wrap over the width\n```\n\tcode with a tab\n```\nlast tail"


def _rows(block: StreamBlock, styles: Styles) -> list[object]:
    return [block.row(index) for index in range(block.layout(styles))]


def test_rows_are_the_wrapped_lines_with_their_kinds() -> None:
    styles = Styles(Style(), {}, 12)
    block = StreamBlock(markdown=True)
    for start in range(0, len(TEXT), 5):  # in deltas, laid out after each
        block.append(TEXT[start : start + 5])
        block.layout(styles)
    expected = [piece for line in TEXT.split("\n") for piece in wrap(line, 12)]
    rows = _rows(block, styles)
    assert [row[0] for row in rows] == expected  # type: ignore[index]
    assert rows[0][1] == "heading" and rows[-1][1] == "text"  # type: ignore[index]
    assert ("    code", "code") in rows  # the tab expanded, the kind from the fence
    assert block.text == TEXT


def test_a_new_width_lays_every_row_out_again() -> None:
    block = StreamBlock("thinking")
    block.append("alpha beta gamma delta\nepsilon")
    assert len(_rows(block, Styles(Style(), {}, 6))) == 6  # epsilon folded
    assert [row[0] for row in _rows(block, Styles(Style(), {}, 40))] == [  # type: ignore[index]
        "alpha beta gamma delta",
        "epsilon",
    ]


def test_wrap_spans_point_into_the_line() -> None:
    line = "  indented words, and averyveryverylongword"
    assert [line[s:e] for s, e in wrap_spans(line, 10)] == wrap(line, 10)
