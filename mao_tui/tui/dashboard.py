"""The dashboard screen: plan, fallback log, one live panel per model, synthesis, status.

Contract (after harlequin): the session runs in this screen's worker and never touches a widget
(:mod:`mao_tui.tui.session_run`); its sink posts one message per engine event here. The screen
hands each event to its reducer (:class:`~mao_tui.tui.reducer.DashboardState`), the one place
the session's view state changes, and shows again what the returned
:class:`~mao_tui.tui.reducer.Change` names. Deltas only land in the lanes' text; one interval
has the panels lay out what changed, at most ``FLUSH_HZ`` times a second and only those on
screen (:mod:`mao_tui.tui.widgets.panel_grid`), and a slower one ticks the running clocks.
Nothing renders per delta.

The same screen shows a live session (``mao demo``, Home), or a stored one replayed from the
database (review); either way reruns go through the :class:`~mao_tui.service.ports.SessionControl`
it was given (:mod:`mao_tui.tui.lane_actions`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import Worker

from mao_tui import domain
from mao_tui.service.ports import LandControl, SessionControl, SessionRunner
from mao_tui.tui import messages as m
from mao_tui.tui.apply_actions import ApplyActions
from mao_tui.tui.bindings import screen_bindings
from mao_tui.tui.budget_actions import BudgetActions
from mao_tui.tui.frames import FastFrames, WholeFirstFrame
from mao_tui.tui.lane_actions import LaneActions
from mao_tui.tui.pane_focus import mark_focused_pane
from mao_tui.tui.reducer import Change, DashboardState
from mao_tui.tui.restyle import RestylesWhenStale
from mao_tui.tui.session_run import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, SessionRun
from mao_tui.tui.state import Lane, SessionClock, SessionView
from mao_tui.tui.warm import import_later
from mao_tui.tui.widgets.bars import StatusBar, TitleBar
from mao_tui.tui.widgets.fallback_log import FallbackLog
from mao_tui.tui.widgets.footer import QuietFooter
from mao_tui.tui.widgets.panel import ModelPanel
from mao_tui.tui.widgets.panel_grid import PanelGrid
from mao_tui.tui.widgets.plan_table import PlanTable
from mao_tui.tui.widgets.verification import VerificationPane

if TYPE_CHECKING:  # the events' pydantic models load with the first event, after the first frame
    from mao_tui.domain import Delta, EngineEvent, Plan, SessionFinished
    from mao_tui.domain.qa_records import QaReport

__all__ = ["EXIT_CANCELLED", "EXIT_FAILED", "EXIT_OK", "DashboardScreen"]

FLUSH_HZ = 10  # screen flushes per second, at most, whatever the delta rate
TICK_S = 1.0  # running clocks and live rates
MEDIUM_FROM = 110  # terminal columns: below, one panel at a time (the selected plan row's)
WIDE_FROM = 160  # from here, three panels a row and the full plan table
DIALOG_CSS = ("dialogs.tcss", "help.tcss")  # the picker's, help's and other dialogs' rules


class DashboardScreen(
    FastFrames,
    WholeFirstFrame,
    SessionRun,
    LaneActions,
    ApplyActions,
    BudgetActions,
    RestylesWhenStale,
    Screen[None],
):
    CSS_PATH = Path(__file__).with_name("dashboard.tcss")
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Textual declares it oddly for mypy)
        (0, "-narrow"),
        (MEDIUM_FROM, "-medium"),
        (WIDE_FROM, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = screen_bindings("dashboard")

    thinking_visible: reactive[bool] = reactive(True)
    # Textual's Screen.focused repaints the whole screen at each focus change (~11 ms over seven
    # panels); the widgets whose focus styles change repaint themselves.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

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
        self.state = DashboardState(simulated=simulated, review=review)
        self.control = control
        self.session_done = asyncio.Event()
        """Set once the end of the (first) run is on screen."""
        self.ends = 0  # SessionFinished shown: the first run's, then one per rerun's end
        self._end_shown = asyncio.Event()
        self._runner = runner
        self._worker: Worker[SessionFinished | None] | None = None
        self._sink_finished = False
        self._batch: list[Delta] | None = None
        self._cancelled_by_user = False
        self._tick_timer: Timer | None = None
        self._focus_before_maximize: Widget | None = None
        self._imported_later = False
        self.held_keys: list[str] = []
        self.title_bar = TitleBar(app_title)
        self.plan_table = PlanTable()
        self.fallback_log = FallbackLog()
        self.status_bar = StatusBar()
        self.verification = VerificationPane()
        self.panel_grid = PanelGrid(self.state, id="panels")
        self.footer = QuietFooter()

    # -- the reducer's state, read by the widgets, the app and tests --------------------------

    @property
    def session(self) -> SessionView:
        return self.state.session

    @property
    def lanes(self) -> dict[str, Lane]:
        return self.state.lanes

    @property
    def clock(self) -> SessionClock:
        return self.state.clock

    @property
    def session_id(self) -> str:
        return self.state.session_id

    @property
    def session_result(self) -> SessionFinished | None:
        return self.state.result

    @property
    def qa_report(self) -> QaReport | None:
        return self.state.qa_report

    @property
    def panels(self) -> dict[str, ModelPanel]:
        return self.panel_grid.panels

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
            with self.panel_grid:
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
        self.app.call_after_refresh(self._read_dialog_css)

    def _read_dialog_css(self) -> None:
        """The dialogs' CSS, now (no panel yet) rather than at the first dialog: Textual then
        parses the whole stylesheet again and restyles every node of the app, ~70 ms on a
        finished dashboard, between the key and the dialog."""
        stylesheet = self.app.stylesheet
        paths = [str(Path(__file__).with_name(name)) for name in DIALOG_CSS]
        unread = [path for path in paths if not stylesheet.has_source(path)]
        if unread:
            for path in unread:
                stylesheet.read(path)
            stylesheet.reparse()
            stylesheet.update(self.app)

    def _compositor_refresh(self) -> None:
        """Under a dialog, hand the dialog what changed here, and only that.

        Textual (8.2) also asks for a whole repaint of this screen then, which hands the whole
        screen to the dialog at this screen's next idle, and so on: while models stream (a
        message, then idle, ~20 times a second) the dialog re-rendered the whole dimmed
        dashboard each time (36 times in 1.5 s, ~85% of the loop; keys for the dialog waited).
        Back on top, the screen repaints whole anyway (``Screen._on_screen_resume``)."""
        app = self.app
        if app.is_inline or app.screen is self or self not in app._background_screens:
            super()._compositor_refresh()
            return
        regions = self._compositor._dirty_regions
        if regions:
            self._set_dirty(*regions)
            app.screen.refresh(*regions)
            regions.clear()
        self._dirty_widgets.clear()
        app._update_mouse_over(self)

    def on_resize(self, event: events.Resize) -> None:
        self.plan_table.compact = event.size.width < WIDE_FROM
        narrow = event.size.width < MEDIUM_FROM
        self.footer.narrow = narrow
        self.panel_grid.set_narrow(narrow)

    # -- rendering cadence ------------------------------------------------------------------

    def flush(self, *, every: bool = True) -> None:
        """Lay out the panels that received text (see :meth:`PanelGrid.flush`)."""
        self.panel_grid.flush(every=every)

    def _tick(self) -> None:
        """Running clocks in the plan, the panels and the status bar."""
        now = self.clock.now()
        for lane in self.lanes.values():
            if lane.running:
                self.plan_table.show_lane(lane, now)
        self.panel_grid.tick(now)
        self._show_status(now)

    async def settle(self) -> None:
        """Lay out everything now and wait for every final render (tests, screenshots)."""
        await self.panel_grid.settle()

    # -- engine events: the reducer changes the state, the widgets show what it says ----------

    @on(m.Deltas)
    def _deltas(self, message: m.Deltas) -> None:
        if message.events is self._batch:
            self._batch = None  # handled: the next delta starts a new batch
        apply = self.state.apply
        for event in message.events:
            self._show_streamed(apply(event))

    @on(m.EngineMessage)
    async def _engine_event(self, message: m.EngineMessage) -> None:
        await self.show_event(message.event)

    async def show_event(self, event: EngineEvent) -> None:
        """Apply one engine event to the state and show what changed."""
        if not self._imported_later:
            self._imported_later = True
            # The session has imported its machinery by its first event. Imported on the loop
            # when the plan arrives, the plan's summary (the dialogs, Markdown) stalled it ~60 ms
            # as the panels started to stream; the help, at the first ?.
            import_later("mao_tui.tui.plan_review", "mao_tui.tui.help")
        change = self.state.apply(event)
        if change.streamed is not None:
            self._show_streamed(change)
        if change.plan is not None:
            await self._show_plan(change.plan)
        if change.added:
            await self._show_added(change.added)
        self._show_lanes(change)
        self._show_session(change)
        if change.workspace is not None:
            self.show_workspace_event(change.workspace)
        if change.budget is not None:
            self.show_budget_event(change.budget)
        if change.finished is not None:
            self._show_end()

    def _show_streamed(self, change: Change) -> None:
        if change.streamed is not None:
            self.panel_grid.streamed(change.streamed, answer_started=change.answer_started)

    def _show_lanes(self, change: Change) -> None:
        grid = self.panel_grid
        if change.planning_step is not None:
            grid.show_planning(change.planning_step)
        if change.began is not None:
            grid.begin(change.began)
        for key in change.ended:
            grid.end(key)
        for key in change.notes:
            self.panels[key].set_notes(self.state.notes_shown(self.lanes[key]))
        if change.lanes:
            now = self.clock.now()
            for key in change.lanes:
                self._show_lane(self.lanes[key], now)

    def _show_session(self, change: Change) -> None:
        if change.logged is not None:
            self._show_logged(change)
        if change.ticking is not None and self._tick_timer is not None:
            if change.ticking:
                self._tick_timer.resume()
            else:
                self._tick_timer.pause()
        if change.title:
            session = self.session
            self.title_bar.show(
                session.command, session.task, session.simulated, review=session.review
            )
        if change.status:
            self._show_status()
        if change.output is not None:
            output = change.output
            self.notify(output.line, severity="error" if output.error else "information")
        if change.ledger:
            self.refresh_bindings()
        if change.qa is not None:
            self.refresh_bindings()
            if change.first_qa and not self.session.review and self.app.screen is self:
                self.action_qa_report()
            else:
                self.notify(change.qa.line, title="QA report")

    def _show_logged(self, change: Change) -> None:
        event = change.logged
        if isinstance(event, domain.FallbackEvent):
            self.fallback_log.add_fallback(event, change.log_offset)
            fallbacks = self.session.fallbacks
            self.query_one("#fallback-pane").border_title = f"Fallback log ({fallbacks})"
        elif event is not None:
            self.fallback_log.add_policy(event, change.log_offset)

    async def _show_plan(self, plan: Plan) -> None:
        now = self.clock.now()
        self.plan_table.show_lanes(list(self.lanes.values()), now)
        self._show_plan_summary(plan)
        await self.panel_grid.show_plan(now)
        self._replay_held_keys()

    async def _show_added(self, keys: tuple[str, ...]) -> None:
        """A fix round's lanes: in the plan, and their panels before the synthesis's."""
        now = self.clock.now()
        self.plan_table.show_lanes(list(self.lanes.values()), now)
        await self.panel_grid.add(keys, now)

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
        from mao_tui.tui.plan_review import plan_summary  # imported by then: import_later

        pane.tooltip = plan_summary(plan)

    def _show_end(self) -> None:
        self._replay_held_keys()  # it ended before a plan (pre-flight blocked it, say)
        # Not awaited here: this screen's queue (its screen updates too) must keep moving while
        # the final answers render.
        self._end_shown_after_settle()

    # a worker made by @work: its coroutine starts with it, so an app that quits before it
    # starts (q while models work) leaves no coroutine never awaited
    @work(group="end", exit_on_error=False)
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

    # -- selection and focus ------------------------------------------------------------------

    @on(PlanTable.RowSelected, "#plan-table")
    def _row_selected(self, event: PlanTable.RowSelected) -> None:
        panel = self.panels.get(event.row_key)
        if panel is not None:
            panel.focus()

    @on(PlanTable.RowHighlighted, "#plan-table")
    def _row_highlighted(self, event: PlanTable.RowHighlighted) -> None:
        self._select(event.row_key)

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
        mark_focused_pane(self, ".pane")
        widget = event.widget
        if isinstance(widget, ModelPanel):
            self._select(widget.key, move_cursor=True)

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        mark_focused_pane(self, ".pane")

    def on_key(self, event: events.Key) -> None:
        """F while no fix round can run, L while nothing can land: their bindings are hidden,
        so say why instead of nothing."""
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        for action, say_why in (("fix_round", self.action_fix_round), ("land", self.action_land)):
            if any(b.action == action for b in bindings) and not self.check_action(action, ()):
                event.stop()
                say_why()  # the session says why not (nothing applied, passed, ...)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "qa_report":
            return self.qa_report is not None  # hidden until a qa session has its report
        if action == "ledger":
            return bool(self.state.races)  # shown once a candidate race has ended
        if action == "fix_round":  # shown once a verification failed with a round left
            result = self.verification.result
            return result is not None and not result.passed and result.fix_rounds_left > 0
        if action == "land":  # shown once a worktree session has a commit to land
            control = self.control
            return isinstance(control, LandControl) and bool(control.landable)
        return True

    def _select(self, key: str, *, move_cursor: bool = False) -> None:
        """Make ``key`` the current lane: its panel is the one shown on narrow screens."""
        self.panel_grid.select(key)
        if move_cursor and key in self.lanes:
            index = list(self.lanes).index(key)
            self.plan_table.cursor_row = index

    def _show_lane(self, lane: Lane, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        self.plan_table.show_lane(lane, now)
        self.panels[lane.key].show_lane(lane, now)

    def _show_status(self, now: datetime | None = None) -> None:
        self.status_bar.show(self.session, list(self.lanes.values()), now or self.clock.now())
