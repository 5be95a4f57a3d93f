"""The plan: one row per workstream (synthesis last) with model, status and live numbers."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive

from mao_tui.domain import WorkstreamStatus
from mao_tui.tui import fmt
from mao_tui.tui.state import CHARS_PER_TOKEN, Lane
from mao_tui.tui.widgets.row_table import Column, RowTable

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


class PlanTable(RowTable[Lane]):
    """Rows are keyed by lane key; selecting one focuses that lane's panel (the screen does).

    A row's cells are made only when it is drawn after its lane changed: the clock's tick
    touches the running rows alone, and a repaint (a panel restored, a dialog closed) draws
    every other row from what it made before."""

    compact: reactive[bool] = reactive(False, init=False)
    """Fewer columns, for narrow terminals."""

    def __init__(self) -> None:
        super().__init__(self._columns(False, 0), self._row_cells, key=_lane_key, id="plan-table")
        self._lanes: list[Lane] = []
        self._rows: dict[str, int] = {}  # lane key → row
        self._now: datetime | None = None

    @staticmethod
    def _columns(compact: bool, model_w: int) -> tuple[Column, ...]:
        return tuple(
            Column(key, label, max(width, model_w) if key == "model" else width)
            for key, label, width in COLUMNS
            if not compact or key in COMPACT_COLUMNS
        )

    def _row_cells(self, lane: Lane) -> list[Text]:
        cells = lane_cells(lane, self._now)
        return [cells[column.key] for column in self.columns]

    def _model_width(self) -> int:
        """The longest model name a lane runs on or may fall back to: never cut."""
        return max((len(m) for lane in self._lanes for m in [*lane.chain, lane.model]), default=0)

    def on_mount(self) -> None:
        self._rebuild()  # the header, while there is no plan yet

    def watch_compact(self) -> None:
        self._rebuild()

    def show_lanes(self, lanes: list[Lane], now: datetime | None) -> None:
        self._lanes, self._now = lanes, now
        self._rows = {lane.key: row for row, lane in enumerate(lanes)}
        self._rebuild()

    def show_lane(self, lane: Lane, now: datetime | None) -> None:
        row = self._rows.get(lane.key)
        if row is None:
            return
        self._now = now
        self._lanes[row] = lane
        if len(lane.model) > self._shown_model_width():  # a rerun on a model with a longer name
            self._rebuild()
        else:
            self.update_row(row)

    def cell(self, lane_key: str, column: str) -> Text:
        """What the row of ``lane_key`` shows in ``column``."""
        return lane_cells(self._lanes[self._rows[lane_key]], self._now)[column]

    def _shown_model_width(self) -> int:
        return next((c.width or 0 for c in self.columns if c.key == "model"), 0)

    def _rebuild(self) -> None:
        self.columns = self._columns(self.compact, self._model_width())
        self.show(self._lanes, keep_cursor=True)


def _lane_key(lane: Lane) -> str:
    return lane.key
