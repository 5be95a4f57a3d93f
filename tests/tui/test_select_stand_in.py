"""Home's playbook field: a stand-in in the first frame, the real Select right after it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.pilots import until
from fixtures.screen_cells import look
from test_tui_sessions import _launch
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, OptionList, Select

from mao_tui.service.live_session import AppBackend
from mao_tui.tui.app import MaoApp
from mao_tui.tui.home import HomeScreen
from mao_tui.tui.widgets.select_stand_in import SelectStandIn


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """The swap waits until the event is set."""
    release = asyncio.Event()
    swap_in = SelectStandIn.swap_in

    async def held_swap(self: SelectStandIn[str]) -> Select[str]:
        await release.wait()
        return await swap_in(self)

    monkeypatch.setattr(SelectStandIn, "swap_in", held_swap)
    yield release


@contextlib.asynccontextmanager
async def _home(tmp_path: Path) -> AsyncIterator[tuple[MaoApp, Pilot[Any], HomeScreen]]:
    app = MaoApp(backend=AppBackend(_launch(tmp_path, simulate=False)))
    async with app.run_test(size=(120, 40)) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        yield app, pilot, home


async def _swapped(pilot: Pilot[Any], held: asyncio.Event, home: HomeScreen) -> None:
    """The swap let go, and done."""
    held.set()
    await until(
        pilot,
        lambda: any(home.query("#playbook").results(Select)) and not home.query(SelectStandIn),
    )


async def test_the_first_frame_has_no_option_list_and_the_select_looks_the_same(
    tmp_path: Path, held: asyncio.Event
) -> None:
    async with _home(tmp_path) as (app, pilot, home):
        await pilot.pause()
        assert not home.query(OptionList) and not home.query(Select)
        region = home.query_one("#playbook-stand-in").region
        before = look(app, region)
        assert "develop" in "".join(char for char, _ in before[1]) and "▼" in str(before)

        await _swapped(pilot, held, home)
        await pilot.pause()
        select = home.query_one("#playbook", Select)
        assert select.region == region
        assert look(app, region) == before
        assert select.value == "develop" and not select.expanded


async def test_focused_and_asked_to_open_before_the_swap_is_not_lost(
    tmp_path: Path, held: asyncio.Event
) -> None:
    async with _home(tmp_path) as (app, pilot, home):
        await pilot.press("tab")  # the task field -> the playbook
        stand_in = home.query_one(SelectStandIn)
        assert app.focused is stand_in
        await pilot.pause()
        focused_look = look(app, stand_in.region)
        await pilot.press("enter")
        assert stand_in.wants_open

        await _swapped(pilot, held, home)
        await pilot.pause()
        select = home.query_one("#playbook", Select)
        assert select.expanded and app.focused is select.query_one(OptionList)
        await pilot.press("escape")
        await pilot.pause()
        assert not select.expanded and app.focused is select
        assert look(app, select.region) == focused_look


async def test_a_form_sent_before_the_swap_has_the_default_playbook(
    tmp_path: Path, held: asyncio.Event
) -> None:
    async with _home(tmp_path) as (_app, pilot, home):
        home.query_one("#task", Input).value = "Add search"
        assert home.form().playbook == "develop"

        await _swapped(pilot, held, home)
        home.query_one("#playbook", Select).value = "qa"
        assert home.form().playbook == "qa"


async def test_the_focus_on_the_stand_in_moves_to_the_select(
    tmp_path: Path, held: asyncio.Event
) -> None:
    async with _home(tmp_path) as (app, pilot, home):
        await pilot.press("tab", "tab")  # the task field -> the playbook -> the simulate box
        await pilot.press("shift+tab")
        assert app.focused is home.query_one(SelectStandIn)

        await _swapped(pilot, held, home)
        select = home.query_one("#playbook", Select)
        assert app.focused is select and not select.expanded
        await pilot.press("tab")
        assert app.focused is home.query_one("#simulate")


class _One(App[None]):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


@pytest.mark.parametrize(
    "label", ["develop — Build from a task", "a [b]long[/b] label " * 4, "wide 漢字 " * 5]
)
async def test_the_stand_in_draws_what_a_closed_select_shows(label: str) -> None:
    """Any label, as the Select shows it: wrapped under the arrow, markup applied, focused or
    not."""
    options = [(label, "one"), ("other", "two")]
    looks = []
    for widget in (SelectStandIn(options, "one", select_id="s"), Select(options, value="one")):
        app = _One(widget)
        async with app.run_test(size=(40, 12)) as pilot:
            await pilot.pause()
            blurred = look(app, widget.region)
            widget.focus()
            await pilot.pause()
            looks.append((widget.region, blurred, look(app, widget.region)))
    assert looks[0] == looks[1]
    assert looks[0][0].height > 3 or len(label) < 30


async def test_a_click_on_the_stand_in_opens_the_select(
    tmp_path: Path, held: asyncio.Event
) -> None:
    async with _home(tmp_path) as (app, pilot, home):
        await pilot.click("#playbook-stand-in")
        assert app.focused is home.query_one(SelectStandIn)

        await _swapped(pilot, held, home)
        assert home.query_one("#playbook", Select).expanded
