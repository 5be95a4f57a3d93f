"""The one-line bars: the title (with the SIMULATED badge) and the session status."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from mao_tui.tui import fmt
from mao_tui.tui.state import CHARS_PER_TOKEN, NO_USAGE, Lane, SessionView


class TitleBar(Horizontal):
    """``mao · develop · <task>`` and, for a simulated run, a badge that cannot be missed."""

    def __init__(self, app_title: str) -> None:
        super().__init__(id="title-bar")
        self._app_title = app_title
        self.title = Static(Content(f"{app_title} · starting…"), id="title", markup=False)
        self.review_badge = Static(Content(" REVIEW "), id="review-badge", markup=False)
        self.badge = Static(Content(" SIMULATED "), id="badge", markup=False)

    def compose(self) -> ComposeResult:
        yield self.title
        yield self.review_badge
        yield self.badge

    def show(self, command: str, task: str, simulated: bool, *, review: bool = False) -> None:
        parts = [self._app_title]
        if command and not self._app_title.endswith(command):  # title="mao · develop" is fine
            parts.append(command)
        if task:
            parts.append(" ".join(task.split()))
        self.title.update(Content(" · ".join(parts)), layout=False)
        self.set_class(simulated, "-simulated")
        self.set_class(review, "-review")


class StatusBar(Static):
    """Elapsed time, token totals, cost and progress of the whole session."""

    def __init__(self) -> None:
        super().__init__(Content("starting…"), id="status-bar", markup=False)

    def show(self, session: SessionView, lanes: list[Lane], now: datetime | None) -> None:
        totals = NO_USAGE if session.totals is None else session.totals
        finished = sum(1 for lane in lanes if lane.phase == "finished")
        # Live, like the plan's rows: what has streamed and is not yet in a reported usage.
        streaming = sum(lane.live_chars for lane in lanes if lane.running) // CHARS_PER_TOKEN
        cost = fmt.cost(totals.cost_usd)
        if not totals.cost_complete:
            cost += " + cost unknown"
        if session.budget_usd is not None:
            cost += f" / {fmt.cost(session.budget_usd)} budget"
        pieces: list[Content] = [
            Content.styled(f" {session.status} ", _STATUS_STYLE.get(session.status, "bold"))
        ]
        if session.simulated:
            pieces.append(Content.styled(" SIMULATED", "bold $warning"))
        # What carries meaning first: a narrow terminal cuts the end of the line.
        facts = [fmt.duration(session.elapsed(now)), cost]
        if lanes:
            facts.append(f"{finished}/{len(lanes)} finished")
        facts.append(f"{session.fallbacks} fallback{'' if session.fallbacks == 1 else 's'}")
        facts += [
            f"in {fmt.count(totals.input_tokens)}",
            f"out ~{fmt.count(totals.output_tokens + streaming)}"
            if streaming
            else f"out {fmt.count(totals.output_tokens)}",
            f"thinking {fmt.count(totals.thinking_tokens)}",
        ]
        if session.diversity is not None:
            facts.append(f"diversity {session.diversity:.2f}")
        pieces.append(Content("  " + " · ".join(facts)))
        if session.error:
            pieces.append(Content.styled(f" · {session.error}", "$error"))
        self.update(Content.assemble(*pieces), layout=False)  # one fixed line: no layout


_STATUS_STYLE = {
    "starting": "bold $text-muted",
    "running": "bold $background on $accent",
    "done": "bold $background on $success",
    "failed": "bold $background on $error",
    "cancelled": "bold $background on $warning",
    "interrupted": "bold $background on $warning",
    "cancelling": "bold $background on $warning",
}
