"""History lists a screenful of sessions before its first frame and the rest right after it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_tui_sessions import _launch, until
from textual.widgets import DataTable

from mao_tui.domain.status import SessionStatus
from mao_tui.domain.stored import SessionHit
from mao_tui.service.live_session import AppBackend
from mao_tui.service.ports import HistoryQuery
from mao_tui.tui.app import MaoApp
from mao_tui.tui.history import HistoryScreen

SESSIONS = 150
HEIGHT = 48


def _hit(index: int) -> SessionHit:
    return SessionHit(
        id=f"s{index:04d}",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        command="develop",
        playbook="develop",
        task=f"task number {index}",
        status=SessionStatus.DONE,
        simulated=True,
        project_dir="/project",
        models=["sonnet-5.5"],
    )


async def test_history_lists_a_screenful_first_and_the_rest_after_the_first_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = [_hit(i) for i in range(SESSIONS)]
    backend = AppBackend(_launch(tmp_path))

    async def search(query: HistoryQuery) -> list[SessionHit]:
        return list(hits)

    monkeypatch.setattr(backend, "search", search)
    listed_when_searched: list[int] = []
    show_match = HistoryScreen._show_match

    def record(screen: HistoryScreen, row: int) -> None:  # runs as the search completes
        listed_when_searched.append(screen.query_one("#sessions", DataTable).row_count)
        show_match(screen, row)

    monkeypatch.setattr(HistoryScreen, "_show_match", record)
    app = MaoApp(backend=backend)
    async with app.run_test(size=(160, HEIGHT)) as pilot:
        app.action_history()
        await pilot.pause()
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await until(pilot, lambda: history.searches >= 1)
        assert listed_when_searched[0] == HEIGHT  # then on each highlight
        table = history.query_one("#sessions", DataTable)
        await until(pilot, lambda: table.row_count == SESSIONS)
        assert [key.value for key in table.rows] == [hit.id for hit in hits]

        newer = hits[:3]  # a newer search's hits: the older ones' rows must not follow them
        history.hits = newer
        table.clear()
        history._add_rows(newer, 0, 3)
        history._add_rows(hits, 3, SESSIONS)
        assert table.row_count == 3
