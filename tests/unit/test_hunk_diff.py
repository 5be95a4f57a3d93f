"""The review's diff drawing (tui/widgets/hunk_diff.py): line numbers only where a hunk
applies, blank lines kept, long hunks cut with a count, model text never parsed as markup."""

from __future__ import annotations

from mao_tui.domain import HunkView
from mao_tui.tui.widgets.hunk_diff import MAX_LINES, side_by_side, unified


def test_a_hunk_that_applies_nowhere_keeps_its_blank_lines_unnumbered() -> None:
    hunk = HunkView(path="a.py", number=1, search="x = 1\n\ny = 2\n", replace="x = 1\ny = 3\n")
    text = unified(hunk).plain
    assert text.splitlines() == ["    x = 1", "  - ", "  - y = 2", "  + y = 3"]


def test_an_applied_hunk_is_numbered_from_its_line() -> None:
    hunk = HunkView(path="a.py", number=1, search="a\nb\n", replace="a\nc\n", line=41)
    assert unified(hunk).plain.splitlines() == ["41   a", "42 - b", "42 + c"]


def test_long_hunks_are_cut_and_counted_in_both_layouts() -> None:
    body = "".join(f"line {n}\n" for n in range(MAX_LINES + 5))
    hunk = HunkView(path="a.py", number=1, search="old\n", replace=body, line=1)
    assert unified(hunk).plain.endswith("… 5 more line(s) not shown\n")
    assert side_by_side(hunk).row_count == MAX_LINES + 1


def test_markup_in_a_hunk_is_text() -> None:
    hunk = HunkView(path="a.py", number=1, search="[bold]x[/bold]\n", replace="y\n")
    text = unified(hunk)
    assert "[bold]x[/bold]" in text.plain
    assert all(span.style in {"red", "green", "dim"} for span in text.spans)
