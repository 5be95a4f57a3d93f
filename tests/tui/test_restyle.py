"""Screens restyled on resume only when their styles could be stale (mao_tui/tui/restyle.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.launches import fast_launch
from textual import events
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from mao_tui.service.live_session import AppBackend
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.dialogs import ModelPicker
from mao_tui.tui.help import HelpScreen
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.home import HomeScreen

SIZE = (120, 40)


@pytest.fixture
def restyled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The screens Textual's resume handler styled again, all their nodes, in order."""
    seen: list[str] = []
    resume = Screen._on_screen_resume

    def spied(self: Screen[Any], event: events.ScreenResume) -> None:
        if event.refresh_styles and self.is_attached:
            seen.append(type(self).__name__)
        resume(self, event)

    monkeypatch.setattr(Screen, "_on_screen_resume", spied)
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    yield seen


def _home(tmp_path: Path) -> MaoApp:
    return MaoApp(backend=AppBackend(fast_launch(tmp_path)))


async def _as_if_restyled(pilot: Pilot[Any], kind: type[Screen[Any]]) -> None:
    """The current screen is a ``kind`` and each of its nodes has the styles a whole restyle
    gives it."""
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    before = [(node, node.styles.css) for node in screen.walk_children(with_self=True)]
    screen.update_node_styles(animate=False)
    assert [(node, node.styles.css) for node, _ in before] == before


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


async def test_every_screen_and_dialog_shows_the_styles_a_whole_restyle_gives(
    tmp_path: Path, restyled: list[str]
) -> None:
    """Each screen is registered (and styled) before Textual reads its CSS file: without its
    own pass the help's first opening on Home was not centred."""
    app = _home(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await _as_if_restyled(pilot, HomeScreen)
        for _ in range(2):
            await pilot.press("f1")
            await _as_if_restyled(pilot, HelpScreen)
            await pilot.press("escape")
            await _as_if_restyled(pilot, HomeScreen)
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await _as_if_restyled(pilot, HistoryScreen)
        await pilot.press("escape")
        await _as_if_restyled(pilot, HomeScreen)

        app.screen.query_one("#task", Input).value = "Add search"
        await pilot.press("f5")
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause()
        dashboard = app.screen
        await asyncio.wait_for(dashboard.ended(1), 60)
        dashboard.plan_table.focus()
        await _as_if_restyled(pilot, DashboardScreen)
        for _ in range(2):
            await pilot.press("m")
            await _as_if_restyled(pilot, ModelPicker)
            await pilot.press("escape")
            await pilot.press("question_mark")
            await _as_if_restyled(pilot, HelpScreen)
            await pilot.press("escape")
            await _as_if_restyled(pilot, DashboardScreen)
