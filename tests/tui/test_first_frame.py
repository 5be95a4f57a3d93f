"""What the dashboard's first frame does without: the Verification pane's log until its first
line, and the events' pydantic models (the first frame is built from plain data)."""

from __future__ import annotations

import subprocess
import sys

from textual.app import App, ComposeResult
from textual.widgets import RichLog

from mao_tui.domain import VerificationOutput
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
