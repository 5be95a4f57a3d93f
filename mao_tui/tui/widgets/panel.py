"""One model's panel: header in the border, then notes, thinking and the answer, as lines.

Why this shape (measured, see benchmarks/responsiveness.py and docs/benchmarks.md): seven panels of
Textual ``Markdown`` widgets streaming at once kept the event loop busy re-laying out the screen,
and key presses waited up to seconds. Here a panel is a single Line-API widget with a fixed size
(set by the grid): the raw text stays in the lane's model (:class:`~mao_tui.tui.state.AttemptText`),
the screen calls :meth:`ModelPanel.flush` at a bounded rate, and a flush only wraps the new text and
repaints this panel's own region, never the layout. When an attempt ends, its answer is rendered
once as Markdown in a worker thread and swapped in; finished panels then stay frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual import events
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from mao_tui.domain import WorkstreamStatus
from mao_tui.tui import fmt
from mao_tui.tui.state import AttemptText, Lane
from mao_tui.tui.widgets.transcript import (
    Block,
    LineKind,
    RenderedBlock,
    Row,
    StaticLines,
    StreamBlock,
    Styles,
    render_markdown,
)

_KINDS: tuple[LineKind, ...] = (
    "heading", "fence", "code", "quote", "thinking", "note", "header", "muted",
)  # fmt: skip


PAINTED_LINES = 512  # strips kept per panel: what is on screen and what scrolled by recently
FINAL_MARKDOWN_MAX_CHARS = 200_000  # above, rendering Markdown takes seconds and ~100x the text
#                                   in memory (measured: 1 MB answers, ~8 s each); not worth it


class AnswerView:
    """A read-only view of a panel's answer."""

    def __init__(self, panel: ModelPanel) -> None:
        self._panel = panel

    @property
    def source(self) -> str:
        return self._panel.shown_answer


# One thread renders every final answer, one at a time: several at once would each take the
# interpreter lock from the event loop in turn, and keys would wait for all of them.
_RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mao-markdown")

# Even one render thread halves the event loop's share of the interpreter while it runs: with
# seven answers ending together, keys pressed then waited 170–280 ms (the p99 of the
# responsiveness benchmark). The streamed text is already on screen, so a final render waits
# until the user has not pressed a key or clicked for INPUT_IDLE_S.
INPUT_IDLE_S = 0.3
_last_input = [0.0]  # time.monotonic() of the latest key press or click


def note_input() -> None:
    """Called by the app on every key press and click."""
    _last_input[0] = time.monotonic()


async def _input_idle() -> None:
    while (wait := _last_input[0] + INPUT_IDLE_S - time.monotonic()) > 0:
        await asyncio.sleep(wait)


class ModelPanel(ScrollView, can_focus=True):
    """The live panel of one lane (a workstream or the synthesis)."""

    ALLOW_MAXIMIZE = True
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"panel--{kind}" for kind in _KINDS}

    def __init__(self, lane: Lane, *, turn: int = 0) -> None:
        classes = "model-panel -synthesis" if lane.synthesis else "model-panel"
        # A section's keys (s2.schemas) hold dots, which a Textual id may not.
        super().__init__(id=f"panel-{lane.key.replace('.', '-')}", classes=classes)
        self.key = lane.key
        self.turn = turn  # the screen lays panels out in turns (see dashboard.FLUSH_TURNS)
        self.thinking_shown = True  # False while the screen hides all thinking (t)
        self.thinking_folded = False  # this panel's thinking folded to its header line
        self._attempt: AttemptText | None = None
        self._taken = (0, 0)  # (thinking, answer) characters of the attempt already in the blocks
        self._notes = StaticLines("note")
        self._header = StaticLines("header")
        self._thinking = StreamBlock("thinking")
        self._answer = StreamBlock(markdown=True)
        self._final: RenderedBlock | None = None
        self._final_before: RenderedBlock | None = None  # the render for the previous width
        self._final_source: str | None = None  # the Markdown rendered (or being rendered)
        self._final_job: Worker[None] | None = None
        self._final_job_width = 0
        self._placeholder = StaticLines("muted", ["waiting for the model…"])
        self._spans: list[tuple[int, int, Block]] = []  # (first row, rows, block) in order
        self._row_count = 0
        self._header_rows = range(0)
        self._styles: Styles | None = None
        self._painted: LRUCache[Row, Strip] = LRUCache(PAINTED_LINES)
        self._painted_with: Styles | None = None  # the styles those strips were painted with
        self._status: WorkstreamStatus | None = None
        self._shown_title: Content | None = None
        self._shown_subtitle: Content | None = None
        self.renders = 0  # how many times new text was laid out (tests: never once per delta)

    # -- what is shown --------------------------------------------------------------------

    @property
    def attempt(self) -> AttemptText | None:
        return self._attempt

    @property
    def thinking_text(self) -> str:
        """All thinking of the attempt shown, received so far."""
        return self._attempt.thinking_text if self._attempt else ""

    @property
    def answer_text(self) -> str:
        """The answer of the attempt shown, received so far (rendered or not)."""
        return self._attempt.answer_text if self._attempt else ""

    @property
    def shown_thinking(self) -> str:
        """The thinking as laid out in the panel (after the last flush)."""
        return self._thinking.text

    @property
    def shown_answer(self) -> str:
        """The answer as laid out: the final Markdown source once rendered, else the stream."""
        if self._final is not None and self._final_source is not None:
            return self._final_source
        return self._answer.text

    @property
    def answer(self) -> AnswerView:
        """The answer as this panel shows it (``answer.source``: its Markdown source)."""
        return AnswerView(self)

    @property
    def final_rendered(self) -> bool:
        return self._final is not None

    @property
    def pending_chars(self) -> int:
        """Characters received but not laid out yet."""
        if self._attempt is None:
            return 0
        return (
            self._attempt.thinking.chars
            - self._thinking.chars
            + self._attempt.answer.chars
            - self._answer.chars
        )

    @property
    def plain_lines(self) -> list[str]:
        """Every line of the panel as plain text, without the padding (tests)."""
        rows = [self._row(index) for index in range(self._row_count)]
        return [
            (row[0] if isinstance(row, tuple) else row.text).rstrip()
            for row in rows
            if row is not None
        ]

    # -- header -------------------------------------------------------------------------------

    def show_lane(self, lane: Lane, now: datetime | None) -> None:
        """The header in the border. Setting a border repaints the whole panel: only on change."""
        bolt = Content.styled(" ⚡", "$warning") if lane.thinking else Content("")
        title = Content.assemble(Content.styled(lane.title, "bold"), " · ", lane.model, bolt)
        if title != self._shown_title:
            self.border_title = self._shown_title = title
        parts = [lane.phase_text()]
        tokens_per_s, estimated = lane.rate(now)
        if tokens_per_s is not None:
            parts.append(f"{fmt.rate(tokens_per_s, estimated)} tok/s")
        subtitle = Content(" · ".join(parts))
        if lane.stale_because:
            subtitle = Content.assemble(Content.styled("STALE", "bold $warning"), " · ", subtitle)
        if subtitle != self._shown_subtitle:
            self.border_subtitle = self._shown_subtitle = subtitle
        if lane.status is not self._status:  # a class change restyles the whole panel: rarely
            if self._status is not None:
                self.remove_class(f"-{self._status.value}")
            self.add_class(f"-{lane.status.value}")
            self._status = lane.status

    def set_notes(self, lines: list[str]) -> None:
        """Failed attempts, fallbacks, staleness: shown above the output, never hidden."""
        self._notes.set(lines)
        self._relayout()

    # -- streaming ----------------------------------------------------------------------------

    def begin_attempt(self, attempt: AttemptText) -> None:
        """Show a new attempt; the previous one stays in the lane's history."""
        self._attempt = attempt
        self._taken = (0, 0)
        self._thinking = StreamBlock("thinking")
        self._answer = StreamBlock(markdown=True)
        self._drop_final()
        self.thinking_folded = False
        self._relayout(follow=False)
        self.scroll_to(y=0, animate=False, immediate=True)

    def start_answer(self) -> None:
        """The first answer text of the attempt: fold the thinking away."""
        if self._attempt is not None and self._attempt.thinking.chars:
            self.thinking_folded = True

    def flush(self) -> bool:
        """Lay out the text that arrived since the last flush. False when there was none."""
        attempt = self._attempt
        if attempt is None:
            return False
        took_thinking, took_answer = self._taken
        if took_thinking == attempt.thinking.chars and took_answer == attempt.answer.chars:
            return False
        self._thinking.append(attempt.thinking.since(took_thinking))
        self._answer.append(attempt.answer.since(took_answer))
        self._taken = (attempt.thinking.chars, attempt.answer.chars)
        self.renders += 1
        self._relayout()
        return True

    def end_attempt(self) -> None:
        """The attempt is over: take the rest of its text and render its answer once, whole."""
        self.flush()
        attempt = self._attempt
        if attempt is None:
            return
        if attempt.answer.chars and attempt.answer_text != self._answer.text:
            self._answer = StreamBlock(markdown=True)  # the engine's text replaced the stream
            self._answer.append(attempt.answer_text)
            self._taken = (attempt.thinking.chars, attempt.answer.chars)
        self._render_final(attempt.answer_text)
        self._relayout()

    async def settle(self) -> None:
        """Wait for the final Markdown render in flight, if any (and any that replaced it)."""
        while (job := self._final_job) is not None and not job.is_finished:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await job.wait()

    def show_thinking(self, shown: bool) -> None:
        """Show or hide the thinking (header included): the screen's ``t``."""
        if shown != self.thinking_shown:
            self.thinking_shown = shown
            self._relayout(follow=False)

    def fold_thinking(self, folded: bool) -> None:
        if folded != self.thinking_folded:
            self.thinking_folded = folded
            self._relayout(follow=False)

    # -- final render -----------------------------------------------------------------------

    def _drop_final(self) -> None:
        if self._final_job is not None and not self._final_job.is_finished:
            self._final_job.cancel()
        self._final_job = None
        self._final = self._final_before = None
        self._final_source = None

    def _render_final(self, source: str) -> None:
        """Render ``source`` as Markdown for the current width, unless that is done or under
        way. A panel not laid out yet (or hidden) renders when it gets a size (``on_resize``)."""
        if not source.strip() or len(source) > FINAL_MARKDOWN_MAX_CHARS:
            self._drop_final()  # a huge answer stays as the styled text it streamed as
            return
        width = self._text_width()
        if self._final_source == source and (
            (self._final is not None and self._final.width == width)
            or (
                self._final_job is not None
                and not self._final_job.is_finished
                and self._final_job_width == width
            )
        ):
            return
        before = self._final_before
        if self._final_source == source and before is not None and before.width == width:
            # Back to the width of the render before (f, then f again): swap, do not render.
            self._final, self._final_before = before, self._final
            return
        self._final_source = source
        if self.size.width <= 0:
            return
        self._final_job_width = width
        # The function, not a coroutine made now: a job replaced or cancelled before it starts
        # (a rerun, the app quitting) then leaves no coroutine that was never awaited.
        self._final_job = self.run_worker(
            partial(self._render_in_thread, source, width),
            group=f"final-{self.key}",
            exclusive=True,
            exit_on_error=False,
        )

    async def _render_in_thread(self, source: str, width: int) -> None:
        await _input_idle()
        if source != self._final_source or width != self._text_width():
            return  # replaced while it waited; the newer request renders
        loop = asyncio.get_running_loop()
        styles = self._resolve_styles()
        render = partial(_render_answer, source, width, styles)
        strips = await loop.run_in_executor(_RENDERER, render)
        if source != self._final_source:
            return  # a newer attempt replaced it meanwhile
        following = self.scroll_y >= self.max_scroll_y - 1
        if self._final is not None and self._final.width != width:
            self._final_before = self._final
        self._final = RenderedBlock(width, strips, finished=styles)
        self._relayout(follow=False)
        if following:  # the reader was following the stream: the finished answer from its top
            self.scroll_to(y=0, animate=False, immediate=True)

    # -- layout of the lines --------------------------------------------------------------

    def _text_width(self) -> int:
        return max(self.scrollable_content_region.width, 1)

    def _resolve_styles(self) -> Styles:
        width = self._text_width()
        if self._styles is None or self._styles.width != width:
            kinds = {kind: self.get_component_rich_style(f"panel--{kind}") for kind in _KINDS}
            self._styles = Styles(base=self.rich_style, kinds=kinds, width=width)
            if self._styles != self._painted_with:
                self._painted.clear()
                self._painted_with = self._styles
        return self._styles

    def _blocks(self) -> list[tuple[Block, bool]]:
        """(block, is the thinking header) in display order."""
        blocks: list[tuple[Block, bool]] = []
        if self._notes.lines:
            blocks.append((self._notes, False))
        attempt = self._attempt
        thinking = attempt.thinking.chars if attempt else 0
        if self.thinking_shown and thinking:
            live = attempt is not None and not attempt.over
            arrow = "▸" if self.thinking_folded else "▾"
            self._header.set([f"{arrow} Thinking{'…' if live else ''} · {thinking:,} chars"])
            blocks.append((self._header, True))
            if not self.thinking_folded:
                blocks.append((self._thinking, False))
        if attempt is None:
            blocks.append((self._placeholder, False))
        elif self._final is not None and self._final.width == self._text_width():
            blocks.append((self._final, False))
        elif self._answer.chars:
            blocks.append((self._answer, False))
        elif attempt.over:
            self._placeholder.set([f"(no answer{': ' + attempt.error if attempt.error else ''})"])
            blocks.append((self._placeholder, False))
        else:
            self._placeholder.set(["waiting for the model…" if not thinking else ""])
            if not thinking:
                blocks.append((self._placeholder, False))
        return blocks

    def _relayout(self, *, follow: bool = True) -> None:
        """Rebuild the list of rows; keep following the end if the reader was there."""
        if not self.is_mounted:
            return
        styles = self._resolve_styles()
        width = styles.width
        following = follow and self.scroll_y >= self.max_scroll_y - 1
        spans: list[tuple[int, int, Block]] = []
        count = 0
        self._header_rows = range(0)
        for block, is_header in self._blocks():
            if isinstance(block, RenderedBlock) and block.width != width:
                continue
            rows = block.layout(styles)
            if is_header:
                self._header_rows = range(count, count + rows)
            spans.append((count, rows, block))
            count += rows
        self._spans = spans
        self._row_count = count
        size = Size(width, count)
        if size != self.virtual_size:
            # Not through the reactive: that would ask the whole screen for a layout.
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
        if following and self.max_scroll_y > 0:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        styles = self._styles or self._resolve_styles()
        row = self._row(index)
        if row is None:
            return Strip.blank(styles.width, styles.base)
        if not isinstance(row, tuple):
            return row
        strip = self._painted.get(row)
        if strip is None:  # a line scrolling by is painted once, not at every repaint
            strip = self._painted[row] = styles.paint(row)
        return strip

    def _row(self, index: int) -> Row | None:
        for start, count, block in self._spans:
            if start <= index < start + count:
                return block.row(index - start)
        return None

    # -- events ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._relayout(follow=False)

    def on_resize(self, event: events.Resize) -> None:
        del event
        if self._final_source is not None and self._attempt is not None and self._attempt.over:
            self._render_final(self._final_source)
        self._relayout(follow=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        old = self._styles
        if old is None:
            return
        self._styles = None
        if self.is_mounted and self._resolve_styles() == old:
            return  # a change that moved no colour (focus, most classes): keep every strip
        blocks: list[Block] = [self._notes, self._header, self._thinking, self._answer]
        blocks += [self._placeholder]
        blocks += [b for b in (self._final, self._final_before) if b is not None]
        for block in blocks:
            block.restyle()
        if self.is_mounted:
            self._relayout(follow=False)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if self.scroll_offset.y + offset.y in self._header_rows:
            self.fold_thinking(not self.thinking_folded)


def _render_answer(source: str, width: int, styles: Styles) -> list[Strip]:
    """An answer's final render (in a worker thread): a files manifest as its files, each
    highlighted for its language, not as one JSON string of escaped text."""
    from mao_tui.engine.files import readable_manifests

    return render_markdown(readable_manifests(source), width, styles=styles)
