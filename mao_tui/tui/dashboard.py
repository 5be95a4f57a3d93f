"""The dashboard screen: plan, fallback log, one live panel per model, synthesis, status.

The session sink posts one message per engine event to this screen; the ``@on`` handlers below
own every state change. Deltas are only buffered (see :class:`ModelPanel`); a single interval
flushes the panels that changed, at most ``FLUSH_HZ`` times a second, and a slower one ticks the
running clocks. Nothing re-renders per delta.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from mao_tui.domain import SYNTHESIS_KEY, SessionStatus, WorkstreamStatus
from mao_tui.tui import messages as m
from mao_tui.tui.state import Lane, SessionClock, SessionView, seconds_between
from mao_tui.tui.widgets.bars import StatusBar, TitleBar
from mao_tui.tui.widgets.fallback_log import FallbackLog
from mao_tui.tui.widgets.panel import ModelPanel
from mao_tui.tui.widgets.plan_table import PlanTable

FLUSH_HZ = 10  # panel renders per second, at most, whatever the delta rate
TICK_S = 1.0  # running clocks and live rates
MEDIUM_FROM = 110  # terminal columns: below, everything stacks and the body scrolls
WIDE_FROM = 160  # from here, three panels a row and the full plan table


class DashboardScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Textual declares it oddly for mypy)
        (0, "-narrow"),
        (MEDIUM_FROM, "-medium"),
        (WIDE_FROM, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "toggle_thinking",
            "Thinking",
            id="toggle-thinking",
            tooltip="Show or hide every model's thinking",
        ),
        Binding(
            "f",
            "maximize_panel",
            "Maximize",
            id="maximize-panel",
            tooltip="Maximize the focused panel (or the plan row's); again to restore",
        ),
    ]

    thinking_visible: reactive[bool] = reactive(True)

    def __init__(self, *, app_title: str, simulated: bool) -> None:
        super().__init__(id="dashboard")
        self.session = SessionView(simulated=simulated)
        self.clock = SessionClock()
        self.lanes: dict[str, Lane] = {}
        self.panels: dict[str, ModelPanel] = {}
        self._dirty: set[ModelPanel] = set()
        self._tick_timer: Timer | None = None
        self.title_bar = TitleBar(app_title)
        self.plan_table = PlanTable()
        self.fallback_log = FallbackLog()
        self.status_bar = StatusBar()

    def compose(self) -> ComposeResult:
        yield self.title_bar
        with VerticalScroll(id="body", can_focus=False):
            with Horizontal(id="top"):
                with Vertical(id="plan-pane", classes="pane") as plan_pane:
                    plan_pane.border_title = "Plan"
                    yield self.plan_table
                with Vertical(id="fallback-pane", classes="pane") as fallback_pane:
                    fallback_pane.border_title = "Fallback log"
                    yield self.fallback_log
            with Vertical(id="panels"):
                yield Static("Waiting for the plan…", id="panels-placeholder")
        yield self.status_bar
        yield Footer()

    def on_mount(self) -> None:
        self.title_bar.show("", "", self.session.simulated)
        self._show_status()
        self.set_interval(1 / FLUSH_HZ, self.flush, name="flush")
        self._tick_timer = self.set_interval(TICK_S, self._tick, name="tick")

    def on_resize(self, event: events.Resize) -> None:
        self.plan_table.compact = event.size.width < WIDE_FROM

    # -- rendering cadence ------------------------------------------------------------------

    def flush(self) -> None:
        """Render every panel that received deltas since the last flush."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        for panel in dirty:
            if panel.flush():
                self._dirty.add(panel)

    def _tick(self) -> None:
        now = self.clock.now()
        for lane in self.lanes.values():
            if lane.running:
                self._show_lane(lane, now)
        self._show_status(now)

    async def settle(self) -> None:
        """Flush every buffer now and wait for every queued render (tests, screenshots)."""
        self.flush()
        for panel in self.panels.values():
            await panel.settle()
        self.flush()
        for panel in self.panels.values():
            await panel.settle()

    # -- engine events ----------------------------------------------------------------------

    @on(m.SessionStarted)
    def _session_started(self, message: m.SessionStarted) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.session.command = event.command
        self.session.task = event.task
        self.session.simulated = self.session.simulated or event.simulated
        self.session.started_at = event.at
        self.session.status = "running"
        self.title_bar.show(event.command, event.task, self.session.simulated)
        self._show_status()

    @on(m.PlanReady)
    async def _plan_ready(self, message: m.PlanReady) -> None:
        event = message.event
        self.clock.observe(event.at)
        plan = event.plan
        lanes = [Lane.from_plan(ws) for ws in plan.workstreams]
        lanes.append(Lane.from_plan(plan.synthesis, synthesis=True))
        self.lanes = {lane.key: lane for lane in lanes}
        now = self.clock.now()
        self.plan_table.show_lanes(lanes, now)
        self.panels = {lane.key: ModelPanel(lane) for lane in lanes}
        container = self.query_one("#panels", Vertical)
        await container.remove_children()
        await container.mount_all(self.panels.values())
        for lane in lanes:
            self.panels[lane.key].show_lane(lane, now)
            self.panels[lane.key].show_thinking(self.thinking_visible)
        self._show_status(now)

    @on(m.AttemptStarted)
    def _attempt_started(self, message: m.AttemptStarted) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return
        lane.start_attempt(event)
        panel = self.panels[lane.key]
        panel.begin_attempt()
        self._show_lane(lane)
        self._show_status()

    @on(m.Delta)
    def _delta(self, message: m.Delta) -> None:
        event = message.event
        lane = self.lanes.get(event.workstream)
        if lane is None or event.attempt_id != lane.attempt_id:
            return  # a late delta of an attempt that has already been replaced
        panel = self.panels[lane.key]
        panel.receive(event.channel, event.text)
        if lane.receive(event.channel, event.text):
            panel.start_answer(collapse_thinking=True)
            panel.show_lane(lane, self.clock.now())
        self._dirty.add(panel)

    @on(m.AttemptFinished)
    def _attempt_finished(self, message: m.AttemptFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return
        self.session.totals.add(event.usage)
        panel = self.panels[lane.key]
        note = lane.finish_attempt(event)
        if event.attempt_id == lane.attempt_id:
            self._dirty.discard(panel)
            panel.end_attempt()
        if note is not None:
            panel.add_note(note)
        self._show_lane(lane)
        self._show_status()

    @on(m.Fallback)
    def _fallback(self, message: m.Fallback) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.session.fallbacks += 1
        offset = seconds_between(self.session.started_at, event.at) or 0.0
        self.fallback_log.add_fallback(event, offset)
        self.query_one("#fallback-pane").border_title = f"Fallback log ({self.session.fallbacks})"
        panel = self.panels.get(event.workstream)
        if panel is not None:
            target = event.to_model or "nothing (chain exhausted)"
            panel.add_note(f"↪ fallback {event.from_model} → {target} ({event.reason})")
        self._show_status()

    @on(m.WorkstreamFinished)
    def _workstream_finished(self, message: m.WorkstreamFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return
        lane.finish(event.status, event.at, event.model, event.usage)
        self._show_lane(lane)
        self._show_status()

    @on(m.SynthesisFinished)
    def _synthesis_finished(self, message: m.SynthesisFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(SYNTHESIS_KEY)
        if lane is None:
            return
        lane.finish(event.status, event.at, event.model, event.usage)
        panel = self.panels[lane.key]
        panel.set_final_answer(event.text)
        self._show_lane(lane)
        self._show_status()

    @on(m.SessionFinished)
    def _session_finished(self, message: m.SessionFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.clock.frozen = True
        if self._tick_timer is not None:
            self._tick_timer.stop()
        self.session.status = event.status.value
        self.session.totals = event.totals.model_copy()
        self.session.final_elapsed = event.elapsed_s
        self.session.finished_at = event.at
        self.session.error = event.error
        if event.status is not SessionStatus.DONE:
            for lane in self.lanes.values():
                if lane.status in (WorkstreamStatus.PENDING, WorkstreamStatus.RUNNING):
                    lane.finish(WorkstreamStatus.CANCELLED, event.at, None, None)
                    self.panels[lane.key].end_attempt()
                    self._show_lane(lane)
        self.flush()
        self._show_status()

    # -- user actions -----------------------------------------------------------------------

    @on(DataTable.RowSelected, "#plan-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        panel = self.panels.get(str(event.row_key.value))
        if panel is not None:
            panel.focus()

    def action_toggle_thinking(self) -> None:
        self.thinking_visible = not self.thinking_visible

    def watch_thinking_visible(self, visible: bool) -> None:
        for panel in self.panels.values():
            panel.show_thinking(visible)

    def action_maximize_panel(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        panel = self._panel_for_focus()
        if panel is not None:
            self.maximize(panel, container=False)
        elif self.focused is not None:
            self.maximize(self.focused)

    def set_cancelling(self) -> None:
        self.session.status = "cancelling"
        self._show_status()

    # -- helpers ----------------------------------------------------------------------------

    def _panel_for_focus(self) -> ModelPanel | None:
        focused = self.focused
        if focused is self.plan_table and self.plan_table.row_count:
            row_key, _ = self.plan_table.coordinate_to_cell_key(self.plan_table.cursor_coordinate)
            return self.panels.get(str(row_key.value))
        if focused is None:
            return None
        return next(
            (node for node in focused.ancestors_with_self if isinstance(node, ModelPanel)), None
        )

    def _show_lane(self, lane: Lane, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        self.plan_table.show_lane(lane, now)
        self.panels[lane.key].show_lane(lane, now)

    def _show_status(self, now: datetime | None = None) -> None:
        self.status_bar.show(self.session, list(self.lanes.values()), now or self.clock.now())
