"""Screens restyled on resume only when their styles could be stale (mao_tui/tui/restyle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend
from mao_tui.tui.app import MaoApp
from mao_tui.tui.help import HelpScreen
from mao_tui.tui.home import HomeScreen

SIZE = (120, 40)


@pytest.fixture
def restyled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The screens whose nodes were all styled again, in order."""
    seen: list[str] = []
    update = Screen.update_node_styles

    def counted(self: Screen[Any], animate: bool = True) -> None:
        seen.append(type(self).__name__)
        update(self, animate)

    monkeypatch.setattr(Screen, "update_node_styles", counted)
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    yield seen


def _home(tmp_path: Path) -> MaoApp:
    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db", simulate=True
    )
    return MaoApp(backend=AppBackend(launch))


async def _help(pilot: Pilot[Any], app: MaoApp) -> HelpScreen:
    await pilot.press("f1")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    return app.screen


async def test_a_screen_is_not_styled_twice_before_its_first_frame(
    tmp_path: Path, restyled: list[str]
) -> None:
    app = _home(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "HomeScreen" not in restyled
        help_screen = await _help(pilot, app)
        assert "HelpScreen" not in restyled
        assert help_screen.query_one(VerticalScroll).styles.background.a > 0  # styled at mount


async def test_a_kept_dialog_is_restyled_after_a_theme_change_or_new_global_css(
    tmp_path: Path, restyled: list[str]
) -> None:
    app = _home(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        help_screen = await _help(pilot, app)
        await pilot.press("escape")
        await _help(pilot, app)
        assert "HelpScreen" not in restyled  # nothing changed: shown as it was
        await pilot.press("escape")

        box = help_screen.query_one(VerticalScroll)
        before = box.styles.background
        app.theme = "nord"  # dark as well: only the variables change
        await pilot.pause()
        await _help(pilot, app)
        assert restyled.count("HelpScreen") == 1
        assert box.styles.background != before
        await pilot.press("escape")

        app.stylesheet.add_source("#help-keys { color: #ff0000; }", read_from=("x.tcss", ""))
        await _help(pilot, app)
        assert restyled.count("HelpScreen") == 2
        assert help_screen.query_one("#help-keys", Static).styles.color.hex == "#FF0000"
