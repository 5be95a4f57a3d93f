"""What the first frame does without: a blank screen under the first one, the Verification
pane's log until its first line, and the events' pydantic models (the dashboard's first frame
is built from plain data). And what it has: the whole first screen, painted once Textual's
start-up batch has ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixtures.develop_session import recorded_events, replay_runner
from fixtures.launches import fast_launch
from textual._compositor import LayoutUpdate
from textual.app import App, ComposeResult
from textual.widgets import RichLog

from mao_tui.domain import VerificationOutput
from mao_tui.service.live_session import AppBackend
from mao_tui.tui.app import MaoApp
from mao_tui.tui.backend_screen import BackendScreen
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.home import HomeScreen
from mao_tui.tui.widgets.verification import VerificationPane


class _PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield VerificationPane()


async def test_the_verification_log_is_mounted_with_its_first_line() -> None:
    app = _PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(VerificationPane)
        assert not pane.query(RichLog) and not pane.display  # hidden, and no log yet
        pane.show_event(VerificationOutput(session_id="s", round=1, name="pytest", line="1 ok"))
        pane.show_event(VerificationOutput(session_id="s", round=1, name="pytest", line="2 ok"))
        await pilot.pause()
        (log,) = pane.query(RichLog)
        assert pane.display and pane.plain_lines == ["1 ok", "2 ok"]
        assert [line.text for line in log.lines] == ["1 ok", "2 ok"]


def test_the_dashboard_is_built_without_the_events_models() -> None:
    code = (
        "import sys\n"
        "from mao_tui.tui.dashboard import DashboardScreen\n"
        "screen = DashboardScreen(None, simulated=True)\n"
        "screen.status_bar.show(screen.session, [], None)\n"
        "print(sorted(m for m in ('pydantic', 'attr') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


async def test_home_is_the_base_of_the_screen_stack(tmp_path: Path) -> None:
    """No blank default screen under the first one (it was styled, laid out and resumed before
    every first frame); back from a screen over it returns to it, and back on it stays."""
    app = MaoApp(backend=AppBackend(fast_launch(tmp_path, simulate=False)))
    async with app.run_test() as pilot:
        (home,) = app.screen_stack
        assert isinstance(home, HomeScreen) and app.screen is home
        await pilot.press("f3")
        assert isinstance(app.screen, HistoryScreen) and len(app.screen_stack) == 2
        await pilot.press("escape")
        assert app.screen_stack == [home]
        home.action_back()
        await pilot.pause()
        assert app.screen_stack == [home]


async def test_the_dashboard_mao_opened_on_is_the_base_of_the_screen_stack() -> None:
    app = MaoApp(replay_runner(recorded_events()), simulated=True)
    async with app.run_test() as pilot:
        (dashboard,) = app.screen_stack
        assert isinstance(dashboard, DashboardScreen) and dashboard is app.dashboard
        await dashboard.ended(1)
        dashboard.action_back()
        await pilot.pause()
        assert app.screen_stack == [dashboard]


class _Frames:
    """Every frame the app hands to the terminal (headless, Textual computes and drops it), and
    whether Textual's start-up batch was still on then."""

    def __init__(self, app: MaoApp) -> None:
        self.frames: list[tuple[object, int, str]] = []
        display = app._display

        def record(screen: object, renderable: object) -> None:
            if renderable is not None:
                self.frames.append((renderable, app._batch_count, type(screen).__name__))
            display(screen, renderable)  # type: ignore[arg-type]

        app._display = record  # type: ignore[method-assign]


def _first_frame_is_whole(frames: _Frames, size: tuple[int, int], screen: str) -> None:
    renderable, batch, painted = frames.frames[0]
    assert batch == 0, "painted inside the start-up batch: the terminal never gets it"
    assert painted == screen
    assert isinstance(renderable, LayoutUpdate)
    assert (renderable.region.width, renderable.region.height) == size


async def test_homes_first_frame_is_the_whole_screen_after_the_start_up_batch(
    tmp_path: Path,
) -> None:
    """Home was laid out and painted inside Textual's start-up batch; ``App._display`` drops
    that frame, and the first one to reach the terminal was only what changed since."""
    app = MaoApp(backend=AppBackend(fast_launch(tmp_path, simulate=False)))
    frames = _Frames(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        _first_frame_is_whole(frames, (120, 40), "HomeScreen")
        lines = frames.frames[0][0].strips  # type: ignore[attr-defined]
        assert "Start a session" in "".join(strip.text for line in lines for strip in line)


async def test_the_dashboards_first_frame_is_the_whole_screen_after_the_start_up_batch() -> None:
    app = MaoApp(replay_runner(recorded_events()), simulated=True)
    frames = _Frames(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        _first_frame_is_whole(frames, (120, 40), "DashboardScreen")
        await app.dashboard.ended(1)


async def test_a_screen_laid_out_after_the_start_paints_as_textual_means_it(
    tmp_path: Path,
) -> None:
    """The wait is for the start-up batch only: History, opened later, lays out at once."""
    app = MaoApp(backend=AppBackend(fast_launch(tmp_path, simulate=False)))
    frames = _Frames(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        history = app.screen
        assert isinstance(history, HistoryScreen) and isinstance(history, BackendScreen)
        assert not history._waits_for_start
        assert any(painted == "HistoryScreen" for _, _, painted in frames.frames)
