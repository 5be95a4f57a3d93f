"""One model's live output: a header in the border, notes, collapsible thinking, Markdown answer.

Deltas are only buffered here (plain lists); the screen calls :meth:`ModelPanel.flush` at a
bounded rate. The answer grows with ``Markdown.append`` (one append in flight at a time, so
fragments that arrive meanwhile coalesce into the next one) and is re-rendered whole exactly once,
with ``Markdown.update``, when the attempt ends. While a panel follows a long stream it keeps
only its last blocks mounted (layout cost grows with the blocks on screen). Thinking is plain dim
text, rendered only while it is visible, and only its tail while the model is still thinking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets.markdown import MarkdownBlock

from mao_tui.domain import WorkstreamStatus
from mao_tui.tui import fmt
from mao_tui.tui.state import Lane

THINKING_TAIL_CHARS = 2000  # while live, only the tail of the thinking is laid out
LIVE_MAX_BLOCKS = 40  # a following panel keeps at most this many answer blocks mounted ...
LIVE_KEEP_BLOCKS = 12  # ... dropping all but the last these many when it reaches the maximum


class ThinkingView(Collapsible):
    """A model's thinking: dim italic text in a collapsible section."""

    def __init__(self) -> None:
        self.text = Static(Content(""), classes="thinking-text", markup=False)
        self._quiet_toggles = 0
        super().__init__(self.text, title="Thinking", collapsed=False, classes="thinking -empty")

    def fold(self, collapsed: bool) -> None:
        """Fold or unfold for the program: unlike a user's toggle, this scrolls nothing."""
        if self.collapsed == collapsed:
            return
        if self.is_mounted:
            self._quiet_toggles += 1  # Collapsible scrolls itself into view after a toggle
        self.collapsed = collapsed

    def scroll_visible(self, *args: Any, **kwargs: Any) -> None:
        if self._quiet_toggles:
            self._quiet_toggles -= 1
            return
        super().scroll_visible(*args, **kwargs)

    def show(self, text: str, *, total: int, live: bool) -> None:
        if live and len(text) > THINKING_TAIL_CHARS:
            text = "…" + text[-THINKING_TAIL_CHARS:]
        self.text.update(Content(text))
        self.show_count(total, live=live)

    def show_count(self, total: int, *, live: bool) -> None:
        self.title = f"Thinking{'…' if live else ''} · {total:,} chars"


class ModelPanel(VerticalScroll):
    """The live panel of one lane (a workstream or the synthesis)."""

    ALLOW_MAXIMIZE = True

    def __init__(self, lane: Lane) -> None:
        classes = "model-panel -synthesis" if lane.synthesis else "model-panel"
        super().__init__(id=f"panel-{lane.key}", classes=classes)
        self.key = lane.key
        self.notes = Static(Content(""), classes="notes -empty", markup=False)
        self.thinking = ThinkingView()
        self.window_note = Static(Content(""), classes="window-note -empty", markup=False)
        self.answer = Markdown(classes="answer")
        self._answer_hidden = 0  # characters of the live answer not mounted (see _live_window)
        self.thinking_shown = True  # False while the screen hides all thinking
        self._thinking_parts: list[str] = []
        self._thinking_chars = 0
        self._thinking_stale = False  # buffered thinking not yet on screen
        self._answer_parts: list[str] = []
        self._answer_sent = 0  # how many parts the Markdown widget has been given
        self._attempt_over = True  # no attempt streaming: appends stop, the answer is final
        self._answer_render: AwaitComplete | None = None  # the answer render in flight, if any
        self._note_lines: list[str] = []
        self._status: WorkstreamStatus | None = None

    def compose(self) -> ComposeResult:
        yield self.notes
        yield self.thinking
        yield self.window_note
        yield self.answer

    @property
    def thinking_text(self) -> str:
        """All thinking of the current attempt, rendered or not."""
        return "".join(self._thinking_parts)

    @property
    def answer_text(self) -> str:
        """The answer of the current attempt as received so far, rendered or not."""
        return "".join(self._answer_parts)

    # -- header -------------------------------------------------------------------------------

    def show_lane(self, lane: Lane, now: datetime | None) -> None:
        bolt = Content.styled(" ⚡", "$warning") if lane.thinking else Content("")
        self.border_title = Content.assemble(
            Content.styled(lane.title, "bold"), " · ", lane.model, bolt
        )
        parts = [lane.phase_text()]
        tokens_per_s, estimated = lane.rate(now)
        if tokens_per_s is not None:
            parts.append(f"{fmt.rate(tokens_per_s, estimated)} tok/s")
        self.border_subtitle = Content(" · ".join(parts))
        if lane.status is not self._status:  # a class change restyles the whole panel: rarely
            if self._status is not None:
                self.remove_class(f"-{self._status.value}")
            self.add_class(f"-{lane.status.value}")
            self._status = lane.status

    def add_note(self, line: str) -> None:
        """A failed attempt or a fallback: shown for the rest of the session, never hidden."""
        self._note_lines.append(line)
        self.notes.update(Content("\n".join(self._note_lines)))
        self.notes.remove_class("-empty")

    # -- streaming ----------------------------------------------------------------------------

    def begin_attempt(self) -> None:
        """Clear the previous attempt's output (its failure stays in the notes)."""
        had_answer = bool(self._answer_parts) or bool(self.answer.source)
        self._thinking_parts.clear()
        self._thinking_chars = 0
        self._thinking_stale = False
        self._answer_parts.clear()
        self._answer_sent = 0
        self._answer_hidden = 0
        self.window_note.add_class("-empty")
        self._attempt_over = False
        self.thinking.add_class("-empty")
        self.thinking.fold(False)
        self.thinking.show("", total=0, live=True)
        if had_answer:
            self._queue(lambda: self.answer.update(""))
        self.anchor(False)
        self.scroll_home(animate=False)

    def receive(self, channel: str, text: str) -> None:
        """Buffer one delta; nothing is rendered until the next flush."""
        if self._attempt_over:
            return
        if channel == "thinking":
            self._thinking_parts.append(text)
            self._thinking_chars += len(text)
            self._thinking_stale = True
        else:
            self._answer_parts.append(text)

    def start_answer(self, collapse_thinking: bool) -> None:
        """The first answer text of the attempt: fold the thinking away unless asked not to."""
        if collapse_thinking and self._thinking_chars:
            self.thinking.fold(True)

    def flush(self) -> bool:
        """Render what arrived since the last flush. True if some of it must wait for later."""
        self._follow()
        if self._thinking_stale:
            self._render_thinking(live=not self._attempt_over)
        if self._attempt_over or self._answer_sent == len(self._answer_parts):
            return False
        if self._answer_render is not None and not self._answer_render.is_done:
            return True  # the previous append is still running: coalesce into the next one
        chunk = "".join(self._answer_parts[self._answer_sent :])
        self._answer_sent = len(self._answer_parts)
        window = self._live_window()
        if window is None:
            self._answer_render = self.answer.append(chunk)
        else:
            self._answer_render = self.answer.update(window + chunk)
        return False

    def _live_window(self) -> str | None:
        """A shorter source for the streaming answer once it has grown long, else None.

        Layout and render costs grow with the number of Markdown blocks on the screen, so a
        panel that follows its stream keeps only its last blocks mounted; the whole answer is
        rendered once when the attempt ends. A reader who scrolled up is never cut short.
        """
        blocks = [child for child in self.answer.children if isinstance(child, MarkdownBlock)]
        if len(blocks) <= LIVE_MAX_BLOCKS or self.scroll_y < self.max_scroll_y - 1:
            return None
        source_range = blocks[-LIVE_KEEP_BLOCKS].source_range
        if source_range is None:
            return None
        source = self.answer.source
        lines = source.splitlines(keepends=True)
        window = "".join(lines[source_range[0] :])
        self._answer_hidden += len(source) - len(window)
        self.window_note.update(
            Content(f"⋯ {self._answer_hidden:,} characters above; all shown when complete")
        )
        self.window_note.remove_class("-empty")
        return window

    def end_attempt(self, final_text: str | None = None) -> None:
        """Render the attempt's whole answer once (oterm #308) and its full thinking."""
        text = "".join(self._answer_parts) if final_text is None else final_text
        self._attempt_over = True
        self._answer_hidden = 0
        self.window_note.add_class("-empty")
        self._answer_parts = [text]
        self._answer_sent = 1
        if text != self.answer.source or self._answer_render is not None:
            self._queue(lambda: self.answer.update(text))
        self._render_thinking(live=False)
        self.anchor(False)

    def set_final_answer(self, text: str) -> None:
        """The engine's authoritative final text (synthesis), if it differs from the stream."""
        if text and text != "".join(self._answer_parts):
            self._answer_parts = [text]
            self._answer_sent = 1
            self._queue(lambda: self.answer.update(text))

    async def settle(self) -> None:
        """Wait until every queued answer render has finished."""
        while self._answer_render is not None and not self._answer_render.is_done:
            try:
                await self._answer_render
            except Exception as error:  # shown as a log line, never as a crash of the app
                self.log.error(f"answer render failed: {error!r}")

    def show_thinking(self, shown: bool) -> None:
        """Show or hide the thinking section (a class on it, not on an ancestor: cheap)."""
        self.thinking_shown = shown
        self.thinking.set_class(not shown, "-hidden")
        if shown and self._thinking_stale:
            self._render_thinking(live=not self._attempt_over)

    # -- internals ----------------------------------------------------------------------------

    def _queue(self, render: Callable[[], Awaitable[None]]) -> None:
        """Run ``render`` after the render in flight: Markdown.update must not overlap an append."""
        previous = self._answer_render

        async def run_after() -> None:
            if previous is not None and not previous.is_done:
                try:
                    await previous
                except Exception as error:  # a failed append must not block the final render
                    self.log.error(f"answer render failed: {error!r}")
            await render()

        self._answer_render = AwaitComplete(run_after())

    def _follow(self) -> None:
        """Keep the newest text in view while streaming, once the panel overflows.

        (Textual's anchor on a panel shorter than its content would push the text to the
        bottom, so it is set only once there is something to scroll.)
        """
        if not self._attempt_over and not self.is_anchored and self.max_scroll_y > 0:
            self.anchor()

    def _render_thinking(self, *, live: bool) -> None:
        if not self._thinking_chars:
            return
        self.thinking.remove_class("-empty")
        visible = self.thinking_shown and not self.thinking.collapsed
        if visible:
            self.thinking.show("".join(self._thinking_parts), total=self._thinking_chars, live=live)
            self._thinking_stale = False
        else:
            self.thinking.show_count(self._thinking_chars, live=live)

    @on(Collapsible.Expanded)
    def _expanded(self, event: Collapsible.Expanded) -> None:
        event.stop()
        if self._thinking_stale:
            self._render_thinking(live=not self._attempt_over)
