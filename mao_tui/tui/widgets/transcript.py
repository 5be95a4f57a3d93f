"""The lines a model panel shows, built without widgets: wrapped once, appended incrementally.

A panel is one Line-API widget (see :mod:`mao_tui.tui.widgets.panel`). What it shows is a short
list of blocks (notes, the thinking header, the thinking, the answer), each of which turns its text
into wrapped lines for the panel's width and keeps them: a streaming block re-wraps only its last,
still growing line when text arrives. Nothing here touches the DOM, so appending text never asks
Textual for a layout; the panel repaints only its own region.

While an answer streams it is shown as styled plain text (headings bold, fenced code tinted); when
the attempt ends it is rendered once as Markdown, off the event loop (:func:`render_markdown`).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.theme import Theme
from textual.strip import Strip

from mao_tui.domain.sanitize import mark_invisible

LineKind = Literal[
    "text", "heading", "fence", "code", "quote", "thinking", "note", "header", "muted"
]

_TOKEN = re.compile(r"\S+|\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s")
TAB_SIZE = 4


def wrap(line: str, width: int) -> list[str]:
    """Greedy word wrap to ``width`` cells; words longer than the width are folded.

    Leading indentation is kept on the first line (code keeps its shape); spaces at a break are
    dropped. An empty line stays one empty line.
    """
    line = line.expandtabs(TAB_SIZE)
    return [line[start:end] for start, end in wrap_spans(line, width)]


def wrap_spans(line: str, width: int) -> list[tuple[int, int]]:
    """Where :func:`wrap` cuts ``line`` (tabs already expanded): each piece's (start, end)."""
    measure: Callable[[str], int] = len if line.isascii() else cell_len
    if width <= 0 or measure(line) <= width:
        return [(0, len(line))]
    out: list[tuple[int, int]] = []
    start = end = used = position = 0
    for token in _TOKEN.findall(line):
        at, position = position, position + len(token)
        size = measure(token)
        if used + size <= width:
            start, end, used = (start if end > start else at), position, used + size
            continue
        if token.isspace() or line[start:end].strip():
            out.append((start, start + len(line[start:end].rstrip())))
            start = end = used = 0
            if token.isspace():
                continue
        while size > width:  # fold a word longer than the line
            cut = _fold(token, width, measure)
            out.append((at, at + cut))
            at, token = at + cut, token[cut:]
            size = measure(token)
        start, end, used = at, position, size
    if end > start or not out:
        out.append((start, start + len(line[start:end].rstrip())) if out else (start, end))
    return out


def _fold(word: str, width: int, measure: Callable[[str], int]) -> int:
    """How many characters of ``word`` fit in ``width`` cells (at least one)."""
    if measure is len:
        return width
    cut = 0
    while cut < len(word) and cell_len(word[: cut + 1]) <= width:
        cut += 1
    return max(cut, 1)


def classify(line: str, in_fence: bool) -> tuple[LineKind, bool]:
    """The kind of one answer line while streaming, and whether a fence is open after it."""
    if _FENCE.match(line):
        return "fence", not in_fence
    if in_fence:
        return "code", True
    if _HEADING.match(line):
        return "heading", False
    if line.startswith(">"):
        return "quote", False
    return "text", False


@dataclass
class Styles:
    """Rich styles for each line kind (from the panel's component classes) and the line width.

    Strips come out padded to ``width`` in the panel's own style, ready to paint as they are.
    """

    base: Style
    kinds: dict[LineKind, Style]
    width: int

    def strip(self, text: str, kind: LineKind) -> Strip:
        style = self.base + self.kinds.get(kind, Style.null())
        length = len(text) if text.isascii() else cell_len(text)
        return Strip([Segment(text, style)], length).extend_cell_length(self.width, self.base)

    def finish(self, strip: Strip) -> Strip:
        """A strip rendered elsewhere, put on the panel's style and padded to the width."""
        done = strip.apply_style(self.base).crop_extend(0, self.width, self.base)
        # A fresh strip: the steps' strips (and their caches) are not kept alive by it.
        return Strip(list(done), done.cell_length)

    def paint(self, row: Row) -> Strip:
        return self.strip(*row) if isinstance(row, tuple) else row


Row = tuple[str, LineKind] | Strip
"""One line of a panel: plain text and its kind (styled when painted), or a rendered strip."""


class Block:
    """A run of rows for a width; subclasses decide where they come from. Text rows are made
    from the block's text when asked (a panel asks only for the rows it paints), so a long
    stream costs memory in proportion to its text, not to its rows, strips and their caches."""

    def layout(self, styles: Styles) -> int:
        """Lay the rows out for ``styles`` (only what is new since the last call): how many."""
        raise NotImplementedError

    def row(self, index: int) -> Row:
        """Row ``index`` (below the count of the latest :meth:`layout`)."""
        raise NotImplementedError

    def restyle(self) -> None:
        """Forget anything rendered with the old styles."""


@dataclass
class StaticLines(Block):
    """A few lines of one kind that are replaced whole (notes, headers, placeholders)."""

    kind: LineKind
    lines: list[str] = field(default_factory=list)
    _cache: tuple[int, list[Row]] | None = None

    def set(self, lines: list[str]) -> None:
        if lines != self.lines:
            self.lines = list(lines)
            self._cache = None

    def layout(self, styles: Styles) -> int:
        if self._cache is None or self._cache[0] != styles.width:
            wrapped = [piece for line in self.lines for piece in wrap(line, styles.width)]
            self._cache = (styles.width, [(piece, self.kind) for piece in wrapped])
        return len(self._cache[1])

    def row(self, index: int) -> Row:
        assert self._cache is not None
        return self._cache[1][index]


_KIND_CODES: tuple[LineKind, ...] = (
    "text", "heading", "fence", "code", "quote", "thinking", "note", "header", "muted",
)  # fmt: skip


class StreamBlock(Block):
    """Text that grows at its end. Complete lines are wrapped once; the last line on each call.

    A wrapped row is kept as where it lies in its line (three integers in arrays, 12 bytes),
    not as a string: the text is held once, as its logical lines.

    ``markdown=True`` styles lines by a line-level reading of Markdown (fences, headings, quotes);
    otherwise every line is ``kind``.
    """

    def __init__(self, kind: LineKind = "text", *, markdown: bool = False) -> None:
        self.kind: LineKind = kind
        self.markdown = markdown
        self._lines: list[str] = []  # complete logical lines
        self._kinds = bytearray()  # each line's kind, as its index in _KIND_CODES
        self._in_fence = False
        self._tail = ""  # the logical line still growing
        self._width = -1
        # the wrapped rows of self._lines[: self._done]: line index, start, end (tabs expanded)
        self._row_line = array("I")
        self._row_start = array("I")
        self._row_end = array("I")
        self._done = 0
        self._tail_rows: list[Row] = []
        self.chars = 0

    @property
    def text(self) -> str:
        return "\n".join([*self._lines, self._tail])

    def append(self, text: str) -> None:
        if not text:
            return
        self.chars += len(text)
        pieces = (self._tail + mark_invisible(text)).split("\n")
        self._tail = pieces.pop()
        for line in pieces:
            self._lines.append(line)
            if self.markdown:
                kind, self._in_fence = classify(line, self._in_fence)
            else:
                kind = self.kind
            self._kinds.append(_KIND_CODES.index(kind))

    def layout(self, styles: Styles) -> int:
        width = styles.width
        if width != self._width:
            self._width, self._done = width, 0
            del self._row_line[:], self._row_start[:], self._row_end[:]
        lines, starts, ends = self._row_line, self._row_start, self._row_end
        for index in range(self._done, len(self._lines)):
            for start, end in wrap_spans(_expanded(self._lines[index]), width):
                lines.append(index)
                starts.append(start)
                ends.append(end)
        self._done = len(self._lines)
        self._tail_rows = []
        if self._tail:
            if self.markdown:
                kind, _ = classify(self._tail, self._in_fence)
            else:
                kind = self.kind
            self._tail_rows = [(piece, kind) for piece in wrap(self._tail, width)]
        return len(lines) + len(self._tail_rows)

    def row(self, index: int) -> Row:
        done = len(self._row_line)
        if index >= done:
            return self._tail_rows[index - done]
        line = self._row_line[index]
        text = _expanded(self._lines[line])
        return text[self._row_start[index] : self._row_end[index]], _KIND_CODES[self._kinds[line]]


def _expanded(line: str) -> str:
    return line.expandtabs(TAB_SIZE) if "\t" in line else line


class RenderedBlock(Block):
    """Lines rendered elsewhere (the final Markdown) for one width; ``finished`` when they were
    already put on the panel's styles (see :func:`render_markdown`)."""

    def __init__(self, width: int, strips: list[Strip], finished: Styles | None = None) -> None:
        self.width = width
        self._rendered = strips
        self._finished: list[Strip] | None = strips if finished is not None else None
        self._finished_for = finished

    def layout(self, styles: Styles) -> int:
        if self._finished is None or (
            self._finished_for is not None and self._finished_for != styles
        ):
            self._finished = [styles.finish(strip) for strip in self._rendered]
            self._finished_for = styles
        return len(self._finished)

    def row(self, index: int) -> Row:
        assert self._finished is not None
        return self._finished[index]

    def restyle(self) -> None:
        self._finished = None


# Rich's inline code is "bold cyan on black", a black box on any theme: keep only the colour.
_MARKDOWN_THEME = Theme({"markdown.code": "bold cyan"})


def render_markdown(
    text: str, width: int, *, styles: Styles | None = None, code_theme: str = "ansi_dark"
) -> list[Strip]:
    """``text`` as Rich Markdown in ``width`` cells, finished on ``styles`` when given:
    CPU-bound, meant for a worker thread (the event loop then only swaps the lines in)."""
    from rich.markdown import Markdown  # at the first final render, not before the first paint

    console = Console(
        width=max(width, 1),
        color_system="truecolor",
        force_terminal=True,
        legacy_windows=False,
        emoji=False,
        highlight=False,
        theme=_MARKDOWN_THEME,
    )
    lines = console.render_lines(
        Markdown(mark_invisible(text), code_theme=code_theme, hyperlinks=False),
        console.options.update_width(max(width, 1)),
        pad=False,
    )
    strips = [Strip(line).simplify() for line in lines]
    return strips if styles is None else [styles.finish(strip) for strip in strips]
