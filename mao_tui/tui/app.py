"""The mao Textual app: Home, dashboards (live or review), History, Help.

``MaoApp(runner, simulated=...)`` opens a dashboard on one session at once (``mao demo``,
``mao develop``); ``MaoApp(backend=...)`` opens Home (``mao`` with no arguments). Each dashboard
runs its session in its own worker (see :mod:`mao_tui.tui.dashboard`); this app only navigates,
quits (asking first while models are working) and reports the exit code of the session it was
started on: 0 done, 1 failed, 130 cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen

from mao_tui.service.ports import Backend, LiveSession, SessionControl, SessionRunner
from mao_tui.tui import collector, kept_css
from mao_tui.tui.bindings import SPECS, screen_bindings
from mao_tui.tui.messages import OpenReview, OpenSession
from mao_tui.tui.startup import watch_first_paint

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.notifications import SeverityLevel

    from mao_tui.domain import SessionFinished
    from mao_tui.tui.backend_screen import BackendScreen
    from mao_tui.tui.dashboard import DashboardScreen

__all__ = ["MaoApp", "SessionRunner"]


class MaoApp(App[int]):
    """``run()`` returns 0 done, 1 failed, 130 cancelled (for the session it opened with)."""

    BINDINGS: ClassVar[list[BindingType]] = screen_bindings("app")
    ENABLE_COMMAND_PALETTE = True
    # Its first screen (Home or a dashboard) is the screen stack's base: Textual's blank default
    # screen under it was styled, laid out and resumed before every first frame (~8 ms).
    DEFAULT_MODE = "mao"

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Plain text, whatever the caller says: mao's notifications carry error messages, paths,
        search text and model names, in which a bracket is text (as markup, ``[/x]`` crashed)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        """Textual's answer to ctrl+c (which no longer quits), in plain text like every other."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return

    def __init__(
        self,
        runner: SessionRunner | None = None,
        *,
        simulated: bool = False,
        title: str = "mao",
        control: SessionControl | None = None,
        backend: Backend | None = None,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.stylesheet = kept_css.kept_stylesheet(self.get_css_variables())
        self.title = title
        self.simulated = simulated
        self.backend = backend
        self._keymap = dict(keymap or {})
        self._primary: DashboardScreen | None = None
        if runner is not None:
            from mao_tui.tui.dashboard import DashboardScreen

            self._primary = DashboardScreen(
                runner, control=control, app_title=title, simulated=simulated
            )
        if runner is not None or backend is not None:
            self.add_mode(self.DEFAULT_MODE, self._first_screen)
        self._quitting = False
        self._cancelled_work = False
        self._key_hold = collector.KeyHold()

    # -- the session the app was opened on (tests, exit code) -------------------------------

    @property
    def dashboard(self) -> DashboardScreen:
        if self._primary is None:
            raise LookupError("this app was opened on Home, not on a session")
        return self._primary

    @property
    def session_done(self) -> asyncio.Event:
        """Set once the first run's end is on screen."""
        return self.dashboard.session_done

    @property
    def session_result(self) -> SessionFinished | None:
        return self.dashboard.session_result

    @property
    def running(self) -> bool:
        """Model work is in progress in some open dashboard."""
        return any(d.work_running for d in self.dashboards)

    @property
    def dashboards(self) -> list[DashboardScreen]:
        stack = [s for s in self.screen_stack if _is_dashboard(s)]
        if self._primary is not None and self._primary not in stack:
            stack.insert(0, self._primary)
        return stack

    @property
    def exit_code(self) -> int:
        if self._primary is not None:
            return self._primary.exit_code
        return _EXIT_CANCELLED if self._cancelled_work else _EXIT_OK

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)) and _DASHBOARD in sys.modules:
            from mao_tui.tui.widgets.panel import note_input

            note_input()  # final Markdown renders wait until the user pauses
        if isinstance(event, events.Key):
            self._key_hold.key()  # no collection before the key's frame
        if isinstance(event, events.Key) and self.screen_stack:
            screen = self.screen
            if _is_dashboard(screen) and screen.hold_key(event.key):
                return  # planning: the screen replays it once the plan is shown
        await super().on_event(event)

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        if driver.__module__ == "textual.drivers.linux_driver":  # not Windows, web, TEXTUAL_DRIVER
            from mao_tui.tui.terminal_input import Driver as EscapeDriver

            return EscapeDriver
        return driver

    def _first_screen(self) -> Screen[Any]:
        if self._primary is not None:
            return self._primary
        from mao_tui.tui.home import HomeScreen

        assert self.backend is not None
        return HomeScreen(self.backend)

    def on_mount(self) -> None:
        collector.tune()
        _quit_on_sigterm(self)
        if self._keymap:
            self.set_keymap(self._keymap)
        watch_first_paint(self)  # "started in N ms" (mao_tui/tui/startup.py)
        self.call_after_refresh(self._keep_css)  # a start that is killed later still counts

    def _keep_css(self) -> None:
        if isinstance(self.stylesheet, kept_css.KeptStylesheet):  # not after a CSS file reload
            self.stylesheet.kept.save()

    def on_unmount(self) -> None:
        self._key_hold.release()  # the process (a test run) goes on without this app
        self._keep_css()

    # -- navigation ---------------------------------------------------------------------------

    @on(OpenSession)
    def _open_session_asked(self, message: OpenSession) -> None:
        self.open_session(message.session, message.title, simulated=message.simulated)

    @on(OpenReview)
    def _open_review_asked(self, message: OpenReview) -> None:
        self.open_review(message.session_id)

    def open_session(self, session: LiveSession, title: str, *, simulated: bool) -> None:
        """A session started on Home, on its own dashboard."""
        from mao_tui.tui.dashboard import DashboardScreen

        self.push_screen(
            DashboardScreen(session.run, control=session, app_title=title, simulated=simulated)
        )

    def open_review(self, session_id: str) -> None:
        """A stored session, replayed from the database onto a dashboard."""
        from mao_tui.domain.errors import ControlError
        from mao_tui.tui.dashboard import DashboardScreen

        if self.backend is None:
            return
        try:
            session = self.backend.review(session_id)
        except ControlError as exc:
            self.notify(str(exc), severity="error")
            return
        self.push_screen(
            DashboardScreen(session.run, control=session, app_title="mao · review", review=True)
        )

    def action_history(self) -> None:
        from mao_tui.tui.history import HistoryScreen

        self._push_backend_screen(
            HistoryScreen, "History needs the session database (run mao without --headless)."
        )

    def action_new_session(self) -> None:
        from mao_tui.tui.home import HomeScreen

        self._push_backend_screen(
            HomeScreen, "Start new sessions from Home: run mao with no arguments."
        )

    def _push_backend_screen(self, screen_type: type[BackendScreen], unavailable: str) -> None:
        """Home or History, unless it is already on top; they need the session database."""
        if self.backend is None:
            self.notify(unavailable)
        elif not isinstance(self.screen, screen_type):
            self.push_screen(screen_type(self.backend))

    def action_help(self) -> None:
        from mao_tui.tui.help import HelpScreen
        from mao_tui.tui.kept import kept

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(kept(self, "help", HelpScreen, lambda: HelpScreen(self._keymap)))

    # -- quitting -----------------------------------------------------------------------------

    def action_quit(self) -> None:  # type: ignore[override]
        """Leave; while models are working, ask first (their work would be cancelled)."""
        from mao_tui.tui.dialogs import Confirm

        if self._quitting:  # asked again while leaving: do not wait for the cleanup
            self.exit(_EXIT_CANCELLED)
            return
        if not self.running:
            self._leave()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._leave()

        self.push_screen(
            Confirm(
                "Models are still working. Quit and cancel their work?",
                yes="Quit",
                no="Stay",
            ),
            answered,
        )

    def action_quit_now(self) -> None:
        if self._quitting:
            self.exit(_EXIT_CANCELLED)
            return
        self._leave()

    def _leave(self) -> None:
        self._quitting = True
        self._cancelled_work = self.running
        if self._cancelled_work:
            self.notify("Cancelling… press q again to leave at once.", title="Quit")
        self.run_worker(self._stop_and_exit(), group="quit", exclusive=True)

    async def _stop_and_exit(self) -> None:
        for dashboard in self.dashboards:
            await dashboard.stop_session(cancelling=dashboard.work_running)
        self.exit(self.exit_code)

    # -- the command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Ours, each once with a clear name, and Textual's that are not ours again (its Quit
        does not ask first; its Keys, Maximize and Minimize duplicate Help and Maximize panel)."""
        for command in super().get_system_commands(screen):
            if command.title not in _TEXTUAL_DUPLICATES:
                yield command
        for spec in SPECS["app"]:
            action = getattr(self, f"action_{spec.action}")
            yield SystemCommand(_palette_title(spec.description), spec.tooltip, action)
        if _is_dashboard(screen):
            for spec in SPECS["dashboard"]:
                if spec.id != "back":
                    action = getattr(screen, f"action_{spec.action}")
                    yield SystemCommand(_palette_title(spec.description), spec.tooltip, action)


# session_run's EXIT_OK and EXIT_CANCELLED: that module loads the reducer, not needed to paint Home
_EXIT_OK, _EXIT_CANCELLED = 0, 130
# Home's first frame does not need the dashboard: its module (and the panels', the reducer's)
# is imported when a dashboard opens. Until then no screen can be one.
_DASHBOARD = "mao_tui.tui.dashboard"


def _is_dashboard(screen: object) -> TypeGuard[DashboardScreen]:
    module = sys.modules.get(_DASHBOARD)
    return module is not None and isinstance(screen, module.DashboardScreen)


def _quit_on_sigterm(app: MaoApp) -> None:
    """SIGTERM quits as ctrl+c does: work cancelled, the session stored, the terminal restored
    (by default it would kill the process with the terminal still in the app's mode)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may handle signals
    with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, app.action_quit_now)


_TEXTUAL_DUPLICATES = frozenset({"Quit", "Keys", "Maximize", "Minimize"})


def _palette_title(description: str) -> str:
    """The footer's short word, said in full for the palette."""
    return {
        "Quit now": "Quit now (cancel all work)",
        "New": "New session",
        "Rerun": "Rerun workstream",
        "Model…": "Rerun on another model",
        "Cancel": "Cancel workstream",
        "Synthesize": "Synthesize again",
        "Thinking": "Toggle thinking",
        "Maximize": "Maximize panel",
        "Attempts": "Attempts of workstream",
        "Export": "Export session",
        "Apply": "Apply files",
        "Fix": "Fix round",
    }.get(description, description)
