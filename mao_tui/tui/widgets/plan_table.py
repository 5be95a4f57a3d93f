"""The plan: one row per workstream (synthesis last) with model, status and live numbers."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable

from mao_tui.domain import WorkstreamStatus
from mao_tui.tui import fmt
from mao_tui.tui.state import CHARS_PER_TOKEN, Lane

# (key, label, width): fixed widths, so a cell update never re-measures the table
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("workstream", "Workstream", 14),
    ("model", "Model", 14),  # at least: widened to the longest model a lane may run on
    ("provider", "Provider", 9),
    ("status", "Status", 14),  # "cancelled (12)"
    ("tokens", "Tokens", 11),
    ("rate", "tok/s", 5),
    ("elapsed", "Elapsed", 7),
    ("cost", "Cost", 8),
)

COMPACT_COLUMNS = ("workstream", "model", "status", "tokens", "rate", "cost")  # not -wide

STATUS_STYLE: dict[WorkstreamStatus, str] = {
    WorkstreamStatus.PENDING: "dim",
    WorkstreamStatus.RUNNING: "bold cyan",
    WorkstreamStatus.DONE: "green",
    WorkstreamStatus.FAILED: "bold red",
    WorkstreamStatus.CANCELLED: "yellow",
}


def lane_cells(lane: Lane, now: datetime | None) -> dict[str, Text]:
    usage = lane.usage
    started = lane.first_started_at is not None
    if usage.input_tokens or usage.output_tokens:
        tokens = f"{fmt.count(usage.input_tokens)}→{fmt.count(usage.output_tokens)}"
    elif lane.running and lane.live_chars:
        tokens = f"~{fmt.count(lane.live_chars // CHARS_PER_TOKEN)} out"
    else:
        tokens = "—"
    if not started:
        cost = "—"
    elif lane.running and not usage.cost_usd:
        cost = "…"
    else:
        cost = fmt.cost(usage.cost_usd, usage.cost_complete)
    tokens_per_s, estimated = lane.rate(now)
    title_style = "bold magenta" if lane.synthesis else "bold"
    return {
        "workstream": Text(lane.title, style=title_style),
        "model": Text(lane.model, style="yellow" if lane.attempts > 1 else ""),
        "provider": Text(lane.provider or "—", style="" if lane.provider else "dim"),
        "status": Text(lane.status_text(), style=STATUS_STYLE[lane.status]),
        "tokens": Text(tokens, justify="right"),
        "rate": Text(fmt.rate(tokens_per_s, estimated), justify="right"),
        "elapsed": Text(fmt.duration(lane.elapsed(now)) if started else "—", justify="right"),
        "cost": Text(cost, justify="right"),
    }


class PlanTable(DataTable[Text]):
    """Rows are keyed by lane key; selecting one focuses that lane's panel (the screen does)."""

    compact: reactive[bool] = reactive(False, init=False)
    """Fewer columns, for narrow terminals."""

    def __init__(self) -> None:
        super().__init__(id="plan-table", cursor_type="row", zebra_stripes=True)
        self._lanes: list[Lane] = []
        self._now: datetime | None = None
        self._model_shown_w = 0  # the Model column's width as built

    @property
    def columns_shown(self) -> list[tuple[str, str, int]]:
        columns = [
            (key, label, max(width, self._model_width()) if key == "model" else width)
            for key, label, width in COLUMNS
        ]
        if not self.compact:
            return columns
        return [column for column in columns if column[0] in COMPACT_COLUMNS]

    def _model_width(self) -> int:
        """The longest model name a lane runs on or may fall back to: never cut."""
        return max((len(m) for lane in self._lanes for m in [*lane.chain, lane.model]), default=0)

    def on_mount(self) -> None:
        self._rebuild()

    def watch_compact(self) -> None:
        self._rebuild()

    def show_lanes(self, lanes: list[Lane], now: datetime | None) -> None:
        self._lanes, self._now = lanes, now
        self._rebuild()

    def show_lane(self, lane: Lane, now: datetime | None) -> None:
        if len(lane.model) > self._model_shown_w:  # a rerun on a model with a longer name
            self._now = now
            self._rebuild()
            return
        shown = {key for key, _, _ in self.columns_shown}
        for key, value in lane_cells(lane, now).items():
            if key in shown:
                self.update_cell(lane.key, key, value)

    def _rebuild(self) -> None:
        cursor_row = self.cursor_row
        self.clear(columns=True)
        columns = self.columns_shown
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)
            if key == "model":
                self._model_shown_w = width
        for lane in self._lanes:
            cells = lane_cells(lane, self._now)
            self.add_row(*(cells[key] for key, _, _ in columns), key=lane.key)
        if self.row_count:
            self.move_cursor(row=min(cursor_row, self.row_count - 1), animate=False)
