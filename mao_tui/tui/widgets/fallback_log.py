"""Every fallback of the session, in order: when, which workstream, from → to, why.

Retries, provider cooldowns and thinking downgrades are logged here too, one row each. Enter on a
row opens its full error (the screen does it, on ``DataTable.RowSelected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from mao_tui.domain import (
    CooldownWait,
    FallbackEvent,
    PolicyEvent,
    ProviderCooldown,
    RetryScheduled,
    ThinkingDowngraded,
)
from mao_tui.tui import fmt


@dataclass(frozen=True)
class LogEntry:
    """One row: what happened, and the whole story for the detail view."""

    at: datetime
    offset_s: float
    workstream: str
    workstream_title: str
    from_model: str
    to_model: str | None  # None: the chain was exhausted (fallbacks) or not a fallback
    reason: str
    detail: str
    line: str
    kind: str = "fallback"  # or the policy event's type (retry, cooldown, ...)


class FallbackLog(DataTable[Text]):
    def __init__(self) -> None:
        super().__init__(id="fallback-log", cursor_type="row", zebra_stripes=False)
        self.entries: list[LogEntry] = []

    def on_mount(self) -> None:
        self.add_column("Time", key="time", width=6)
        self.add_column("Workstream", key="workstream", width=14)
        self.add_column("From → to", key="route", width=30)
        self.add_column("Reason", key="reason", width=12)

    def add_fallback(self, event: FallbackEvent, offset_s: float) -> None:
        target = event.to_model or "nothing (chain exhausted)"
        self._add(
            LogEntry(
                at=event.at,
                offset_s=offset_s,
                workstream=event.workstream,
                workstream_title=event.workstream_title,
                from_model=event.from_model,
                to_model=event.to_model,
                reason=event.reason,
                detail=event.detail,
                line=event.line,
            ),
            Text.assemble((event.from_model, "red"), " → ", (target, "green")),
        )

    def add_policy(self, event: PolicyEvent, offset_s: float) -> None:
        """A retry or cooldown: the same model again (or a provider pausing)."""
        route = Text.assemble((event.model, "yellow"), " ↻")
        detail = ""
        match event:
            case RetryScheduled():
                reason, detail = event.reason, event.detail
            case ProviderCooldown():
                route = Text.assemble((event.provider, "yellow"), f" pauses {event.seconds:.0f}s")
                reason, detail = "rate_limited", event.detail
            case CooldownWait():
                reason = "cooldown"
            case ThinkingDowngraded():
                reason, detail = f"thinking {event.to_setting}", event.detail
        self._add(
            LogEntry(
                at=event.at,
                offset_s=offset_s,
                workstream=event.workstream,
                workstream_title=event.workstream_title,
                from_model=event.model,
                to_model=None,
                reason=reason,
                detail=detail,
                line=event.line,
                kind=event.type,
            ),
            route,
        )

    def _add(self, entry: LogEntry, route: Text) -> None:
        self.entries.append(entry)
        self.add_row(
            Text(fmt.clock(entry.offset_s), style="dim"),
            Text(entry.workstream_title),
            route,
            Text(entry.reason, style="yellow"),
            key=f"log-{len(self.entries)}",
        )
        self.move_cursor(row=self.row_count - 1, animate=False)

    def entry(self, row: int) -> LogEntry | None:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    @property
    def lines(self) -> list[str]:
        """The fallbacks as plain text, one ``FallbackEvent.line`` each."""
        return [entry.line for entry in self.entries if entry.kind == "fallback"]
