"""The dashboard screen: plan, fallback log, one live panel per model, synthesis, status.

Contract (after harlequin): the session runs in this screen's worker and never touches a widget;
its sink posts one message per engine event here, and the ``@on`` handlers below own every state
change. Deltas only land in the lanes' models (:mod:`mao_tui.tui.state`); one interval lays out
the panels that changed, at most ``FLUSH_HZ`` times a second and only those on screen, and a
slower one ticks the running clocks. Nothing renders per delta.

The same screen shows a live session (``mao demo``, Home), or a stored one replayed from the
database (review); either way reruns go through the :class:`~mao_tui.tui.backend.SessionControl`
it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from mao_tui.domain import (
    SYNTHESIS_KEY,
    Delta,
    EngineEvent,
    Plan,
    SessionFinished,
    SessionStatus,
    WorkstreamStatus,
)
from mao_tui.domain.errors import ControlError, UsageError
from mao_tui.domain.qa_records import QaReport
from mao_tui.tui import messages as m
from mao_tui.tui.apply_actions import ApplyActions
from mao_tui.tui.backend import Backend, ExportFormat, SessionControl, SessionRunner
from mao_tui.tui.bindings import screen_bindings
from mao_tui.tui.budget_actions import BudgetActions
from mao_tui.tui.state import Lane, SessionClock, SessionView, seconds_between
from mao_tui.tui.widgets.bars import StatusBar, TitleBar
from mao_tui.tui.widgets.fallback_log import FallbackLog
from mao_tui.tui.widgets.footer import QuietFooter
from mao_tui.tui.widgets.panel import ModelPanel
from mao_tui.tui.widgets.plan_table import PlanTable
from mao_tui.tui.widgets.verification import VerificationPane

PLANNING_STEPS = {
    "dependency_check": "Pre-flight: {model} checks that the work can start…",
    "orchestrator": "Planning: the orchestrator ({model}) assigns a model to each workstream…",
}

# Moving in the plan while it is not there yet: held with the steering keys until it is shown.
HELD_NAVIGATION = frozenset(
    {"up", "down", "j", "k", "home", "end", "pageup", "pagedown", "enter", "tab", "shift+tab"}
)

FLUSH_HZ = 10  # screen flushes per second, at most, whatever the delta rate
FLUSH_TURNS = 2  # an unfocused panel is laid out every FLUSH_TURNS flushes (5 Hz), half of them
#                  each time, so that one screen update never repaints every streaming panel
TICK_S = 1.0  # running clocks and live rates
MEDIUM_FROM = 110  # terminal columns: below, one panel at a time (the selected plan row's)
WIDE_FROM = 160  # from here, three panels a row and the full plan table

_FINAL_STATES = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130
_EXIT_CODES = {SessionStatus.DONE: EXIT_OK, SessionStatus.CANCELLED: EXIT_CANCELLED}


class DashboardScreen(BudgetActions, ApplyActions, Screen[None]):
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Textual declares it oddly for mypy)
        (0, "-narrow"),
        (MEDIUM_FROM, "-medium"),
        (WIDE_FROM, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = screen_bindings("dashboard")

    thinking_visible: reactive[bool] = reactive(True)

    def __init__(
        self,
        runner: SessionRunner | None = None,
        *,
        control: SessionControl | None = None,
        app_title: str = "mao",
        simulated: bool = False,
        review: bool = False,
    ) -> None:
        super().__init__(classes="-review" if review else "")
        self.session = SessionView(simulated=simulated, review=review)
        self.clock = SessionClock()
        self.lanes: dict[str, Lane] = {}
        self.panels: dict[str, ModelPanel] = {}
        self.control = control
        self.session_done = asyncio.Event()
        """Set once the end of the (first) run is on screen."""
        self.session_result: SessionFinished | None = None
        self.qa_report: QaReport | None = None  # output kind qa_report: the latest report
        self.session_id = ""
        self.ends = 0  # SessionFinished shown: the first run's, then one per rerun's end
        self._end_shown = asyncio.Event()
        self._runner = runner
        self._worker: Worker[SessionFinished | None] | None = None
        self._sink_finished = False
        self._batch: list[Delta] | None = None  # deltas posted in one message, still open
        self._cancelled_by_user = False
        self._dirty: set[ModelPanel] = set()
        self._current_key = ""
        self._turn = 0
        self._narrow = False
        self._tick_timer: Timer | None = None
        self._focus_before_maximize: Widget | None = None
        self.held_keys: list[str] = []  # pressed while planning, replayed once the plan shows
        self.title_bar = TitleBar(app_title)
        self.plan_table = PlanTable()
        self.fallback_log = FallbackLog()
        self.status_bar = StatusBar()
        self.verification = VerificationPane()
        self.footer = QuietFooter()

    def compose(self) -> ComposeResult:
        yield self.title_bar
        with Vertical(id="body"):
            with Horizontal(id="top"):
                with Vertical(id="plan-pane", classes="pane") as plan_pane:
                    plan_pane.border_title = "Plan"
                    yield self.plan_table
                with Vertical(id="fallback-pane", classes="pane") as fallback_pane:
                    fallback_pane.border_title = "Fallback log"
                    yield self.fallback_log
            with Vertical(id="panels"):
                yield Static("Waiting for the plan…", id="panels-placeholder")
            yield self.verification
        yield self.status_bar
        yield self.footer

    def on_mount(self) -> None:
        self.title_bar.show("", "", self.session.simulated, review=self.session.review)
        self.listen_for_budget()
        self._show_status()
        self.set_interval(1 / FLUSH_HZ, partial(self.flush, every=False), name="flush")
        self._tick_timer = self.set_interval(TICK_S, self._tick, name="tick")
        if self._runner is not None:
            # After the first frame: the session opens the store, starts the simulator and
            # imports the engine, none of which that frame needs.
            self.app.call_after_refresh(self._start_session)

    def _start_session(self) -> None:
        if self._worker is None and self.is_attached:
            self._worker = self.run_worker(
                self._run_session(), name="session", group="session", exit_on_error=False
            )

    def on_resize(self, event: events.Resize) -> None:
        self.plan_table.compact = event.size.width < WIDE_FROM
        narrow = event.size.width < MEDIUM_FROM
        self.footer.narrow = narrow
        if narrow != self._narrow:
            self._narrow = narrow
            self._show_current()

    # -- the session worker -----------------------------------------------------------------

    async def _run_session(self) -> SessionFinished | None:
        assert self._runner is not None
        return await self._runner(self._sink)

    async def _sink(self, event: EngineEvent) -> None:
        """The :data:`EventSink` handed to the runner: post, never block, never touch widgets.

        Deltas that follow each other share one message: the first opens a batch and posts
        it, the next ones join it until it is handled or another event closes it (so every
        event is handled in the order it came)."""
        if isinstance(event, Delta):
            if self._batch is None:
                self._batch = []
                self.post_message(m.Deltas(self._batch))
            self._batch.append(event)
            return
        self._batch = None
        if isinstance(event, SessionFinished):
            self._sink_finished = True
        self.post_message(m.to_message(event))

    @property
    def work_running(self) -> bool:
        """Model work in progress that quitting would cancel."""
        if self._worker is None or self._worker.is_finished:
            return False
        if self.session_result is None:
            return True
        return self.control is not None and self.control.busy

    @property
    def exit_code(self) -> int:
        if self._cancelled_by_user:
            return EXIT_CANCELLED
        if self.session_result is None:
            return EXIT_FAILED
        return _EXIT_CODES.get(self.session_result.status, EXIT_FAILED)

    async def stop_session(self, *, cancelling: bool) -> None:
        """Cancel the worker (and with it any model work) and wait until it has cleaned up."""
        if cancelling:
            self._cancelled_by_user = True
            self.set_cancelling()
        worker = self._worker
        if worker is None or worker.is_finished:
            return
        worker.cancel()
        await _wait_finished(worker)

    async def on_unmount(self) -> None:
        """However the app ends, the session's clean-up (store, simulator, clients) runs."""
        await self.stop_session(cancelling=False)

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker or event.state not in _FINAL_STATES:
            return  # (a late RUNNING may arrive after the worker has already ended)
        event.stop()
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            if not self._sink_finished and isinstance(result, SessionFinished):
                self._sink_finished = True  # the runner returned it without emitting it
                self.post_message(m.SessionFinished(result))
            return
        if self._sink_finished:
            return
        error = event.worker.error
        cancelled = event.state is WorkerState.CANCELLED
        if error is not None:
            self.notify(
                f"{type(error).__name__}: {error}",
                title="Session crashed",
                severity="error",
                timeout=30,
            )
        self._sink_finished = True
        self.post_message(
            m.SessionFinished(
                SessionFinished(
                    session_id=self.session_id or "unknown",
                    status=SessionStatus.CANCELLED if cancelled else SessionStatus.FAILED,
                    totals=self.session.totals.model_copy(),
                    elapsed_s=self.session.elapsed(self.clock.now()) or 0.0,
                    error=None if error is None else f"{type(error).__name__}: {error}",
                )
            )
        )

    # -- keys pressed while planning --------------------------------------------------------

    @property
    def awaiting_plan(self) -> bool:
        """The session runs but its plan is not on screen yet ("Planning…")."""
        return (
            self._runner is not None
            and not self.lanes
            and not self._sink_finished
            and self.session_result is None
        )

    def hold_key(self, key: str) -> bool:
        """While planning, keep a steering or moving key to replay once the plan is shown,
        so that it is neither lost nor applied to a row that is not there yet."""
        if not self.awaiting_plan:
            return False
        if key not in HELD_NAVIGATION and key not in self._bindings.key_to_bindings:
            return False  # quit, help, the palette: at once
        if not self.held_keys:
            self.notify("Planning… the keys apply once the plan is shown.", timeout=3)
        self.held_keys.append(key)
        return True

    def _replay_held_keys(self) -> None:
        keys, self.held_keys = self.held_keys, []
        for key in keys:
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(self.app)
            self.app.post_message(event)

    # -- rendering cadence ------------------------------------------------------------------

    def flush(self, *, every: bool = True) -> None:
        """Lay out the panels on screen that received text since their last layout; from the
        timer (``every=False``), only the focused panel and those whose turn it is."""
        self._turn += 1
        if not self._dirty:
            return
        maximized = self.maximized
        focused = self.focused
        for panel in list(self._dirty):
            if not panel.display or (maximized is not None and maximized is not panel):
                continue  # off screen: its text waits in the model until it is shown
            if not every and panel is not focused and (panel.turn + self._turn) % FLUSH_TURNS:
                continue
            self._lay_out(panel)

    def _lay_out(self, panel: ModelPanel) -> None:
        self._dirty.discard(panel)
        lane = self.lanes.get(panel.key)
        if lane is not None:  # the panel repaints anyway: its live rate comes along
            panel.show_lane(lane, self.clock.now())
        panel.flush()

    def _tick(self) -> None:
        """Running clocks in the plan and the status bar. A streaming panel's live rate is
        updated when it is laid out (:meth:`flush`), not here: a border change repaints a whole
        panel, and doing all of them in one tick made the slowest screen updates of all."""
        now = self.clock.now()
        for lane in self.lanes.values():
            if lane.running:
                self.plan_table.show_lane(lane, now)
                if not lane.live_chars:  # nothing streams yet, so no flush carries it
                    self.panels[lane.key].show_lane(lane, now)
        self._show_status(now)

    async def settle(self) -> None:
        """Lay out everything now and wait for every final render (tests, screenshots)."""
        for panel in self.panels.values():
            self._lay_out(panel)
        for panel in self.panels.values():
            await panel.settle()

    # -- engine events ----------------------------------------------------------------------

    @on(m.SessionStarted)
    def _session_started(self, message: m.SessionStarted) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.session_id = event.session_id
        self.session.command = event.command
        self.session.task = event.task
        self.session.simulated = self.session.simulated or event.simulated
        self.session.started_at = event.at
        self.session.status = "running"
        self.title_bar.show(
            event.command, event.task, self.session.simulated, review=self.session.review
        )
        self._show_status()

    @on(m.PlanReady)
    async def _plan_ready(self, message: m.PlanReady) -> None:
        event = message.event
        self.clock.observe(event.at)
        plan = event.plan
        if self.lanes and set(self.lanes) - {SYNTHESIS_KEY} <= {w.key for w in plan.workstreams}:
            await self._plan_grew(plan)  # a fix round joined the plan: the others stay as they are
            return
        self.session.diversity = plan.diversity
        lanes = [Lane.from_plan(ws) for ws in plan.workstreams]
        lanes.append(Lane.from_plan(plan.synthesis, synthesis=True))
        self.lanes = {lane.key: lane for lane in lanes}
        now = self.clock.now()
        self.plan_table.show_lanes(lanes, now)
        self._show_plan_summary(plan)
        self.panels = {lane.key: ModelPanel(lane, turn=i) for i, lane in enumerate(lanes)}
        container = self.query_one("#panels", Vertical)
        await container.remove_children()
        await container.mount_all(self.panels.values())
        for lane in lanes:
            self.panels[lane.key].show_lane(lane, now)
            self.panels[lane.key].show_thinking(self.thinking_visible)
        self._select(lanes[0].key)
        self._show_current()
        self._show_status(now)
        self._replay_held_keys()

    async def _plan_grew(self, plan: Plan) -> None:
        new = [Lane.from_plan(ws) for ws in plan.workstreams if ws.key not in self.lanes]
        if not new:
            return
        synthesis = self.lanes.pop(SYNTHESIS_KEY)
        self.lanes.update({lane.key: lane for lane in new})
        self.lanes[SYNTHESIS_KEY] = synthesis  # the synthesis row stays last
        now = self.clock.now()
        self.plan_table.show_lanes(list(self.lanes.values()), now)
        container = self.query_one("#panels", Vertical)
        for lane in new:
            panel = self.panels[lane.key] = ModelPanel(lane, turn=len(self.panels))
            await container.mount(panel, before=self.panels[SYNTHESIS_KEY])
            panel.show_lane(lane, now)
            panel.show_thinking(self.thinking_visible)
        self._show_current()
        self._show_status(now)

    def _show_plan_summary(self, plan: Plan) -> None:
        """Who planned, how diverse, and what pre-flight found, on the plan pane's border;
        the whole summary (rationale and every finding) as its tooltip."""
        parts = [f"by {plan.source}"]
        if plan.diversity is not None:
            parts.append(f"diversity {plan.diversity:.2f}")
        warnings = [f for f in plan.findings if f.severity != "info"]
        if warnings:
            parts.append(f"⚠ {len(warnings)} finding{'s' if len(warnings) > 1 else ''}")
        pane = self.query_one("#plan-pane")
        pane.border_subtitle = " · ".join(parts)
        from mao_tui.tui.plan_review import plan_summary  # with the engine's planning: later

        pane.tooltip = plan_summary(plan)

    @on(m.AttemptStarted)
    def _attempt_started(self, message: m.AttemptStarted) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None and event.workstream in PLANNING_STEPS and not self.lanes:
            placeholder = self.query("#panels-placeholder")
            if placeholder:
                placeholder.first(Static).update(
                    PLANNING_STEPS[event.workstream].format(model=event.model)
                )
        if lane is None:
            return
        lane.start_attempt(event)
        panel = self.panels[lane.key]
        assert lane.current is not None
        panel.begin_attempt(lane.current)
        self._dirty.discard(panel)
        synthesis = self.lanes.get(SYNTHESIS_KEY)
        if lane.synthesis:
            lane.stale_because.clear()
            self._show_notes(lane)
        elif (
            synthesis is not None
            and synthesis.history
            and lane.title not in (synthesis.stale_because)
        ):
            synthesis.stale_because.append(lane.title)
            self._show_notes(synthesis)
            self._show_lane(synthesis)
        self._show_lane(lane)
        self._show_status()

    @on(m.Deltas)
    def _deltas(self, message: m.Deltas) -> None:
        if message.events is self._batch:
            self._batch = None  # handled: the next delta starts a new batch
        for event in message.events:
            self._delta(event)

    @on(m.Delta)
    def _one_delta(self, message: m.Delta) -> None:
        self._delta(message.event)

    def _delta(self, event: Delta) -> None:
        lane = self.lanes.get(event.workstream)
        if lane is None or event.attempt_id != lane.attempt_id:
            return  # a late delta of an attempt that has already been replaced
        panel = self.panels[lane.key]
        if lane.receive(event.channel, event.text):
            panel.start_answer()
            panel.show_lane(lane, self.clock.now())
        self._dirty.add(panel)

    @on(m.AttemptFinished)
    def _attempt_finished(self, message: m.AttemptFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.session.totals.add(event.usage)  # planning's attempts too: they have no lane
        lane = self.lanes.get(event.workstream)
        if lane is None:
            self._show_status()
            return
        note = lane.finish_attempt(event)
        if event.attempt_id == lane.attempt_id:
            panel = self.panels[lane.key]
            self._dirty.discard(panel)
            panel.end_attempt()
        if note is not None:
            self._show_notes(lane)
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
        lane = self.lanes.get(event.workstream)
        if lane is not None:
            target = event.to_model or "nothing (chain exhausted)"
            lane.notes.append(f"↪ fallback {event.from_model} → {target} ({event.reason})")
            self._show_notes(lane)
        self._show_status()

    @on(m.Policy)
    def _policy(self, message: m.Policy) -> None:
        event = message.event
        self.clock.observe(event.at)
        offset = seconds_between(self.session.started_at, event.at) or 0.0
        self.fallback_log.add_policy(event, offset)
        lane = self.lanes.get(event.workstream)
        if lane is not None:
            lane.notes.append(f"↻ {event.line}")
            self._show_notes(lane)

    @on(m.WorkstreamFinished)
    def _workstream_finished(self, message: m.WorkstreamFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return
        lane.finish(event.status, event.at, event.model, event.usage)
        if event.detail and event.detail != "cancelled":
            lane.notes.append(f"• {event.detail}")
            self._show_notes(lane)
        self._show_lane(lane)
        self._show_status()

    @on(m.SynthesisFinished)
    def _synthesis_finished(self, message: m.SynthesisFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        lane = self.lanes.get(SYNTHESIS_KEY)
        if lane is None:
            return
        # The event carries this run's usage; the row shows every synthesis run's, like the
        # workstream rows, so it keeps what the attempts already added up.
        lane.finish(event.status, event.at, event.model, None if lane.history else event.usage)
        current = lane.current
        if current is not None and event.text and event.text != current.answer_text:
            current.replace_answer(event.text)  # the engine's authoritative text
            self.panels[lane.key].end_attempt()
        self._show_lane(lane)
        self._show_status()

    @on(m.Workspace)
    def _workspace(self, message: m.Workspace) -> None:
        """Files applied, verification output and results: the Verification pane's."""
        self.show_workspace_event(message.event)

    @on(m.OutputWritten)
    def _output_written(self, message: m.OutputWritten) -> None:
        """A journal entry written to its file: said under the synthesis and as a toast."""
        event = message.event
        lane = self.lanes.get(SYNTHESIS_KEY)
        if lane is not None:
            lane.notes.append(f"{'✗' if event.error else '✓'} {event.line}")
            self._show_notes(lane)
        self.notify(event.line, severity="error" if event.error else "information")

    @on(m.QaReport)
    def _qa_report(self, message: m.QaReport) -> None:
        """A qa session's report: said under the synthesis; opened once by itself, live."""
        event = message.event
        first = self.qa_report is None
        self.qa_report = event.report
        lane = self.lanes.get(SYNTHESIS_KEY)
        if lane is not None:
            lane.notes.append(f"✓ {event.line} (g: the report)")
            self._show_notes(lane)
        self.refresh_bindings()
        if first and not self.session.review and self.app.screen is self:
            self.action_qa_report()
        else:
            self.notify(event.line, title="QA report")

    def on_key(self, event: events.Key) -> None:
        """F while no fix round can run: its binding is hidden, so say why instead of nothing."""
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        if any(b.action == "fix_round" for b in bindings) and not self.check_action(
            "fix_round", ()
        ):
            event.stop()
            self.action_fix_round()  # the session says why not (nothing applied, passed, ...)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "qa_report":
            return self.qa_report is not None  # hidden until a qa session has its report
        if action == "fix_round":  # shown once a verification failed with a round left
            result = self.verification.result
            return result is not None and not result.passed and result.fix_rounds_left > 0
        return True

    def action_qa_report(self) -> None:
        from mao_tui.tui.qa_report import QaReportScreen

        if self.qa_report is None:
            self.notify("This session has no QA report (mao qa makes one).", title="QA report")
            return
        self.app.push_screen(QaReportScreen(self.qa_report, self.session_id))

    @on(m.SessionReopened)
    def _session_reopened(self, message: m.SessionReopened) -> None:
        self.clock.observe(message.event.at)
        self.clock.frozen = False
        self.session.status = "running"
        self.session.reopened_at = message.event.at
        if self._tick_timer is not None:
            self._tick_timer.resume()
        self._show_status()

    @on(m.SessionFinished)
    def _session_finished(self, message: m.SessionFinished) -> None:
        event = message.event
        self.clock.observe(event.at)
        self.clock.frozen = True
        if self._tick_timer is not None:
            self._tick_timer.pause()
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
        self._show_status()
        self.session_result = event
        self._replay_held_keys()  # it ended before a plan (pre-flight blocked it, say)
        # Not awaited here: this screen's queue (its screen updates too) must keep moving while
        # the final answers render.
        self.run_worker(self._end_shown_after_settle(), group="end", exit_on_error=False)

    async def _end_shown_after_settle(self) -> None:
        await self.settle()
        self.ends += 1
        self.session_done.set()
        self._end_shown.set()

    async def ended(self, count: int) -> None:
        """Wait until ``count`` ends of the session are on screen (the first run's is 1)."""
        while self.ends < count:
            self._end_shown.clear()
            await self._end_shown.wait()

    # -- user actions -----------------------------------------------------------------------

    @on(DataTable.RowSelected, "#plan-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        panel = self.panels.get(str(event.row_key.value))
        if panel is not None:
            panel.focus()

    @on(DataTable.RowHighlighted, "#plan-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._select(str(event.row_key.value))

    @on(DataTable.RowSelected, "#fallback-log")
    def _fallback_selected(self, event: DataTable.RowSelected) -> None:
        from mao_tui.tui.dialogs import FallbackDetail

        entry = self.fallback_log.entry(event.cursor_row)
        if entry is not None:
            lane = self.lanes.get(entry.workstream)
            attempt_error = None
            if lane is not None:
                failed = [a for a in lane.history if a.model == entry.from_model and a.error]
                attempt_error = failed[-1].error if failed else None
            self.app.push_screen(FallbackDetail(entry, attempt_error))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if isinstance(widget, ModelPanel):
            self._select(widget.key, move_cursor=True)

    def action_toggle_thinking(self) -> None:
        self.thinking_visible = not self.thinking_visible

    def watch_thinking_visible(self, visible: bool) -> None:
        for panel in self.panels.values():
            panel.show_thinking(visible)

    def action_maximize_panel(self) -> None:
        if self.maximized is not None:
            self._restore()
            return
        panel = self._panel_for_focus()
        if panel is not None:
            # The plan table is hidden while a panel is maximized, and Textual would hand its
            # focus to the last panel (moving the plan's cursor to the synthesis): keys pressed
            # after the restore went to that row. The maximized panel takes the focus instead,
            # and the restore gives it back.
            self._focus_before_maximize = self.focused
            self.maximize(panel, container=False)
            self.set_focus(panel, scroll_visible=False)
            panel.flush()
        elif self.focused is not None:
            self._focus_before_maximize = self.focused
            self.maximize(self.focused)

    def _restore(self) -> None:
        self.minimize()
        self.flush()

    def minimize(self) -> None:
        """Every panel back, the focus where it was before ``f`` (Esc comes here too)."""
        before, self._focus_before_maximize = self._focus_before_maximize, None
        super().minimize()
        if before is not None and before.is_attached and before is not self.focused:
            self.set_focus(before, scroll_visible=False)

    def action_rerun(self) -> None:
        lane = self._selected_lane()
        if lane is None or not self._check_control():
            return
        self._steer(lambda control: control.rerun(lane.key), f"Rerunning {lane.title}…")

    def action_rerun_model(self) -> None:
        from mao_tui.tui.dialogs import ModelPicker

        lane = self._selected_lane()
        if lane is None or not self._check_control():
            return
        assert self.control is not None
        try:
            choices = self.control.model_choices(lane.key)
        except ControlError as exc:  # the session is still starting
            self.notify(str(exc), severity="warning", title="Not now")
            return

        def chosen(model: str | None) -> None:
            if model:
                self._steer(
                    lambda control: control.rerun(lane.key, model),
                    f"Rerunning {lane.title} on {model}…",
                )

        self.app.push_screen(ModelPicker(lane.title, choices), chosen)

    def action_cancel_workstream(self) -> None:
        lane = self._selected_lane()
        if lane is None or not self._check_control():
            return
        assert self.control is not None
        if self.control.cancel(lane.key):
            self.notify(f"Cancelling {lane.title}…", title="Cancel")
        else:
            self.notify(f"{lane.title} has nothing running.", title="Cancel", severity="warning")

    def action_resynthesize(self) -> None:
        if not self._check_control():
            return
        self._steer(lambda control: control.resynthesize(), "Synthesizing again…")

    def action_attempts(self) -> None:
        from mao_tui.tui.dialogs import AttemptsScreen

        lane = self._selected_lane()
        if lane is not None and lane.history:
            self.app.push_screen(AttemptsScreen(lane))
        elif lane is not None:
            self.notify(f"{lane.title} has not run yet.", title="Attempts")

    def action_export(self) -> None:
        from mao_tui.tui.dialogs import ExportDialog

        backend = getattr(self.app, "backend", None)
        if backend is None or not self.session_id:
            self.notify(
                "Export reads the session database; this session is not stored.",
                severity="warning",
            )
            return

        def chosen(choice: tuple[ExportFormat, Path] | None) -> None:
            if choice is not None:
                self.run_worker(self._export(backend, *choice), group="export")

        self.app.push_screen(ExportDialog(self.session_id, backend.export_dir), chosen)

    async def _export(self, backend: Backend, fmt_: ExportFormat, path: Path) -> None:
        try:
            where = await backend.export(self.session_id, fmt_, path)
        except (OSError, ControlError, UsageError) as exc:
            self.notify(str(exc), title="Export failed", severity="error")
        else:
            self.notify(f"Wrote {where}", title="Exported")

    def action_back(self) -> None:
        """Back to the screen below (History, Home); asks first while models are working."""
        from mao_tui.tui.dialogs import Confirm

        if self.maximized is not None:
            self._restore()
            return
        if len(self.app.screen_stack) <= 2:
            return  # the first screen of the app: q quits

        async def leave() -> None:
            await self.stop_session(cancelling=self.work_running)
            self.dismiss()

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(leave(), group="leave")

        if self.work_running:
            self.app.push_screen(
                Confirm("Models are still working here. Cancel them and go back?", yes="Go back"),
                answered,
            )
        else:
            self.run_worker(leave(), group="leave")

    def set_cancelling(self) -> None:
        self.session.status = "cancelling"
        self._show_status()

    # -- helpers ----------------------------------------------------------------------------

    def _check_control(self) -> bool:
        if self.control is None:
            self.notify("This session is a replay: it cannot be steered.", severity="warning")
            return False
        return True

    def _steer(self, act: Callable[[SessionControl], None], note: str) -> None:
        assert self.control is not None
        try:
            act(self.control)
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Not now")
        else:
            self.notify(note)

    def _selected_lane(self) -> Lane | None:
        panel = self._panel_for_focus()
        if panel is not None:
            return self.lanes.get(panel.key)
        if self.plan_table.row_count:
            row_key, _ = self.plan_table.coordinate_to_cell_key(self.plan_table.cursor_coordinate)
            return self.lanes.get(str(row_key.value))
        return None

    def _select(self, key: str, *, move_cursor: bool = False) -> None:
        """Make ``key`` the current lane: its panel is the one shown on narrow screens."""
        if key != self._current_key:
            self._current_key = key
            if self._narrow:
                self._show_current()
        if move_cursor and key in self.lanes:
            index = list(self.lanes).index(key)
            if self.plan_table.cursor_row != index:
                self.plan_table.move_cursor(row=index, animate=False)

    def _show_current(self) -> None:
        """Narrow screens show one panel, the current lane's; wider ones show them all."""
        for key, panel in self.panels.items():
            shown = not self._narrow or key == self._current_key
            if panel.display != shown:
                panel.display = shown
                if shown:
                    panel.flush()

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

    def _show_notes(self, lane: Lane) -> None:
        notes = list(lane.notes)
        if lane.stale_because:
            names = ", ".join(lane.stale_because)
            notes.append(f"⚠ stale: {names} ran again since this synthesis; s synthesizes again")
        self.panels[lane.key].set_notes(notes)

    def _show_lane(self, lane: Lane, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        self.plan_table.show_lane(lane, now)
        self.panels[lane.key].show_lane(lane, now)

    def _show_status(self, now: datetime | None = None) -> None:
        self.status_bar.show(self.session, list(self.lanes.values()), now or self.clock.now())


async def _wait_finished(worker: Worker[SessionFinished | None]) -> None:
    """Wait for a worker to end, whatever its end (``Worker.wait`` raises on error/cancel)."""
    with contextlib.suppress(WorkerCancelled, WorkerFailed):
        await worker.wait()
