"""The mao Textual app: runs one session in a worker and shows it on the dashboard.

Contract (after harlequin): the worker does the session's I/O and never touches a widget; the
sink turns each engine event into a message posted to the dashboard screen, whose ``@on``
handlers own all state changes. Lifecycle messages bubble on to this app, which only tracks the
outcome (exit code, :attr:`MaoApp.session_done`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from mao_tui.domain import EngineEvent, EventSink, SessionFinished, SessionStatus
from mao_tui.tui import messages as m
from mao_tui.tui.dashboard import DashboardScreen

SessionRunner = Callable[[EventSink], Awaitable[SessionFinished]]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 130

_EXIT_CODES: dict[SessionStatus, int] = {
    SessionStatus.DONE: EXIT_OK,
    SessionStatus.CANCELLED: EXIT_CANCELLED,
}


_FINAL_STATES = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class MaoApp(App[int]):
    """``MaoApp(runner, simulated=...)``: ``run()`` returns 0 done, 1 failed, 130 cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "q",
            "quit",
            "Quit",
            id="quit",
            tooltip="Quit; a running session is cancelled first (exit code 130)",
        ),
        Binding("ctrl+c", "quit", "Quit", id="quit-ctrl-c", show=False),
        Binding(
            "question_mark",
            "help",
            "Help",
            id="help",
            key_display="?",
            tooltip="List the key bindings",
        ),
    ]

    def __init__(self, runner: SessionRunner, *, simulated: bool, title: str = "mao") -> None:
        super().__init__()
        self.title = title
        self.simulated = simulated
        self.session_done = asyncio.Event()
        """Set once the session's end is on screen (SessionFinished handled and rendered)."""
        self.session_result: SessionFinished | None = None
        self._runner = runner
        self._app_title = title
        self._dashboard: DashboardScreen | None = None
        self._worker: Worker[SessionFinished] | None = None
        self._session_id = ""
        self._sink_finished = False
        self._quitting = False

    @property
    def dashboard(self) -> DashboardScreen:
        if self._dashboard is None:
            self._dashboard = DashboardScreen(app_title=self._app_title, simulated=self.simulated)
        return self._dashboard

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self._worker = self.run_worker(
            self._run_session(),
            name="session",
            group="session",
            exclusive=True,
            exit_on_error=False,
        )

    # -- the session worker -----------------------------------------------------------------

    async def _run_session(self) -> SessionFinished:
        return await self._runner(self._sink)

    async def _sink(self, event: EngineEvent) -> None:
        """The :data:`EventSink` handed to the runner: post, never block, never touch widgets."""
        if isinstance(event, SessionFinished):
            self._sink_finished = True
        self.dashboard.post_message(m.to_message(event))

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker or event.state not in _FINAL_STATES:
            return  # (a late RUNNING may arrive after the worker has already ended)
        if self._quitting:
            self.exit(EXIT_CANCELLED)
            return
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            if not self._sink_finished and isinstance(result, SessionFinished):
                self._sink_finished = True  # the runner returned it without emitting it
                self.dashboard.post_message(m.SessionFinished(result))
        elif not self._sink_finished:
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
            self.dashboard.post_message(
                m.SessionFinished(
                    SessionFinished(
                        session_id=self._session_id or "unknown",
                        status=SessionStatus.CANCELLED if cancelled else SessionStatus.FAILED,
                        totals=self.dashboard.session.totals.model_copy(),
                        elapsed_s=self.dashboard.session.elapsed(self.dashboard.clock.now()) or 0.0,
                        error=None if error is None else f"{type(error).__name__}: {error}",
                    )
                )
            )

    @on(m.SessionStarted)
    def _session_started(self, message: m.SessionStarted) -> None:
        self._session_id = message.event.session_id

    @on(m.SessionFinished)
    async def _session_finished(self, message: m.SessionFinished) -> None:
        """Bubbled up from the dashboard once it has shown the end of the session."""
        self.session_result = message.event
        await self.dashboard.settle()
        self.session_done.set()

    # -- outcome ----------------------------------------------------------------------------

    @property
    def exit_code(self) -> int:
        if self.session_result is None:
            return EXIT_CANCELLED if self._quitting else EXIT_FAILED
        return _EXIT_CODES.get(self.session_result.status, EXIT_FAILED)

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    # -- actions ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Leave when the session is over; otherwise cancel it and leave once it has stopped."""
        worker = self._worker
        if worker is None or worker.is_finished or self.session_result is not None:
            self.exit(self.exit_code)
            return
        if self._quitting:  # asked twice: do not wait any longer for the runner's cleanup
            self.exit(EXIT_CANCELLED)
            return
        self._quitting = True
        self.dashboard.set_cancelling()
        self.notify("Cancelling the session… press q again to leave at once.", title="Quit")
        worker.cancel()

    def action_help(self) -> None:
        from mao_tui.tui.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        bindings = [
            binding
            for binding in [*self.BINDINGS, *DashboardScreen.BINDINGS]
            if isinstance(binding, Binding) and binding.show
        ]
        self.push_screen(HelpScreen(bindings))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        dashboard = self.dashboard
        yield SystemCommand(
            "Toggle thinking",
            "Show or hide every model's thinking",
            dashboard.action_toggle_thinking,
        )
        yield SystemCommand(
            "Maximize panel",
            "Maximize the focused model panel (or the selected plan row's); again to restore",
            dashboard.action_maximize_panel,
        )
        yield SystemCommand("Help", "List the key bindings", self.action_help)
