"""The dashboard's session worker, as a mixin of :class:`~mao_tui.tui.dashboard.DashboardScreen`.

The session runs in this screen's worker and never touches a widget: its sink posts one message
per engine event (consecutive deltas share one), which the screen hands to its reducer. Here
too: the exit code, stopping the session, and the keys pressed while it plans (held until the
plan is shown, then replayed).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual import events
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from mao_tui import domain
from mao_tui.domain import SessionStatus
from mao_tui.service.ports import SessionControl, SessionRunner
from mao_tui.tui import messages as m
from mao_tui.tui.reducer import DashboardState

if TYPE_CHECKING:
    from textual.screen import Screen

    from mao_tui.domain import Delta, EngineEvent, SessionFinished

    _Base = Screen[None]
else:
    _Base = object

# Moving in the plan while it is not there yet: held with the steering keys until it is shown.
HELD_NAVIGATION = frozenset(
    {"up", "down", "j", "k", "home", "end", "pageup", "pagedown", "enter", "tab", "shift+tab"}
)

_FINAL_STATES = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130
_EXIT_CODES = {SessionStatus.DONE: EXIT_OK, SessionStatus.CANCELLED: EXIT_CANCELLED}


class SessionRun(_Base):
    state: DashboardState
    control: SessionControl | None
    _runner: SessionRunner | None
    _worker: Worker[SessionFinished | None] | None
    _sink_finished: bool
    _batch: list[Delta] | None  # deltas posted in one message, still open
    _cancelled_by_user: bool
    held_keys: list[str]  # pressed while planning, replayed once the plan shows

    if TYPE_CHECKING:  # the screen's

        def set_cancelling(self) -> None: ...

    def _start_session(self) -> None:
        if self._worker is None and self.is_attached:
            self._worker = self.run_worker(
                self._run_session(), name="session", group="session", exit_on_error=False
            )

    async def _run_session(self) -> SessionFinished | None:
        assert self._runner is not None
        return await self._runner(self._sink)

    async def _sink(self, event: EngineEvent) -> None:
        """The :data:`EventSink` handed to the runner: post, never block, never touch widgets.

        Deltas that follow each other share one message: the first opens a batch and posts
        it, the next ones join it until it is handled or another event closes it (so every
        event is handled in the order it came)."""
        if isinstance(event, domain.Delta):
            if self._batch is None:
                self._batch = []
                self.post_message(m.Deltas(self._batch))
            self._batch.append(event)
            return
        self._batch = None
        if isinstance(event, domain.SessionFinished):
            self._sink_finished = True
        self.post_message(m.EngineMessage(event))

    @property
    def work_running(self) -> bool:
        """Model work in progress that quitting would cancel."""
        if self._worker is None or self._worker.is_finished:
            return False
        if self.state.result is None:
            return True
        return self.control is not None and self.control.busy

    @property
    def exit_code(self) -> int:
        if self._cancelled_by_user:
            return EXIT_CANCELLED
        if self.state.result is None:
            return EXIT_FAILED
        return _EXIT_CODES.get(self.state.result.status, EXIT_FAILED)

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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker or event.state not in _FINAL_STATES:
            return  # (a late RUNNING may arrive after the worker has already ended)
        event.stop()
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            if not self._sink_finished and isinstance(result, domain.SessionFinished):
                self._sink_finished = True  # the runner returned it without emitting it
                self.post_message(m.EngineMessage(result))
            return
        if self._sink_finished:
            return
        error = event.worker.error
        if error is not None:
            self.notify(
                f"{type(error).__name__}: {error}",
                title="Session crashed",
                severity="error",
                timeout=30,
            )
        self._sink_finished = True
        self.post_message(m.EngineMessage(self._crashed(error, event.state)))

    def _crashed(self, error: BaseException | None, state: WorkerState) -> SessionFinished:
        """The end of a session whose runner stopped without saying so."""
        session = self.state.session
        cancelled = state is WorkerState.CANCELLED
        return domain.SessionFinished(
            session_id=self.state.session_id or "unknown",
            status=SessionStatus.CANCELLED if cancelled else SessionStatus.FAILED,
            totals=domain.TokenTotals() if session.totals is None else session.totals.model_copy(),
            elapsed_s=session.elapsed(self.state.clock.now()) or 0.0,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )

    # -- keys pressed while planning --------------------------------------------------------

    @property
    def awaiting_plan(self) -> bool:
        """The session runs but its plan is not on screen yet ("Planning…")."""
        return (
            self._runner is not None
            and not self.state.lanes
            and not self._sink_finished
            and self.state.result is None
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


async def _wait_finished(worker: Worker[SessionFinished | None]) -> None:
    """Wait for a worker to end, whatever its end (``Worker.wait`` raises on error/cancel)."""
    with contextlib.suppress(WorkerCancelled, WorkerFailed):
        await worker.wait()
