"""History's store side: full-text search (SQLite FTS5) over tasks and outputs, its migration,
and a stored session replayed as the events that made it (what review shows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest
from fixtures.develop_session import ANSWERS, SESSION_ID, TASK, recorded_events

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    Delta,
    EngineEvent,
    SessionStarted,
    SessionStatus,
)
from mao_tui.domain.stored import SNIPPET_CLOSE, SNIPPET_OPEN
from mao_tui.store import Store
from mao_tui.store.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, split_statements
from mao_tui.store.reads import match_expression
from mao_tui.store.replay import events_from_detail


def _session(
    session_id: str, task: str, *, status: SessionStatus = SessionStatus.DONE, project: str = ""
) -> list[EngineEvent]:
    """The recorded develop session under another id, task, final status and project."""
    events: list[EngineEvent] = []
    for event in recorded_events():
        update: dict[str, object] = {"session_id": session_id}
        if isinstance(event, SessionStarted):
            update |= {"task": task, "project_dir": project or event.project_dir}
        if isinstance(event, AttemptStarted | Delta | AttemptFinished):
            update["attempt_id"] = f"{session_id}-{event.attempt_id}"
        if event.type == "session_finished":
            update["status"] = status
        events.append(event.model_copy(update=update))
    return events


async def _store(db_path: Path, *sessions: list[EngineEvent]) -> Store:
    store = await Store.open(db_path)
    sink = store.sink()
    for events in sessions:
        for event in events:
            await sink(event)
    await sink.aclose()
    return store


async def test_search_finds_sessions_by_task_and_output_words_ranking_the_task_first(
    db_path: Path,
) -> None:
    store = await _store(
        db_path,
        _session("01A", "Add per-client rate limiting"),
        _session("01B", "Write the storage layer", status=SessionStatus.FAILED, project="/x"),
        _session("01C", "Tidy the README"),
    )
    try:
        by_output = await store.search_sessions("write-behind")  # in the Storage answer only
        assert [hit.id for hit in by_output] == ["01C", "01B", "01A"]  # newest first
        assert all(hit.matched == "output" for hit in by_output)
        snippet = await store.session_snippet("01A", "write-behind")
        assert f"{SNIPPET_OPEN}write{SNIPPET_CLOSE}-{SNIPPET_OPEN}behind{SNIPPET_CLOSE}" in snippet

        storage = await store.search_sessions("storage")  # the task's match before the rest
        assert [(hit.id, hit.matched) for hit in storage] == [
            ("01B", "task"), ("01C", "output"), ("01A", "output"),
        ]  # fmt: skip
        task_snippet = await store.session_snippet("01B", "layer")
        assert task_snippet == f"Write the storage {SNIPPET_OPEN}layer{SNIPPET_CLOSE}"

        prefix = await store.search_sessions("limi")  # the last word matches as a prefix
        assert prefix[0].id == "01A" and prefix[0].matched == "task"
        stemmed = await store.search_sessions("limits buckets")  # every word, stemmed
        assert {hit.id for hit in stemmed} == {"01A", "01B", "01C"}
        assert await store.search_sessions("write-behind zebra") == []
        assert await store.session_snippet("01A", "zebra") == ""

        failed = await store.search_sessions("bucket", status="failed")
        assert [hit.id for hit in failed] == ["01B"]
        project = await store.search_sessions("", project_dir="/x")
        assert [hit.id for hit in project] == ["01B"]
        everything = await store.search_sessions("")
        assert [hit.id for hit in everything] == ["01C", "01B", "01A"]  # newest first
        assert everything[0].models and everything[0].task == "Tidy the README"
    finally:
        await store.close()


@pytest.mark.parametrize("typed", ['"', "OR (", "NEAR(a b)", "x*", "-- ;", "col:rate"])
async def test_anything_typed_is_a_safe_search(db_path: Path, typed: str) -> None:
    store = await _store(db_path, _session("01A", "Add rate limiting"))
    try:
        await store.search_sessions(typed)  # never an FTS5 syntax error
    finally:
        await store.close()
    assert match_expression("rate (limit") == '"rate" "limit"*'
    assert match_expression("  ") is None


async def test_the_migration_indexes_sessions_stored_before_it(db_path: Path) -> None:
    conn = await aiosqlite.connect(db_path, isolation_level=None)
    try:
        for version, script in enumerate(MIGRATIONS[:2], start=1):
            for statement in split_statements(script):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
        await conn.execute(
            "INSERT INTO sessions (id, created_at, command, playbook, task, status)"
            " VALUES ('01OLD', '2026-01-01T00:00:00.000000+00:00', 'develop', 'develop',"
            " 'An older session about zeppelins', 'done')"
        )
        assert await migrate(conn, db_path) == SCHEMA_VERSION
    finally:
        await conn.close()
    store = await Store.open(db_path)
    try:
        hits = await store.search_sessions("zeppelin")
    finally:
        await store.close()
    assert [hit.id for hit in hits] == ["01OLD"]
    with sqlite3.connect(db_path) as db:
        (spec,) = db.execute("SELECT spec_text FROM sessions").fetchone()
    assert spec == ""


async def test_deleting_a_session_removes_it_from_the_index(db_path: Path) -> None:
    store = await _store(db_path, _session("01A", "Add rate limiting"))
    await store.close()
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM sessions WHERE id = '01A'")
        assert db.execute("SELECT count(*) FROM search").fetchone() == (0,)


async def test_a_stored_session_replays_as_the_events_that_made_it(db_path: Path) -> None:
    store = await _store(db_path, recorded_events())
    try:
        detail = await store.get_session(SESSION_ID)
    finally:
        await store.close()
    assert detail is not None
    replayed = events_from_detail(detail)
    live = recorded_events()
    kinds = [e.type for e in replayed]
    assert kinds[:2] == ["session_started", "plan"] and kinds[-1] == "session_finished"
    assert [e.type for e in live if e.type != "delta"] == [k for k in kinds if k != "delta"]
    started = replayed[0]
    assert isinstance(started, SessionStarted) and started.task == TASK
    texts: dict[str, str] = {}
    for event in replayed:
        if isinstance(event, Delta) and event.channel == "text":
            texts[event.attempt_id] = texts.get(event.attempt_id, "") + event.text
    assert texts["att-storage-1"] == ANSWERS["storage"]
    assert [e.at for e in replayed] == sorted(e.at for e in replayed)
