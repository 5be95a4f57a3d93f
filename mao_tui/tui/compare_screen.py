"""Compare side by side (``c`` on a dashboard row): two answers of one workstream, its attempts
or the candidates of a race, with their differences highlighted line by line.

Both sides are rows of one table, aligned by the diff (a filler where one side has lines the
other does not), so they scroll together: a line and its counterpart stay side by side. ``]``
and ``[`` cycle the pairs when there are more than two answers; ``1`` and ``2`` pick the left
or the right one as the workstream's output, the one the synthesis is given (after a synthesis
has run, the screen offers to synthesize again). Model output is shown as Text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from mao_tui.domain import AttemptStatus
from mao_tui.domain.errors import ControlError
from mao_tui.service.ports import EnsembleControl, SessionControl
from mao_tui.tui import fmt
from mao_tui.tui.diff_rows import DiffRow, changed_spans, diff_rows, summary
from mao_tui.tui.state import AttemptText, Lane

STYLES: dict[str, Style] = {
    "same": Style(),
    "changed": Style(bgcolor="#3a3410"),
    "removed": Style(bgcolor="#4a1c22"),
    "added": Style(bgcolor="#16402a"),
    "filler": Style(color="#555555"),
    "inline": Style(bgcolor="#7a6a10", bold=True),  # the characters that differ
}
MARKS = {"same": " ", "changed": "~", "removed": "-", "added": "+"}


def answers(lane: Lane) -> list[AttemptText]:
    """The attempts of ``lane`` that answered: what can be compared and picked."""
    return [a for a in lane.history if a.status is AttemptStatus.OK and a.answer.chars]


def header(attempt: AttemptText, lane: Lane, side: str) -> Text:
    """Model, attempt or candidate number, status, cost, verification, and whether the
    synthesis uses it."""
    what = f"attempt {attempt.attempt_no}"
    if attempt.candidate:
        what = f"candidate #{attempt.candidate} ({what})"
    text = Text.assemble(
        (f"{side} ", "dim"),
        (attempt.model, "bold"),
        f" · {what} · {attempt.status.value} · ",
        fmt.cost(attempt.usage.cost_usd, attempt.usage.cost_complete),
    )
    if attempt.check:
        text.append(f" · {attempt.check}")
    if attempt.attempt_id == lane.used:
        text.append("  ✓ selected", style="bold green")  # the synthesis's input
    return text


def laid_out(rows: list[DiffRow], width: int, console: Console) -> tuple[Text, list[int]]:
    """The rows side by side in ``width`` cells, each side wrapped to its half and padded to
    the other's height (so a line and its counterpart stay level); and the first line of
    every row."""
    half = max((width - 5) // 2, 10)  # a mark and a space on each side, a gap between
    lines: list[Text] = []
    starts: list[int] = []
    for row in rows:
        spans: tuple[list[tuple[int, int]], ...] = ([], [])
        if row.kind == "changed" and row.left is not None and row.right is not None:
            spans = changed_spans(row.left, row.right)
        sides = [
            _side(line, row.kind, half, console, where)
            for line, where in zip((row.left, row.right), spans, strict=True)
        ]
        height = max(len(wrapped) for _, wrapped in sides)
        starts.append(len(lines))
        for i in range(height):
            cells = []
            for mark, side in sides:
                body = side[i] if i < len(side) else Text("")
                body.truncate(half, overflow="crop", pad=True)
                cells += [mark if i == 0 else Text(" "), Text(" "), body]
            lines.append(Text.assemble(*cells[:3], Text(" "), *cells[3:]))
    return Text("\n", no_wrap=True).join(lines), starts


def _side(
    line: str | None, kind: str, half: int, console: Console, spans: list[tuple[int, int]]
) -> tuple[Text, list[Text]]:
    if line is None:
        return Text(" "), [Text("╱" * 3, style=STYLES["filler"])]
    style = STYLES[kind]
    text = Text(line, style=style)
    for start, end in spans:
        text.stylize(STYLES["inline"], start, end)
    wrapped = list(text.wrap(console, half, overflow="fold")) or [Text("")]
    for part in wrapped:
        part.stylize_before(style)
    return Text(MARKS[kind], style=style), wrapped


class CompareScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_name("compare_screen.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="compare-close"),
        Binding("right_square_bracket", "cycle(1)", "Next pair", id="compare-next"),
        Binding("left_square_bracket", "cycle(-1)", "Previous pair", id="compare-previous"),
        Binding("n", "change(1)", "Next change", id="compare-next-change"),
        Binding("N", "change(-1)", "Previous change", id="compare-previous-change"),
        Binding("1", "pick(0)", "Use left", id="compare-pick-left"),
        Binding("2", "pick(1)", "Use right", id="compare-pick-right"),
    ]

    def __init__(
        self,
        lane: Lane,
        control: SessionControl | None,
        resynthesize: Callable[[], None],
    ) -> None:
        super().__init__(id="compare")
        self.lane = lane
        self._control = control
        self._resynthesize = resynthesize
        self.entries = answers(lane)
        self.pairs = list(combinations(range(len(self.entries)), 2))
        self.pair = self._first_pair()
        self.rows: list[DiffRow] = []
        self.starts: list[int] = []  # the first line of each row, as laid out
        self._width = 0

    def _first_pair(self) -> int:
        """The answer in use against the latest other one (an `m` rerun: old against new)."""
        used = next((i for i, a in enumerate(self.entries) if a.attempt_id == self.lane.used), None)
        if used is None:
            return len(self.pairs) - 1
        other = max(i for i in range(len(self.entries)) if i != used)
        return self.pairs.index((min(used, other), max(used, other)))

    @property
    def shown(self) -> tuple[AttemptText, AttemptText]:
        left, right = self.pairs[self.pair]
        return self.entries[left], self.entries[right]

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-title")
        with Horizontal(id="compare-headers"):
            yield Static("", id="compare-left-header")
            yield Static("", id="compare-right-header")
        with VerticalScroll(id="compare-scroll"):
            yield Static("", id="compare-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.show_pair()
        self.query_one("#compare-scroll").focus()

    def show_pair(self, *, to_change: bool = True) -> None:
        left, right = self.shown
        self.rows = diff_rows(left.answer_text, right.answer_text)
        title = Text.assemble(
            (self.lane.title, "bold"),
            f" · {len(self.entries)} answers, pair {self.pair + 1} of {len(self.pairs)} · ",
            (summary(self.rows).line, "italic"),
            ("  (n/N: next/previous change)", "dim"),
        )
        self.query_one("#compare-title", Static).update(title)
        self.query_one("#compare-left-header", Static).update(header(left, self.lane, "1"))
        self.query_one("#compare-right-header", Static).update(header(right, self.lane, "2"))
        self._lay_out()
        if to_change:
            self.call_after_refresh(self.action_change, 1, True)

    def _lay_out(self) -> None:
        scroll = self.query_one("#compare-scroll", VerticalScroll)
        width = scroll.scrollable_content_region.width or self.app.size.width - 2
        text, self.starts = laid_out(self.rows, width, self.app.console)
        self.query_one("#compare-diff", Static).update(text)
        self._width = width

    def on_resize(self) -> None:
        scroll = self.query_one("#compare-scroll", VerticalScroll)
        if self.rows and scroll.scrollable_content_region.width != self._width:
            self._lay_out()

    def action_change(self, step: int, first: bool = False) -> None:
        """Scroll to the next (or previous) group of changed lines; ``first``: the first one."""
        scroll = self.query_one("#compare-scroll", VerticalScroll)
        changes = [
            y
            for i, (row, y) in enumerate(zip(self.rows, self.starts, strict=True))
            if row.kind != "same" and (i == 0 or self.rows[i - 1].kind == "same")
        ]
        if not changes:
            return
        now = -1 if first else round(scroll.scroll_y)
        ahead = [y for y in changes if y > now] if step > 0 else [y for y in changes if y < now]
        target = (ahead[0] if step > 0 else ahead[-1]) if ahead else changes[0 if step > 0 else -1]
        scroll.scroll_to(y=max(target - 2, 0), animate=False)

    def action_cycle(self, step: int) -> None:
        self.pair = (self.pair + step) % len(self.pairs)
        self.show_pair()

    def action_pick(self, side: int) -> None:
        chosen = self.shown[side]
        control = self._control
        if not isinstance(control, EnsembleControl):
            self.notify("This session is a replay: it cannot be steered.", severity="warning")
            return
        if chosen.attempt_id == self.lane.used:
            self.notify(f"The synthesis already uses {chosen.model}'s answer.", title="Pick")
            return
        self._pick(control, chosen)

    @work(group="pick", exclusive=True)
    async def _pick(self, control: EnsembleControl, chosen: AttemptText) -> None:
        from mao_tui.tui.dialogs import Confirm

        try:
            picked = await control.pick(
                self.lane.key,
                chosen.attempt_id,
                chosen.attempt_no,
                chosen.model,
                chosen.answer_text,
                chosen.candidate,
            )
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Not now")
            return
        self.lane.used = chosen.attempt_id  # the event says so too; shown at once here
        self.show_pair()
        if not picked.synthesized:
            self.notify(f"The synthesis will use {chosen.model}'s answer.", title="Picked")
            return
        question = f"The synthesis ran on another answer. Synthesize again with {chosen.model}'s?"
        if await self.app.push_screen_wait(Confirm(question, yes="Synthesize again", no="Later")):
            self._resynthesize()

    def action_close(self) -> None:
        self.dismiss(None)
