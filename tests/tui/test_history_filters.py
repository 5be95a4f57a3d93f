"""History's filter Selects come right after the first results, in place of look-alikes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.pilots import until
from fixtures.screen_cells import look
from test_history_rows import _hit, opened_history
from test_tui_sessions import _launch
from textual.widgets import Select

from mao_tui.domain.status import SessionStatus
from mao_tui.domain.stored import SessionHit
from mao_tui.service.live_session import AppBackend
from mao_tui.service.ports import HistoryQuery
from mao_tui.tui.app import MaoApp


async def test_the_filters_look_the_same_before_and_after_they_are_built_and_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = [_hit(i) for i in range(6)]
    hits[2] = hits[2].model_copy(update={"status": SessionStatus.FAILED})
    backend = AppBackend(_launch(tmp_path))
    release = asyncio.Event()
    queries: list[HistoryQuery] = []

    async def search(query: HistoryQuery) -> list[SessionHit]:
        if query.limit == HistoryQuery().limit:  # not Home's recent sessions
            queries.append(query)
        await release.wait()
        return [hit for hit in hits if query.status in (None, hit.status.value)]

    monkeypatch.setattr(backend, "search", search)
    app = MaoApp(backend=backend)
    async with app.run_test(size=(160, 40)) as pilot:
        history = await opened_history(pilot, app)
        await until(pilot, lambda: bool(queries))
        await pilot.pause()
        assert not history.query(Select)  # not before the first results
        regions = [
            history.query_one(f"#{name}-placeholder").region for name in ("status", "playbook")
        ]
        before = [look(app, region) for region in regions]

        release.set()
        await until(
            pilot, lambda: len(history.query(Select)) == 2 and not history.query(".unbuilt")
        )
        await pilot.pause()
        assert [history.query_one(f"#{n}").region for n in ("status", "playbook")] == regions
        assert [look(app, region) for region in regions] == before
        assert len(queries) == 1  # building them searched nothing again

        history.query_one("#status", Select).value = "failed"
        await until(pilot, lambda: history.searches >= 2)
        assert queries[-1].status == "failed"
        assert [hit.id for hit in history.hits] == [hits[2].id]
