"""Every fallback of the session, in order: when, which workstream, from → to, why.

Retries, provider cooldowns and thinking downgrades are logged here too, one row each. Enter on a
row opens its full error (the screen does it, on ``DataTable.RowSelected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, assert_never

from rich.text import Text
from textual.widgets import DataTable

from mao_tui import domain
from mao_tui.tui import fmt

if TYPE_CHECKING:
    from mao_tui.domain import FallbackEvent, PolicyEvent


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


TIME_W, REASON_MIN_W, ROUTE_MIN_W, WORKSTREAM_MAX_W = 6, 6, 12, 14


_COLUMNS = (
    ("time", "Time"),
    ("workstream", "Workstream"),
    ("route", "From → to"),
    ("reason", "Reason"),
)


class FallbackLog(DataTable[Text]):
    """Column widths follow the pane: the reason, then the workstream, get their width first;
    the route (``from → to``) takes what is left, and Enter on a row shows all of it."""

    def __init__(self) -> None:
        super().__init__(id="fallback-log", cursor_type="row", zebra_stripes=False)
        self.entries: list[LogEntry] = []
        self._routes: list[Text] = []
        self._widths: tuple[int, int, int, int] | None = None

    def on_mount(self) -> None:
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def column_widths(self) -> tuple[int, int, int, int]:
        """(time, workstream, route, reason) for the width the table has now."""
        reason = max([REASON_MIN_W, *(len(e.reason) for e in self.entries)])
        workstream = min(
            WORKSTREAM_MAX_W, max([10, *(len(e.workstream_title) for e in self.entries)])
        )
        inner = self.size.width - 2 * self.cell_padding * 4 - 1  # the scrollbar's column
        route = max(ROUTE_MIN_W, inner - TIME_W - workstream - reason)
        return TIME_W, workstream, route, reason

    def _lay_out(self) -> None:
        """Rebuild the columns when their widths change (a resize, a longer reason)."""
        widths = self.column_widths()
        if widths == self._widths:
            return
        self._widths = widths
        cursor = self.cursor_row
        self.clear(columns=True)
        for (key, label), width in zip(_COLUMNS, widths, strict=True):
            self.add_column(Text(label), key=key, width=width)  # a str is markup: emoji table
        for entry, route in zip(self.entries, self._routes, strict=True):
            self._add_row(entry, route)
        if self.row_count:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1), animate=False)

    def add_fallback(self, event: FallbackEvent, offset_s: float) -> None:
        target = event.to_model or "nothing (chain exhausted)"
        route = Text.assemble((event.from_model, "red"), " → ", (target, "green"))
        entry = _entry(event, offset_s, event.from_model, event.reason, event.detail)
        self._add(entry, route)

    def add_policy(self, event: PolicyEvent, offset_s: float) -> None:
        """A retry or cooldown: the same model again (or a provider pausing)."""
        route = Text.assemble((event.model, "yellow"), " ↻")
        detail = ""
        match event:
            case domain.RetryScheduled():
                reason, detail = event.reason, event.detail
            case domain.ProviderCooldown():
                route = Text.assemble((event.provider, "yellow"), f" pauses {event.seconds:.0f}s")
                reason, detail = "rate_limited", event.detail
            case domain.CooldownWait():
                reason = "cooldown"
            case domain.ThinkingDowngraded():
                reason, detail = f"thinking {event.to_setting}", event.detail
            case _:
                assert_never(event)
        self._add(_entry(event, offset_s, event.model, reason, detail), route)

    def _add(self, entry: LogEntry, route: Text) -> None:
        self.entries.append(entry)
        self._routes.append(route)
        if self.column_widths() != self._widths:
            self._lay_out()  # a longer reason: its column grows first
        else:
            self._add_row(entry, route)
        self.move_cursor(row=self.row_count - 1, animate=False)

    def _add_row(self, entry: LogEntry, route: Text) -> None:
        self.add_row(
            Text(fmt.clock(entry.offset_s), style="dim"),
            Text(entry.workstream_title, no_wrap=True, overflow="ellipsis"),
            Text.assemble(route, no_wrap=True, overflow="ellipsis"),
            Text(entry.reason, style="yellow"),
            key=f"log-{self.row_count + 1}",
        )

    def entry(self, row: int) -> LogEntry | None:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    @property
    def lines(self) -> list[str]:
        """The fallbacks as plain text, one ``FallbackEvent.line`` each."""
        return [entry.line for entry in self.entries if entry.kind == "fallback"]


def _entry(
    event: FallbackEvent | PolicyEvent, offset_s: float, from_model: str, reason: str, detail: str
) -> LogEntry:
    """A fallback's row goes to ``event.to_model``; a policy event's goes nowhere."""
    return LogEntry(
        at=event.at,
        offset_s=offset_s,
        workstream=event.workstream,
        workstream_title=event.workstream_title,
        from_model=from_model,
        to_model=event.to_model if isinstance(event, domain.FallbackEvent) else None,
        reason=reason,
        detail=detail,
        line=event.line,
        kind="fallback" if isinstance(event, domain.FallbackEvent) else event.type,
    )
