"""The look of every screen, as SVG snapshots at one fixed size (pytest-textual-snapshot).

Deterministic by construction: the recorded session (fixed ids and timestamps), times shown in
UTC, the session clock stopped at the latest event, no cursor blink. After an intended change:
``pytest tests/tui/test_snapshots.py --snapshot-update -k NAME``, look at the SVG, then
``python scripts/screenshots.py --snapshots-only`` copies them to ``screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures.develop_session import SESSION_ID, recorded_events, replay_runner
from fixtures.launches import fast_launch
from fixtures.qa_project import project, qa_launch, qa_request
from test_tui import Gate, text_delta_indexes
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from mao_tui.cli.running import plan_reviewer
from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    Delta,
    EngineEvent,
    SessionStarted,
    SynthesisFinished,
)
from mao_tui.domain.errors import ControlError
from mao_tui.engine import policy
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.simulator.faults import FaultRule
from mao_tui.simulator.scripts import project_files
from mao_tui.store import Store
from mao_tui.tui import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.dialogs import AttemptsScreen, ExportDialog, ModelPicker
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.plan_review import PlanReviewScreen
from mao_tui.tui.qa_report import QaReportScreen
from mao_tui.tui.state import SessionClock

SIZE = (140, 42)
TODAY = date(2026, 12, 1)  # Sonnet 4.5 retired (2026-11-30), Opus 4.5 not yet (2027-01-22)
GUARD_S = 30.0
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    monkeypatch.setattr(TextArea.cursor_blink, "_default", False)
    monkeypatch.setattr(SessionClock, "now", lambda self: self._last_at)
    monkeypatch.setattr(policy, "today", lambda: TODAY)  # retirements as of a fixed day
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


# -- the dialogs and screens opened from the dashboard ------------------------------------------

EXAMPLE_DIR = Path("/work/example")  # the recorded session's project: never created, never written


def _manifest() -> str:
    files = [{"path": p, "content": body} for p, body in project_files(broken=False).items()]
    return "The merged package.\n\n```json mao-files\n" + json.dumps({"files": files}) + "\n```\n"


@pytest.fixture
def stored(tmp_path: Path) -> AppBackend:
    """The recorded session, its synthesis the simulator's files manifest, in a database of its
    own; the project directory is the recorded one, so every path on screen is fixed."""
    db = tmp_path / "mao.db"

    async def fill() -> None:
        store = await Store.open(db)
        sink = store.sink()
        for event in recorded_events():
            if isinstance(event, SynthesisFinished):
                event = event.model_copy(update={"text": _manifest()})
            await sink(event)
        await sink.aclose()
        await store.close()

    asyncio.run(fill())
    return AppBackend(Launch(project_dir=EXAMPLE_DIR, config_dir=None, db_path=db))


async def _review_steerable(pilot: Pilot[Any], key: str) -> DashboardScreen:
    """The stored session in review, its controller ready for steering, ``key``'s row selected."""
    app = pilot.app
    assert isinstance(app, MaoApp)
    app.open_review(SESSION_ID)
    await pilot.pause()
    review = app.screen
    assert isinstance(review, DashboardScreen)
    await asyncio.wait_for(review.ended(1), GUARD_S)
    control = review.control
    assert control is not None

    async def steerable() -> None:
        while True:
            try:
                control.model_choices(key)
            except ControlError:
                await pilot.pause()
            else:
                return

    await asyncio.wait_for(steerable(), GUARD_S)
    review.plan_table.focus()
    review.plan_table.cursor_row = list(review.lanes).index(key)
    await pilot.pause()
    return review


def test_snapshot_attempts(snap_compare: SnapCompare, stored: AppBackend) -> None:
    """`A` on Schemas: the timed-out Gemini attempt and Sonnet's, the latest shown."""

    async def attempts(pilot: Pilot[Any]) -> None:
        await _review_steerable(pilot, "schemas")
        await pilot.press("A")
        attempts = pilot.app.screen
        assert isinstance(attempts, AttemptsScreen)
        while not attempts.shown_answer:  # the latest attempt's answer, rendered
            await pilot.pause()
        await pilot.pause()

    assert snap_compare(MaoApp(backend=stored), terminal_size=SIZE, run_before=attempts)


def test_snapshot_model_picker(snap_compare: SnapCompare, stored: AppBackend) -> None:
    """`m` on Schemas: every model of the registry, the current one marked."""

    async def picker(pilot: Pilot[Any]) -> None:
        await _review_steerable(pilot, "schemas")
        await pilot.press("m")
        assert isinstance(pilot.app.screen, ModelPicker)
        await pilot.pause()

    assert snap_compare(MaoApp(backend=stored), terminal_size=SIZE, run_before=picker)


def test_snapshot_export(
    snap_compare: SnapCompare, stored: AppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`e`: the format and the file to write (in the user data directory, fixed here: each
    test's own is a temporary path)."""
    monkeypatch.setattr(
        "mao_tui.store.paths.default_export_dir",
        lambda: Path("/home/user/.local/share/mao/exports"),
    )

    async def export(pilot: Pilot[Any]) -> None:
        await _review_steerable(pilot, "schemas")
        await pilot.press("e")
        assert isinstance(pilot.app.screen, ExportDialog)
        await pilot.pause()

    assert snap_compare(MaoApp(backend=stored), terminal_size=SIZE, run_before=export)


def test_snapshot_apply_diff(snap_compare: SnapCompare, stored: AppBackend) -> None:
    """`a`: the synthesis's files against the (empty) workspace, the first one's diff shown."""

    async def apply(pilot: Pilot[Any]) -> None:
        await _review_steerable(pilot, "schemas")
        await pilot.press("a")
        assert isinstance(pilot.app.screen, ApplyScreen)
        await pilot.pause()

    assert snap_compare(MaoApp(backend=stored), terminal_size=SIZE, run_before=apply)


def test_snapshot_qa_report(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """`mao qa src --simulate`: the report screen that opens by itself when the report is ready;
    the security reviewer's first answer is invalid JSON, so it went through the repair round."""
    project(tmp_path)
    faults = (FaultRule(kind="bad_json", workstream="security", times=1),)
    launch = qa_launch(tmp_path, tmp_path / "mao.db", faults)
    session = OpenSession(launch, qa_request(launch, ["src"]))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))

    async def report(pilot: Pilot[Any]) -> None:
        while not isinstance(pilot.app.screen, QaReportScreen):
            await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=report)


def test_snapshot_plan_review(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mao demo --review-plan`: the orchestrator's plan, before any workstream runs."""

    def first_event_only(clock: SessionClock, at: datetime) -> None:
        if clock._last_at is None:  # the status bar's elapsed time: not how long planning took
            clock._last_at = at

    monkeypatch.setattr(SessionClock, "observe", first_event_only)
    launch = fast_launch(tmp_path)
    req = SessionRequest(command="develop", playbook="develop", task=DEMO_TASK,
                         spec_text=demo_spec(), simulated=True, project_dir=tmp_path)  # fmt: skip
    app_ref: list[MaoApp] = []
    session = OpenSession(launch, replace(req, review=plan_reviewer(launch, app_ref)))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    app_ref.append(app)

    async def reviewing(pilot: Pilot[Any]) -> None:
        while not isinstance(pilot.app.screen, PlanReviewScreen):
            await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=reviewing)
