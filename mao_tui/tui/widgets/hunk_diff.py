"""A search/replace hunk drawn as a diff: unified (one column, ``-`` then ``+``) or side by side
(what SEARCH finds on the left, what REPLACE puts there on the right), with the file's line
numbers where the hunk applies.

Hunks are model output: every line goes through :func:`~mao_tui.domain.sanitize.shown` and
into a :class:`rich.text.Text` (never parsed as markup), so no control character reaches the
terminal and no ``[bold]`` in a hunk styles anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from difflib import SequenceMatcher

from rich.table import Table
from rich.text import Text

from mao_tui.domain import HunkView
from mao_tui.domain.sanitize import shown

OLD, NEW, SAME = "red", "green", "dim"
# Shown lines per hunk: a model may send a whole file as one REPLACE; the rest is counted.
MAX_LINES = 400


def _lines(text: str) -> list[str]:
    return [shown(line.rstrip("\r")) for line in text.split("\n")[:-1]] if text else []


Row = tuple[int, str, int, str, str]  # old number, old line, new number, new line, kind


def rows(hunk: HunkView) -> Iterator[Row]:
    """The hunk's lines paired: equal, replaced, deleted (no new line) or inserted (no old)."""
    old, new = _lines(hunk.search), _lines(hunk.replace)
    first = hunk.line or 1
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                yield (first + i1 + k, old[i1 + k], first + j1 + k, new[j1 + k], "=")
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            a, b = i1 + k, j1 + k
            yield (
                first + a if a < i2 else 0,
                old[a] if a < i2 else "",
                first + b if b < j2 else 0,
                new[b] if b < j2 else "",
                "~",
            )


def _number(n: int, width: int) -> str:
    return f"{n:>{width}} " if n else " " * (width + 1)


def _numbered(hunk: HunkView, row: Row) -> Row:
    """``row`` without line numbers when the hunk applies nowhere (they would mean nothing)."""
    if hunk.line:
        return row
    _, old, _, new, kind = row
    return (0, old, 0, new, kind)


def _shown_rows(hunk: HunkView) -> tuple[list[tuple[Row, bool, bool]], int]:
    """The rows drawn (at most ``MAX_LINES``, numbered only where the hunk applies), each with
    whether it has an old and a new line, and how many rows there are in all."""
    every = list(rows(hunk))
    shown_rows = [(_numbered(hunk, row), row[0] > 0, row[2] > 0) for row in every[:MAX_LINES]]
    return shown_rows, len(every)


def unified(hunk: HunkView) -> Text:
    """The hunk as unified diff lines: context, then each change's old and new lines."""
    out = Text()
    last = (hunk.line or 1) + max(hunk.search.count("\n"), hunk.replace.count("\n"))
    width = len(str(last))
    olds: list[tuple[int, str]] = []
    news: list[tuple[int, str]] = []

    def flush() -> None:
        for n, line in olds:
            out.append(f"{_number(n, width)}- {line}\n", OLD)
        for n, line in news:
            out.append(f"{_number(n, width)}+ {line}\n", NEW)
        olds.clear()
        news.clear()

    shown_rows, count = _shown_rows(hunk)
    for (old_n, old, new_n, new, kind), has_old, has_new in shown_rows:
        if kind == "=":
            flush()
            out.append(f"{_number(old_n, width)}  {old}\n", SAME)
            continue
        if has_old:
            olds.append((old_n, old))
        if has_new:
            news.append((new_n, new))
    flush()
    return _more(out, count)


def side_by_side(hunk: HunkView) -> Table:
    """The hunk in two columns, the old lines beside the new ones that replace them."""
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(justify="right", style=SAME, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    table.add_column(justify="right", style=SAME, no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    shown_rows, count = _shown_rows(hunk)
    for (old_n, old, new_n, new, kind), _, _ in shown_rows:
        same = kind == "="
        table.add_row(
            str(old_n) if old_n else "",
            Text(old, SAME if same else OLD),
            str(new_n) if new_n else "",
            Text(new, SAME if same else NEW),
        )
    if count > MAX_LINES:
        table.add_row("", _more(Text(), count), "", "")
    return table


def whole(content: str) -> Text:
    """A file created whole, every line new."""
    lines = _lines(content)
    out = Text()
    for n, line in enumerate(lines[:MAX_LINES], 1):
        out.append(f"{n:>4} + {line}\n", NEW)
    return _more(out, len(lines))


def _more(out: Text, count: int) -> Text:
    if count > MAX_LINES:
        out.append(f"… {count - MAX_LINES} more line(s) not shown\n", "italic")
    return out
