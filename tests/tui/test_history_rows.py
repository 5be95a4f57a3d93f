"""History lists every hit at once and builds the cells of the rows on screen only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures.pilots import until
from test_tui_sessions import _launch, _screen_lines
from textual.pilot import Pilot
from textual.widgets import Input

from mao_tui.domain.status import SessionStatus
from mao_tui.domain.stored import SessionHit
from mao_tui.service.live_session import AppBackend
from mao_tui.service.ports import HistoryQuery
from mao_tui.tui.app import MaoApp
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.widgets.row_table import RowTable

SESSIONS = 150
HEIGHT = 48


def _hit(index: int, task: str = "task number") -> SessionHit:
    return SessionHit(
        id=f"s{index:04d}",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        command="develop",
        playbook="develop",
        task=f"{task} {index}",
        status=SessionStatus.DONE,
        simulated=True,
        project_dir="/project" + "/deeper" * (index % 3),
        models=["sonnet-5.5"],
    )


def _app_searching(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    search: Callable[[HistoryQuery], Awaitable[list[SessionHit]]],
) -> MaoApp:
    """The app on Home, its backend answering History's searches with ``search``."""
    backend = AppBackend(_launch(tmp_path))
    monkeypatch.setattr(backend, "search", search)
    return MaoApp(backend=backend)


async def opened_history(pilot: Pilot[Any], app: MaoApp) -> HistoryScreen:
    """History opened from Home, once its screen is on top."""
    app.action_history()
    await pilot.pause()
    history = app.screen
    assert isinstance(history, HistoryScreen)
    return history


async def test_history_builds_the_rows_on_screen_only_and_lists_the_newest_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = [_hit(i) for i in range(SESSIONS)]

    async def search(query: HistoryQuery) -> list[SessionHit]:
        return [hit for hit in hits if query.text in hit.task]

    app = _app_searching(tmp_path, monkeypatch, search)
    async with app.run_test(size=(160, HEIGHT)) as pilot:
        history = await opened_history(pilot, app)
        await until(pilot, lambda: history.searches >= 1)
        await pilot.pause()
        table: RowTable[Any] = history.query_one("#sessions", RowTable)
        assert table.row_keys == [hit.id for hit in hits]
        assert 0 < table.built_rows < HEIGHT  # what fits between the filters and the footer
        lines = _screen_lines(app)
        assert any("task number 0" in line for line in lines)
        assert not any("task number 60" in line for line in lines)
        assert table.widths[-1] == len("/project/deeper/deeper")  # the widest project

        table.focus()
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert any("task number 149" in line for line in _screen_lines(app))
        assert table.built_rows < 2 * HEIGHT

        searched = history.searches
        history.query_one("#search", Input).value = "number 14"
        await until(pilot, lambda: history.searches > searched)
        assert table.row_keys == ["s0014", "s0140", "s0141", "s0142", "s0143", "s0144", "s0145",
                                  "s0146", "s0147", "s0148", "s0149"]  # fmt: skip
        assert table.cursor_row == 0 and table.scroll_y == 0


async def test_search_text_and_notifications_with_brackets_are_shown_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search for ``[/x]`` crashed the app: the results' title read the user's text as markup;
    so did a notification carrying it (a database error quoting the query)."""

    async def search(query: HistoryQuery) -> list[SessionHit]:
        return [_hit(1, "fix [/x] and [b]bold[/b]")] if query.text else []

    app = _app_searching(tmp_path, monkeypatch, search)
    async with app.run_test(size=(160, HEIGHT)) as pilot:
        history = await opened_history(pilot, app)
        await until(pilot, lambda: history.searches >= 1)
        history.query_one("#search", Input).value = "[/x]"
        await until(pilot, lambda: history.searches >= 2)
        await pilot.pause()
        assert any("Sessions matching '[/x]': 1 session" in line for line in _screen_lines(app))
        assert any("fix [/x] and [b]bold[/b] 1" in line for line in _screen_lines(app))
        history.notify("no such column: [/x]", title="Search", severity="error")
        await pilot.pause()
        assert [(n.message, n.markup) for n in app._notifications] == [
            ("no such column: [/x]", False)
        ]


async def test_ctrl_c_says_how_to_quit_in_plain_text(tmp_path: Path) -> None:
    """Textual's own hint for ctrl+c is markup ("[b]q[/b]"); mao's notifications are plain."""
    app = MaoApp(backend=AppBackend(_launch(tmp_path)))
    async with app.run_test(size=(160, HEIGHT)) as pilot:
        app.action_help_quit()  # what ctrl+c runs where no input takes it (copy)
        await pilot.pause()
        said = [(n.title, n.message) for n in app._notifications]
        assert len(said) == 1 and said[0][0] == "Do you want to quit?"
        assert said[0][1].startswith("Press ") and "[" not in said[0][1]
