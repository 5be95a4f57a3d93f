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
    measure: Callable[[str], int] = len if line.isascii() else cell_len
    if width <= 0:
        return [line]
    if measure(line) <= width:
        return [line]
    out: list[str] = []
    current = ""
    used = 0
    for token in _TOKEN.findall(line):
        size = measure(token)
        if token.isspace():
            if used + size <= width:
                current += token
                used += size
            else:
                out.append(current.rstrip())
                current, used = "", 0
            continue
        if used + size <= width:
            current += token
            used += size
            continue
        if current.strip():
            out.append(current.rstrip())
            current, used = "", 0
        while size > width:  # fold a word longer than the line
            head, token = _fold(token, width, measure)
            out.append(head)
            size = measure(token)
        current, used = token, size
    if current or not out:
        out.append(current.rstrip() if out else current)
    return out


def _fold(word: str, width: int, measure: Callable[[str], int]) -> tuple[str, str]:
    if measure is len:
        return word[:width], word[width:]
    cut = 0
    while cut < len(word) and cell_len(word[: cut + 1]) <= width:
        cut += 1
    cut = max(cut, 1)
    return word[:cut], word[cut:]


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
        return strip.apply_style(self.base).crop_extend(0, self.width, self.base)

    def paint(self, row: Row) -> Strip:
        return self.strip(*row) if isinstance(row, tuple) else row


Row = tuple[str, LineKind] | Strip
"""One line of a panel: plain text and its kind (styled when painted), or a rendered strip."""


class Block:
    """A run of rows for a width; subclasses decide where they come from. Text rows hold only
    the string and its kind: a panel makes a strip of a row when it paints it, so a long stream
    costs memory in proportion to its text, not to Textual's strips and their caches."""

    def rows(self, styles: Styles) -> list[Row]:
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

    def rows(self, styles: Styles) -> list[Row]:
        if self._cache is None or self._cache[0] != styles.width:
            wrapped = [piece for line in self.lines for piece in wrap(line, styles.width)]
            self._cache = (styles.width, [(piece, self.kind) for piece in wrapped])
        return self._cache[1]


class StreamBlock(Block):
    """Text that grows at its end. Complete lines are wrapped once; the last line on each call.

    ``markdown=True`` styles lines by a line-level reading of Markdown (fences, headings, quotes);
    otherwise every line is ``kind``.
    """

    def __init__(self, kind: LineKind = "text", *, markdown: bool = False) -> None:
        self.kind: LineKind = kind
        self.markdown = markdown
        self._lines: list[str] = []  # complete logical lines
        self._kinds: list[LineKind] = []
        self._in_fence = False
        self._tail = ""  # the logical line still growing
        self._width = -1
        self._wrapped: list[Row] = []  # rows of self._lines[: self._done]
        self._done = 0
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
            self._kinds.append(kind)

    def rows(self, styles: Styles) -> list[Row]:
        width = styles.width
        if width != self._width:
            self._width, self._wrapped, self._done = width, [], 0
        wrapped = self._wrapped
        for line, kind in zip(self._lines[self._done :], self._kinds[self._done :], strict=True):
            wrapped.extend((piece, kind) for piece in wrap(line, width))
        self._done = len(self._lines)
        if not self._tail:
            return wrapped
        if self.markdown:
            kind, _ = classify(self._tail, self._in_fence)
        else:
            kind = self.kind
        return wrapped + [(piece, kind) for piece in wrap(self._tail, width)]


class RenderedBlock(Block):
    """Lines rendered elsewhere (the final Markdown) for one width; ``finished`` when they were
    already put on the panel's styles (see :func:`render_markdown`)."""

    def __init__(self, width: int, strips: list[Strip], finished: Styles | None = None) -> None:
        self.width = width
        self._rendered = strips
        self._finished: list[Strip] | None = strips if finished is not None else None
        self._finished_for = finished

    def rows(self, styles: Styles) -> list[Row]:
        if self._finished is None or (
            self._finished_for is not None and self._finished_for != styles
        ):
            self._finished = [styles.finish(strip) for strip in self._rendered]
            self._finished_for = styles
        return list(self._finished)

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
