"""The look of every screen, as SVG snapshots at one fixed size (pytest-textual-snapshot).

Deterministic by construction: the recorded session (fixed ids and timestamps), times shown in
UTC, the session clock stopped at the latest event, no cursor blink. After an intended change:
``pytest tests/test_snapshots.py --snapshot-update``, then copy the SVGs to ``screenshots/``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.develop_session import SESSION_ID, recorded_events, replay_runner
from test_tui import Gate, text_delta_indexes
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from mao_tui.domain import AttemptFinished, AttemptStarted, Delta, EngineEvent, SessionStarted
from mao_tui.live import AppBackend
from mao_tui.store import Store
from mao_tui.tui import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.state import SessionClock
from mao_tui.wiring import Launch

SIZE = (140, 42)
GUARD_S = 30.0
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    monkeypatch.setattr(TextArea.cursor_blink, "_default", False)
    monkeypatch.setattr(SessionClock, "now", lambda self: self._last_at)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _copy(session_id: str, task: str) -> list[EngineEvent]:
    events: list[EngineEvent] = []
    for event in recorded_events():
        update: dict[str, object] = {"session_id": session_id}
        if isinstance(event, SessionStarted):
            update["task"] = task
        if isinstance(event, AttemptStarted | Delta | AttemptFinished):
            update["attempt_id"] = f"{session_id}-{event.attempt_id}"
        events.append(event.model_copy(update=update))
    return events


@pytest.fixture
def backend(tmp_path: Path) -> AppBackend:
    """A database with the recorded session and a second one, a day apart."""
    db = tmp_path / "mao.db"

    async def fill() -> None:
        from datetime import timedelta

        store = await Store.open(db)
        sink = store.sink()
        later = [
            e.model_copy(update={"at": e.at + timedelta(days=1)})
            for e in _copy("01KF0000000000000000SESSN1", "Tidy the README and the changelog")
        ]
        for event in [*recorded_events(), *later]:
            await sink(event)
        await sink.aclose()
        await store.close()

    asyncio.run(fill())
    return AppBackend(Launch(project_dir=tmp_path, config_dir=None, db_path=db))


async def _finished(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, MaoApp)
    await asyncio.wait_for(app.session_done.wait(), GUARD_S)
    await pilot.pause()


def test_snapshot_home(snap_compare: SnapCompare, backend: AppBackend) -> None:
    async def recent_loaded(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    app = MaoApp(backend=backend)
    assert snap_compare(app, terminal_size=SIZE, run_before=recent_loaded)


def test_snapshot_running_dashboard(snap_compare: SnapCompare) -> None:
    events = recorded_events()
    storage = text_delta_indexes(events, "storage")
    stop = storage[len(storage) // 2]
    gate = Gate(events, stop)

    async def mid_session(pilot: Pilot[Any]) -> None:
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, DashboardScreen)
        screen._tick()
        await screen.settle()
        await pilot.pause()

    assert snap_compare(MaoApp(gate, simulated=True), terminal_size=SIZE, run_before=mid_session)


def test_snapshot_finished_dashboard(snap_compare: SnapCompare) -> None:
    app = MaoApp(replay_runner(), simulated=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_finished)


def test_snapshot_fallback_detail(snap_compare: SnapCompare) -> None:
    async def open_detail(pilot: Pilot[Any]) -> None:
        await _finished(pilot)
        app = pilot.app
        assert isinstance(app, MaoApp)
        app.dashboard.fallback_log.focus()
        await pilot.press("enter")
        await pilot.pause()

    app = MaoApp(replay_runner(), simulated=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_detail)


def test_snapshot_history(snap_compare: SnapCompare, backend: AppBackend) -> None:
    async def searched(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MaoApp)
        app.action_history()
        await pilot.pause()
        history = app.screen
        assert isinstance(history, HistoryScreen)
        history.query_one("#search", Input).value = "bucket"
        history.search()
        await app.workers.wait_for_complete()
        while not history.snippet:  # the highlighted session's match, read after the list
            await pilot.pause()
        await pilot.pause()

    app = MaoApp(backend=backend)
    assert snap_compare(app, terminal_size=SIZE, run_before=searched)


def test_snapshot_review(snap_compare: SnapCompare, backend: AppBackend) -> None:
    async def reviewing(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MaoApp)
        app.open_review(SESSION_ID)
        await pilot.pause()
        review = app.screen
        assert isinstance(review, DashboardScreen)
        await asyncio.wait_for(review.ended(1), GUARD_S)
        await pilot.pause()

    app = MaoApp(backend=backend)
    assert snap_compare(app, terminal_size=SIZE, run_before=reviewing)


def test_snapshot_help(snap_compare: SnapCompare) -> None:
    app = MaoApp(replay_runner(), simulated=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=_finished, press=["question_mark"])
