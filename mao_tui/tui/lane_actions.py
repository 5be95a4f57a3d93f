"""The dashboard's keys on the selected lane and the session, as a mixin of
:class:`~mao_tui.tui.dashboard.DashboardScreen`: rerun (on the same or another model), cancel,
synthesize again, the attempts, export, the QA report, maximize, thinking shown or not, back.

Steering goes through the :class:`~mao_tui.service.ports.SessionControl` the screen was given; a
replay has none and says so. What the engine does about it comes back as events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual.widget import Widget

from mao_tui.domain.errors import ControlError, UsageError
from mao_tui.service.ports import Backend, ExportFormat, SessionControl
from mao_tui.tui.reducer import DashboardState
from mao_tui.tui.state import Lane
from mao_tui.tui.widgets.panel import ModelPanel
from mao_tui.tui.widgets.panel_grid import PanelGrid
from mao_tui.tui.widgets.plan_table import PlanTable

if TYPE_CHECKING:
    from textual.screen import Screen

    _Base = Screen[None]
else:
    _Base = object


class LaneActions(_Base):
    state: DashboardState
    control: SessionControl | None
    plan_table: PlanTable
    panel_grid: PanelGrid
    thinking_visible: bool
    _focus_before_maximize: Widget | None

    if TYPE_CHECKING:  # the screen's (and its session worker's)

        @property
        def work_running(self) -> bool: ...

        @property
        def panels(self) -> dict[str, ModelPanel]: ...

        async def stop_session(self, *, cancelling: bool) -> None: ...

        def flush(self, *, every: bool = True) -> None: ...

        def _show_status(self, now: datetime | None = None) -> None: ...

    def action_toggle_thinking(self) -> None:
        self.thinking_visible = not self.thinking_visible

    def watch_thinking_visible(self, visible: bool) -> None:
        self.panel_grid.show_thinking(visible)

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

    def _watch_maximized(self, previous: Widget | None, maximized: Widget | None) -> None:
        """Textual's own watcher, restyling only what its classes style.

        Textual sets ``-maximized-view`` on the screen and ``-maximized`` on the widget, and a
        class change restyles the node's whole subtree: every panel and its Markdown blocks,
        about 130 rules applications a press. Only three nodes have rules on these classes
        (``Screen.-maximized-view`` and the ``.-maximized`` inside it, in App.DEFAULT_CSS; none
        of them inherited), so only those are restyled.

        A maximized model panel fills the screen, so the screen's rules change nothing there
        but its hatch and align, which Textual applies by repainting every node below it (the
        whole dashboard's strips rendered again at each restore): a panel is maximized and
        restored without them. The ``.-maximized`` rule applies only inside the view, so the
        panel's class changes nothing either, and the panel is not restyled (with the eight
        nodes Textual makes for its component classes, and its painted lines)."""
        restyled: list[Widget | Screen[None]] = []
        had_view = self.has_class("-maximized-view")
        view = maximized is not None and not isinstance(maximized, ModelPanel)
        if had_view != view:
            self.set_class(view, "-maximized-view", update=False)
            restyled.append(self)
        if previous is not None:
            previous.remove_class("-maximized", update=False)
            if had_view:
                restyled.append(previous)
        if maximized is not None:
            maximized.add_class("-maximized", update=False)
            if view:
                restyled.append(maximized)
        if restyled:
            self.app.stylesheet.update_nodes(restyled, animate=True)

    def _restore(self) -> None:
        """Every panel back. Those that got text while hidden lay it out at their next flush
        turns (within 2 / FLUSH_HZ s), not in the restore's frame: 3-7 panels, ~11 ms of it."""
        self.minimize()

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
        from mao_tui.tui.dialogs import model_picker

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

        picker = model_picker(self.app)
        self.app.push_screen(picker.offer(lane.title, choices), chosen)

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

    def action_compare(self) -> None:
        from mao_tui.tui.compare_screen import CompareScreen, answers

        lane = self._selected_lane()
        if lane is None:
            return
        if lane.synthesis or len(answers(lane)) < 2:
            self.notify(
                f"{lane.title} has {len(answers(lane))} answer(s): compare needs two "
                "(m reruns it on another model, R races it).",
                title="Compare",
            )
            return
        self.app.push_screen(CompareScreen(lane, self.control, self.action_resynthesize))

    def action_race(self) -> None:
        from mao_tui.service.ports import EnsembleControl
        from mao_tui.tui.race_dialog import RaceDialog

        lane = self._selected_lane()
        if lane is None or not self._check_control():
            return
        control = self.control
        if lane.synthesis or not isinstance(control, EnsembleControl):
            self.notify("Only a workstream races.", title="Race", severity="warning")
            return

        def chosen(count: int | None) -> None:
            if count:
                self._steer(
                    lambda _: control.race(lane.key, count),
                    f"Racing {lane.title} on {count} candidates…",
                )

        self.app.push_screen(RaceDialog(lane.title), chosen)

    def action_qa_report(self) -> None:
        from mao_tui.tui.qa_report import QaReportScreen

        if self.state.qa_report is None:
            self.notify("This session has no QA report (mao qa makes one).", title="QA report")
            return
        self.app.push_screen(QaReportScreen(self.state.qa_report, self.state.session_id))

    def action_ledger(self) -> None:
        from mao_tui.tui.ledger_screen import LedgerScreen

        state = self.state
        races = list(state.races.values())
        self.app.push_screen(LedgerScreen(races, state.provenance, state.session_id[:12]))

    def action_export(self) -> None:
        from mao_tui.tui.dialogs import ExportDialog

        backend = getattr(self.app, "backend", None)
        if backend is None or not self.state.session_id:
            self.notify(
                "Export reads the session database; this session is not stored.",
                severity="warning",
            )
            return

        def chosen(choice: tuple[ExportFormat, Path] | None) -> None:
            if choice is not None:
                self.run_worker(self._export(backend, *choice), group="export")

        self.app.push_screen(ExportDialog(self.state.session_id, backend.export_dir), chosen)

    async def _export(self, backend: Backend, fmt_: ExportFormat, path: Path) -> None:
        try:
            where = await backend.export(self.state.session_id, fmt_, path)
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
        if len(self.app.screen_stack) == 1:
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
        if self.state.cancelling().status:
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
            return self.state.lanes.get(panel.key)
        key = self.plan_table.cursor_key
        return None if key is None else self.state.lanes.get(key)

    def _panel_for_focus(self) -> ModelPanel | None:
        focused = self.focused
        if focused is self.plan_table and self.plan_table.cursor_key is not None:
            return self.panels.get(self.plan_table.cursor_key)
        if focused is None:
            return None
        return next(
            (node for node in focused.ancestors_with_self if isinstance(node, ModelPanel)), None
        )
