"""Every fallback of the session, in order: when, which workstream, from → to, why."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from mao_tui.domain import FallbackEvent
from mao_tui.tui import fmt


class FallbackLog(DataTable[Text], can_focus=False):
    """Read-only: not in the focus chain (tab goes from the plan to the panels)."""

    def __init__(self) -> None:
        super().__init__(id="fallback-log", cursor_type="none", show_cursor=False)
        self.events: list[FallbackEvent] = []

    def on_mount(self) -> None:
        self.add_column("Time", key="time", width=6)
        self.add_column("Workstream", key="workstream", width=14)
        self.add_column("From → to", key="route")
        self.add_column("Reason", key="reason")

    def add_fallback(self, event: FallbackEvent, offset_s: float) -> None:
        self.events.append(event)
        target = event.to_model or "nothing (chain exhausted)"
        self.add_row(
            Text(fmt.clock(offset_s), style="dim"),
            Text(event.workstream_title),
            Text.assemble((event.from_model, "red"), " → ", (target, "green")),
            Text(event.reason, style="yellow"),
            key=f"fallback-{self.row_count}",
        )
        self.move_cursor(row=self.row_count - 1)
        self.scroll_end(animate=False)

    @property
    def lines(self) -> list[str]:
        """The log as plain text, one ``FallbackEvent.line`` per fallback."""
        return [event.line for event in self.events]
