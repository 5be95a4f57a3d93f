"""The session store: events in through the sink, records out through the queries."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import platformdirs
import pytest

from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EngineEvent,
    FallbackEvent,
    Plan,
    PlannedWorkstream,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
    new_id,
)
from mao_tui.store import (
    SCHEMA_VERSION,
    AmbiguousSessionIdError,
    AttemptRecord,
    SchemaTooNewError,
    Store,
    StoreSink,
    default_db_path,
    migrations,
)
from mao_tui.store.migrations import split_statements
from mao_tui.store.replay import EVENT_ORDER
from mao_tui.store.streamed import STREAMED_OUTPUT, STREAMED_THINKING
from mao_tui.store.writes import one_statement

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

PROVIDERS = {
    "gemini-3-pro": "google",
    "sonnet-4.5": "anthropic",
    "opus-4.5": "anthropic",
    "gpt-5.2": "openai",
    "gpt-5.2-codex": "openai",
}

# key, title, chain, depends_on
WORKSTREAMS: list[tuple[str, str, list[str], list[str]]] = [
    ("schemas", "Schemas", ["gemini-3-pro", "sonnet-4.5", "opus-4.5"], []),
    ("storage", "Storage", ["gpt-5.2-codex", "sonnet-4.5", "opus-4.5"], []),
    ("core_logic", "Core logic", ["gpt-5.2", "opus-4.5"], ["schemas"]),
    (
        "implementation",
        "Implementation",
        ["sonnet-4.5", "gpt-5.2-codex", "opus-4.5"],
        ["core_logic"],
    ),
    ("tests", "Tests", ["gpt-5.2-codex", "sonnet-4.5", "opus-4.5"], ["implementation"]),
]


def make_plan(keys: Iterable[str] | None = None) -> Plan:
    wanted = set(keys) if keys is not None else {key for key, *_ in WORKSTREAMS}
    return Plan(
        playbook="develop",
        workstreams=[
            PlannedWorkstream(key=key, title=title, route=key, chain=chain, depends_on=deps)
            for key, title, chain, deps in WORKSTREAMS
            if key in wanted
        ],
        synthesis=PlannedWorkstream(
            key=SYNTHESIS_KEY,
            title="Synthesis",
            route="synthesis",
            chain=["opus-4.5", "gpt-5.2"],
            depends_on=[key for key, *_ in WORKSTREAMS],
        ),
    )


class Script:
    """Builds a realistic event sequence with a clock that advances one second per event."""

    def __init__(self, session_id: str, start: datetime = T0) -> None:
        self.session_id = session_id
        self.clock = start
        self.events: list[EngineEvent] = []

    def tick(self) -> datetime:
        moment = self.clock
        self.clock += timedelta(seconds=1)
        return moment

    def add(self, event: EngineEvent) -> None:
        self.events.append(event)

    def start(self, *, task: str = "Add a login page") -> None:
        self.add(
            SessionStarted(
                session_id=self.session_id,
                at=self.tick(),
                command="develop",
                playbook="develop",
                task=task,
                simulated=True,
                project_dir="/srv/app",
            )
        )

    def plan(self, plan: Plan) -> None:
        self.add(PlanReady(session_id=self.session_id, at=self.tick(), plan=plan))

    def attempt(self, workstream: str, model: str, attempt_no: int = 1) -> str:
        attempt_id = new_id()
        self.add(
            AttemptStarted(
                session_id=self.session_id,
                at=self.tick(),
                attempt_id=attempt_id,
                workstream=workstream,
                model=model,
                provider=PROVIDERS[model],
                api_model=f"{model}-api",
                attempt_no=attempt_no,
                thinking=model != "gpt-5.2-codex",
            )
        )
        return attempt_id

    def make_delta(self, attempt_id: str, workstream: str, channel: str, text: str) -> Delta:
        assert channel in ("thinking", "text")
        return Delta(
            session_id=self.session_id,
            at=self.tick(),
            attempt_id=attempt_id,
            workstream=workstream,
            channel="thinking" if channel == "thinking" else "text",
            text=text,
        )

    def delta(self, attempt_id: str, workstream: str, channel: str, text: str) -> None:
        self.add(self.make_delta(attempt_id, workstream, channel, text))

    def finish_attempt(
        self,
        attempt_id: str,
        workstream: str,
        model: str,
        usage: TokenTotals,
        status: AttemptStatus = AttemptStatus.OK,
        error: tuple[str, str] | None = None,
    ) -> None:
        self.add(
            AttemptFinished(
                session_id=self.session_id,
                at=self.tick(),
                attempt_id=attempt_id,
                workstream=workstream,
                model=model,
                status=status,
                error_kind=error[0] if error else None,
                error_message=error[1] if error else None,
                usage=usage,
                elapsed_s=12.5,
            )
        )


def running_session(workstream: str = "schemas", model: str = "gemini-3-pro") -> tuple[Script, str]:
    """A started, planned session with one attempt streaming; returns it and the attempt id."""
    script = Script(new_id())
    script.start()
    script.plan(make_plan())
    return script, script.attempt(workstream, model)


def usage(n: int, *, complete: bool = True) -> TokenTotals:
    return TokenTotals(
        input_tokens=1000 * n,
        output_tokens=100 * n,
        thinking_tokens=10 * n,
        cost_usd=0.0125 * n,
        cost_complete=complete,
    )


def full_session(session_id: str, start: datetime = T0) -> Script:
    """Five workstreams in parallel; Schemas times out on Gemini and falls back to Sonnet."""
    s = Script(session_id, start)
    s.start()
    plan = make_plan()
    s.plan(plan)
    primaries = {key: s.attempt(key, chain[0]) for key, _, chain, _ in WORKSTREAMS}
    # Streams interleave across workstreams, as they do when models run at once.
    for i in range(3):
        for key, attempt_id in primaries.items():
            s.delta(attempt_id, key, "thinking", f"{key} thinks {i}; ")
            s.delta(attempt_id, key, "text", f"{key} «writes» {i}\n")
    s.finish_attempt(
        primaries["schemas"],
        "schemas",
        "gemini-3-pro",
        usage(1),
        AttemptStatus.FAILED,
        ("timeout", "no data for 120 s"),
    )
    s.add(
        FallbackEvent(
            session_id=session_id,
            at=s.tick(),
            workstream="schemas",
            workstream_title="Schemas",
            from_model="gemini-3-pro",
            to_model="sonnet-4.5",
            reason="timeout",
            detail="no data for 120 s",
        )
    )
    retry = s.attempt("schemas", "sonnet-4.5", attempt_no=2)
    s.delta(retry, "schemas", "thinking", "Gemini timed out; ")
    s.delta(retry, "schemas", "text", "```sql\nCREATE TABLE user (id);\n```")
    s.finish_attempt(retry, "schemas", "sonnet-4.5", usage(2))
    for n, (key, _, chain, _) in enumerate(WORKSTREAMS, start=3):
        model = "sonnet-4.5" if key == "schemas" else chain[0]
        if key != "schemas":
            s.finish_attempt(primaries[key], key, model, usage(n))
        s.add(
            WorkstreamFinished(
                session_id=session_id,
                at=s.tick(),
                workstream=key,
                model=model,
                status=WorkstreamStatus.DONE,
                usage=usage(n),
            )
        )
    overloaded = s.attempt(SYNTHESIS_KEY, "opus-4.5")
    s.delta(overloaded, SYNTHESIS_KEY, "text", "# Log")
    s.finish_attempt(
        overloaded,
        SYNTHESIS_KEY,
        "opus-4.5",
        usage(8),
        AttemptStatus.FAILED,
        ("overloaded", "529 overloaded_error"),
    )
    synth = s.attempt(SYNTHESIS_KEY, "opus-4.5", attempt_no=2)  # retried, same model
    s.delta(synth, SYNTHESIS_KEY, "thinking", "Merging five parts. ")
    s.delta(synth, SYNTHESIS_KEY, "text", "# Login page\n")
    s.delta(synth, SYNTHESIS_KEY, "text", "All five parts, merged. 🎉")
    s.finish_attempt(synth, SYNTHESIS_KEY, "opus-4.5", usage(9, complete=False))
    s.add(
        SynthesisFinished(
            session_id=session_id,
            at=s.tick(),
            model="opus-4.5",
            status=WorkstreamStatus.DONE,
            text="# Login page\nAll five parts, merged. 🎉",
            usage=usage(9, complete=False),
        )
    )
    totals = TokenTotals()
    for event in s.events:
        if isinstance(event, AttemptFinished):
            totals.add(event.usage)
    s.add(
        SessionFinished(
            session_id=session_id,
            at=s.tick(),
            status=SessionStatus.DONE,
            totals=totals,
            elapsed_s=95.25,
        )
    )
    return s


def expected_attempts(events: list[EngineEvent]) -> list[AttemptRecord]:
    """What the store should hold for every attempt, derived from the events alone."""
    started = [e for e in events if isinstance(e, AttemptStarted)]
    finished = {e.attempt_id: e for e in events if isinstance(e, AttemptFinished)}
    records = []
    for start in started:
        end = finished[start.attempt_id]
        deltas = [e for e in events if isinstance(e, Delta) and e.attempt_id == start.attempt_id]
        records.append(
            AttemptRecord(
                id=start.attempt_id,
                workstream=start.workstream,
                model=start.model,
                provider=start.provider,
                api_model=start.api_model,
                attempt_no=start.attempt_no,
                thinking=start.thinking,
                started_at=start.at,
                finished_at=end.at,
                status=end.status,
                error_kind=end.error_kind,
                error_message=end.error_message,
                thinking_text="".join(d.text for d in deltas if d.channel == "thinking"),
                output_text="".join(d.text for d in deltas if d.channel == "text"),
                elapsed_s=end.elapsed_s,
                **end.usage.model_dump(),
            )
        )
    return records


async def push(sink: StoreSink, events: Iterable[EngineEvent]) -> None:
    for event in events:
        await sink(event)


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read through a second, plain connection: what another process would see."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def attempt_texts(db: Path, attempt_id: str) -> tuple[str, str]:
    [(thinking, text)] = query(
        db,
        f"SELECT {STREAMED_THINKING}, {STREAMED_OUTPUT} FROM attempts WHERE id = ?",
        (attempt_id,),
    )
    return thinking, text


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(db_path)
    yield store
    await store.close()


# --- round trip ---------------------------------------------------------------------------


async def test_full_session_reads_back_exactly(store: Store) -> None:
    script = full_session(new_id())
    events = script.events
    sink = store.sink()
    await push(sink, events)
    # SessionFinished commits before returning: read before closing the sink.
    detail = await store.get_session(script.session_id)
    await sink.aclose()

    assert detail is not None
    finished = events[-1]
    assert isinstance(finished, SessionFinished)
    assert detail.id == script.session_id
    assert detail.created_at == T0
    assert detail.finished_at == finished.at
    assert (detail.command, detail.playbook, detail.task) == (
        "develop",
        "develop",
        "Add a login page",
    )
    assert detail.status is SessionStatus.DONE
    assert detail.simulated is True
    assert detail.project_dir == "/srv/app"
    assert detail.elapsed_s == 95.25
    assert detail.error is None
    assert detail.usage == finished.totals
    assert detail.cost_complete is False
    assert detail.models == ["gemini-3-pro", "gpt-5.2-codex", "gpt-5.2", "sonnet-4.5", "opus-4.5"]
    assert detail.plan == make_plan()

    assert [w.key for w in detail.workstreams] == [key for key, *_ in WORKSTREAMS]
    assert [w.position for w in detail.workstreams] == [0, 1, 2, 3, 4]
    schemas = detail.workstreams[0]
    assert schemas.title == "Schemas"
    assert schemas.route == "schemas"
    assert schemas.chain == ["gemini-3-pro", "sonnet-4.5", "opus-4.5"]
    assert detail.workstreams[2].depends_on == ["schemas"]
    assert schemas.final_model == "sonnet-4.5"
    assert all(w.status is WorkstreamStatus.DONE for w in detail.workstreams)
    assert [w.usage for w in detail.workstreams] == [usage(n) for n in range(3, 8)]
    assert all(w.finished_at is not None for w in detail.workstreams)

    assert detail.attempts == expected_attempts(events)
    failed, retry = detail.attempts_for("schemas")
    assert (failed.status, failed.error_kind) == (AttemptStatus.FAILED, "timeout")
    assert failed.output_text == "schemas «writes» 0\nschemas «writes» 1\nschemas «writes» 2\n"
    assert failed.thinking_text == "schemas thinks 0; schemas thinks 1; schemas thinks 2; "
    assert (retry.model, retry.attempt_no, retry.status) == ("sonnet-4.5", 2, AttemptStatus.OK)
    assert retry.output_text == "```sql\nCREATE TABLE user (id);\n```"
    assert detail.attempts_for("storage")[0].thinking is False

    [fallback] = detail.fallbacks
    event = next(e for e in events if isinstance(e, FallbackEvent))
    assert fallback.line == "Schemas: fallback from gemini-3-pro to sonnet-4.5 (timeout)"
    assert fallback.line == event.line
    assert (fallback.at, fallback.detail) == (event.at, "no data for 120 s")

    synthesis = detail.synthesis
    assert synthesis is not None
    assert synthesis.model == "opus-4.5"
    first_try, second_try = detail.attempts_for(SYNTHESIS_KEY)
    assert (first_try.status, first_try.output_text) == (AttemptStatus.FAILED, "# Log")
    assert synthesis.attempt_id == second_try.id
    assert synthesis.status is WorkstreamStatus.DONE
    assert synthesis.text == "# Login page\nAll five parts, merged. 🎉"
    assert synthesis.text == second_try.output_text
    assert synthesis.usage == usage(9, complete=False)


async def test_fallback_to_nothing_reads_as_chain_exhausted(store: Store) -> None:
    script = Script(new_id())
    script.start()
    script.plan(make_plan())
    script.add(
        FallbackEvent(
            session_id=script.session_id,
            workstream="tests",
            workstream_title="Tests",
            from_model="opus-4.5",
            to_model=None,
            reason="quota",
        )
    )
    await push(store.sink(), script.events)
    detail = await store.get_session(script.session_id)
    assert detail is not None
    assert (
        detail.fallbacks[0].line
        == "Tests: fallback from opus-4.5 to nothing (chain exhausted) (quota)"
    )


# --- streaming writes -----------------------------------------------------------------------


async def test_deltas_are_buffered_then_visible_before_the_session_finishes(
    store: Store, db_path: Path
) -> None:
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)

    thinking = [f"step {i}. " for i in range(50)]
    text = [f"token{i} " for i in range(50)]
    for a, b in zip(thinking, text, strict=True):
        await sink(script.make_delta(attempt_id, "schemas", "thinking", a))
        await sink(script.make_delta(attempt_id, "schemas", "text", b))
    assert attempt_texts(store.path, attempt_id) == ("", "")  # nothing written per token
    assert sink.buffered == 100

    await sink.flush()
    assert sink.buffered == 0
    assert attempt_texts(db_path, attempt_id) == ("".join(thinking), "".join(text))
    assert query(db_path, "SELECT status FROM sessions") == [("running",)]

    await sink(script.make_delta(attempt_id, "schemas", "text", "more"))
    await sink.flush()
    assert attempt_texts(db_path, attempt_id)[1] == "".join(text) + "more"
    await sink.aclose()


async def test_background_task_flushes_without_being_asked(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=0)
    await push(sink, script.events)

    due = asyncio.Event()
    real_flush_due = sink._flush_due

    def observed_flush_due() -> None:
        real_flush_due()
        due.set()

    monkeypatch.setattr(sink, "_flush_due", observed_flush_due)
    await sink(script.make_delta(attempt_id, "schemas", "text", "streamed"))
    await asyncio.wait_for(due.wait(), timeout=10)
    await store.settle()  # the flush's statement was queued without a reply to wait for
    assert attempt_texts(db_path, attempt_id) == ("", "streamed")
    await sink.aclose()


def two_attempts() -> tuple[Script, str, str]:
    """A planned session with two running attempts: schemas on Gemini, storage on GPT."""
    script = Script(new_id())
    script.start()
    script.plan(make_plan())
    first = script.attempt("schemas", "gemini-3-pro")
    second = script.attempt("storage", "gpt-5.2-codex")
    return script, first, second


async def test_attempt_finished_writes_only_its_own_buffer_first(
    store: Store, db_path: Path
) -> None:
    script, first, second = two_attempts()
    for attempt_id, key in ((first, "schemas"), (second, "storage")):
        script.delta(attempt_id, key, "thinking", f"{key} thinking")
        script.delta(attempt_id, key, "text", f"{key} answer")
    script.finish_attempt(first, "schemas", "gemini-3-pro", usage(1))
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)

    assert attempt_texts(db_path, first) == ("schemas thinking", "schemas answer")
    assert query(db_path, "SELECT status FROM attempts WHERE id = ?", (first,)) == [("ok",)]
    assert attempt_texts(db_path, second) == ("", "")
    assert sink.buffered == 2
    await sink.aclose()
    assert attempt_texts(db_path, second) == ("storage thinking", "storage answer")


async def test_an_attempts_end_and_its_last_text_are_one_statement_without_a_transaction(
    store: Store, db_path: Path
) -> None:
    """One round trip to SQLite's thread: atomic by itself, the search trigger included."""
    script, attempt_id = running_session("schemas", "gemini-3-pro")
    script.delta(attempt_id, "schemas", "thinking", "some thinking")
    script.delta(attempt_id, "schemas", "text", "the zanzibar answer")
    script.finish_attempt(attempt_id, "schemas", "gemini-3-pro", usage(1))
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events[:-1])
    statements: list[str] = []
    await store._conn.set_trace_callback(statements.append)
    await push(sink, script.events[-1:])
    await store._conn.set_trace_callback(None)

    top_level = {" ".join(sql.split()[:2]) for sql in statements if not sql.startswith("--")}
    assert top_level == {"UPDATE attempts"}  # no BEGIN, no COMMIT, no second statement
    assert attempt_texts(db_path, attempt_id) == ("some thinking", "the zanzibar answer")
    assert query(db_path, "SELECT status FROM attempts") == [("ok",)]
    assert [hit.id for hit in await store.search_sessions("zanzibar")] == [script.session_id]
    await sink.aclose()


async def test_every_event_written_alone_takes_one_statement_and_no_transaction(
    store: Store,
) -> None:
    """The sink writes an event outside a transaction exactly when ``one_statement`` gives its
    statement: an event written alone with two statements would be half written by a crash."""
    events = [e for e in full_session(new_id()).events if not isinstance(e, Delta)]
    sink = store.sink(flush_interval=3600)
    alone = 0
    for event in events:
        statements: list[str] = []
        await store._conn.set_trace_callback(statements.append)
        await sink(event)
        await store._conn.set_trace_callback(None)
        # Less triggers' statements ("-- ...") and FTS5's own reads of its tables ('main'.x);
        # SQLite may trace a statement more than once.
        top_level = [s for s in statements if not s.startswith("--") and "'main'." not in s]
        if one_statement(event) is not None:
            alone += 1
            assert len(set(top_level)) == 1, (type(event).__name__, top_level)
        else:
            assert top_level[0] == "BEGIN IMMEDIATE", (type(event).__name__, top_level)
            assert top_level[-1] == "COMMIT"
    assert alone > len(events) / 2
    await sink.aclose()


async def test_an_event_written_in_a_transaction_takes_the_buffered_text_with_it(
    store: Store, db_path: Path
) -> None:
    """A transaction happens anyway: the text waiting for the next flush goes in it."""
    script, first, second = two_attempts()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    await sink(script.make_delta(first, "schemas", "text", "before the re-plan"))
    assert sink.buffered == 1
    script.plan(make_plan())
    await push(sink, script.events[-1:])  # PlanReady: a transaction
    assert sink.buffered == 0
    assert attempt_texts(db_path, first) == ("", "before the re-plan")
    assert attempt_texts(db_path, second) == ("", "")
    await sink.aclose()


async def test_one_flush_appends_every_attempts_text_to_its_own_row(
    store: Store, db_path: Path
) -> None:
    script, first, second = two_attempts()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    for round_no in range(2):
        await sink(script.make_delta(first, "schemas", "thinking", f"t{round_no} "))
        await sink(script.make_delta(second, "storage", "text", f"a{round_no} "))
        await sink.flush()
    assert attempt_texts(db_path, first) == ("t0 t1 ", "")
    assert attempt_texts(db_path, second) == ("", "a0 a1 ")
    await sink.aclose()


async def test_session_finished_writes_every_buffer(store: Store, db_path: Path) -> None:
    script, attempt_id = running_session("core_logic", "gpt-5.2")
    script.delta(attempt_id, "core_logic", "text", "half an answer")
    script.add(
        SessionFinished(
            session_id=script.session_id,
            status=SessionStatus.CANCELLED,
            totals=TokenTotals(),
            elapsed_s=3.0,
            error="cancelled by the user",
        )
    )
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    assert sink.buffered == 0
    assert attempt_texts(db_path, attempt_id) == ("", "half an answer")
    assert query(db_path, "SELECT status, error FROM sessions") == [
        ("cancelled", "cancelled by the user")
    ]
    await sink.aclose()


async def test_a_failed_flush_keeps_its_text_ahead_of_text_that_arrived_meanwhile(
    store: Store, db_path: Path
) -> None:
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    inside_update, release = threading.Event(), threading.Event()

    def fail_when_released() -> None:  # runs on the connection's thread, inside the UPDATE
        inside_update.set()
        release.wait(timeout=10)
        raise RuntimeError("disk on fire")

    async with store.transaction() as conn:
        await conn.create_function("fail_when_released", 0, fail_when_released)
        await conn.execute(
            "CREATE TEMP TRIGGER reject_text BEFORE INSERT ON streamed"
            " BEGIN SELECT fail_when_released(); END"
        )
    await sink(script.make_delta(attempt_id, "schemas", "text", "one "))
    await sink(script.make_delta(attempt_id, "schemas", "text", "two "))
    flushing = asyncio.create_task(sink.flush())
    try:
        assert await asyncio.to_thread(inside_update.wait, 10)
        await sink(script.make_delta(attempt_id, "schemas", "text", "three"))
    finally:
        release.set()
    with pytest.raises(sqlite3.OperationalError, match="user-defined function raised"):
        await flushing
    assert sink.buffered == 3
    assert attempt_texts(db_path, attempt_id) == ("", "")

    async with store.transaction() as conn:
        await conn.execute("DROP TRIGGER temp.reject_text")
    await sink.flush()
    assert attempt_texts(db_path, attempt_id) == ("", "one two three")
    await sink.aclose()


async def hold_text_updates(store: Store) -> tuple[threading.Event, threading.Event]:
    """A temporary trigger holding every text UPDATE on SQLite's thread until released."""
    inside_update, release = threading.Event(), threading.Event()

    def hold_until_released() -> None:
        inside_update.set()
        release.wait(timeout=10)

    async with store.transaction() as conn:
        await conn.create_function("hold_until_released", 0, hold_until_released)
        await conn.execute(
            "CREATE TEMP TRIGGER hold_text BEFORE INSERT ON streamed"
            " BEGIN SELECT hold_until_released(); END"
        )
    return inside_update, release


async def test_a_flush_cancelled_while_its_statement_runs_writes_its_text_once(
    store: Store, db_path: Path
) -> None:
    """The statement runs on SQLite's thread whatever happens to the task that sent it: a
    cancelled flush must not put its text back to be written a second time, and closing the
    sink after it writes the rest."""
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    inside_update, release = await hold_text_updates(store)
    await sink(script.make_delta(attempt_id, "schemas", "text", "once "))
    flushing = asyncio.create_task(sink.flush())
    try:
        assert await asyncio.to_thread(inside_update.wait, 10)
        await sink(script.make_delta(attempt_id, "schemas", "text", "and more"))
        closing = asyncio.create_task(sink.aclose())
        await asyncio.sleep(0)  # closing starts: it waits for the connection
        flushing.cancel()
        await asyncio.wait([flushing])
        assert flushing.cancelled()
    finally:
        release.set()
    await closing
    assert attempt_texts(db_path, attempt_id) == ("", "once and more")


async def test_closing_waits_for_a_periodic_flush_still_on_sqlites_thread(
    store: Store, db_path: Path
) -> None:
    """A periodic flush is queued without a reply: closing the sink writes the rest after it,
    and returns only once both are on disk."""
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=0)
    await push(sink, script.events)
    inside_update, release = await hold_text_updates(store)
    await sink(script.make_delta(attempt_id, "schemas", "text", "once "))
    try:
        assert await asyncio.to_thread(inside_update.wait, 10)
        assert sink._in_flight()
        assert [t for t in asyncio.all_tasks() if t.get_name() == "mao-store-flush"] == []
        await sink(script.make_delta(attempt_id, "schemas", "text", "and more"))
        closing = asyncio.create_task(sink.aclose())
        await asyncio.sleep(0)  # closing starts: it waits for the flush on SQLite's thread
        assert not closing.done()
    finally:
        release.set()
    await closing
    assert attempt_texts(db_path, attempt_id) == ("", "once and more")


async def test_a_periodic_flush_that_fails_puts_its_text_back_in_order(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A flush queued without a reply that fails (not for lack of room) gives its text back in
    front of what came after it, and the next write stores all of it, in order."""
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=0)
    await push(sink, script.events)
    async with store.transaction() as conn:
        await conn.execute(
            "CREATE TEMP TRIGGER refuse_once BEFORE INSERT ON streamed"
            " WHEN NOT EXISTS (SELECT 1 FROM temp.refused)"
            " BEGIN SELECT RAISE(ABORT, 'refused once'); END"
        )
        await conn.execute("CREATE TEMP TABLE refused (x)")
    await sink(script.make_delta(attempt_id, "schemas", "text", "first "))
    await sink(script.make_delta(attempt_id, "schemas", "text", "second "))  # flushes, fails
    await store.settle()  # the failure has been reported
    assert "refused once" in caplog.text
    assert attempt_texts(db_path, attempt_id) == ("", "")
    async with store.alone() as conn:
        await conn.execute("INSERT INTO temp.refused VALUES (1)")
    await sink(script.make_delta(attempt_id, "schemas", "text", "third"))
    await sink.aclose()
    assert attempt_texts(db_path, attempt_id) == ("", "first second third")


async def test_a_delta_late_in_the_interval_flushes_without_the_timer(
    store: Store, db_path: Path
) -> None:
    """While text streams, the loop is awake for each delta: one that comes in the last quarter
    of the interval writes the text then, and the timer never wakes the loop."""
    script, attempt_id = running_session()
    sink = store.sink(flush_interval=0)  # every delta after the first is late
    await push(sink, script.events)
    await sink(script.make_delta(attempt_id, "schemas", "text", "a "))
    assert sink._timer is not None
    await sink(script.make_delta(attempt_id, "schemas", "text", "b"))
    assert sink._timer is None and sink.buffered == 0
    await store.settle()
    assert attempt_texts(db_path, attempt_id) == ("", "a b")
    await sink.aclose()


async def test_aclose_flushes_stops_the_timer_and_refuses_more_events(
    store: Store, db_path: Path
) -> None:
    script, attempt_id = running_session()
    script.delta(attempt_id, "schemas", "text", "tail")
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)

    assert sink._timer is not None
    await sink.aclose()
    assert sink._timer is None
    assert [t for t in asyncio.all_tasks() if t.get_name() == "mao-store-flush"] == []
    assert attempt_texts(db_path, attempt_id) == ("", "tail")
    with pytest.raises(RuntimeError, match="closed"):
        await sink(script.events[-1])
    await sink.aclose()  # idempotent


async def test_one_timer_and_one_flush_for_all_the_text_of_an_interval(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, first, second = two_attempts()
    sink = store.sink(flush_interval=0.5)  # 100 deltas take far less than its first 3/4
    await push(sink, script.events)
    flushes: list[int] = []
    flushed = asyncio.Event()
    real_flush_due = sink._flush_due

    def observed_flush_due() -> None:
        flushes.append(sink.buffered)
        real_flush_due()
        flushed.set()

    monkeypatch.setattr(sink, "_flush_due", observed_flush_due)
    timers = set()
    for n in range(50):
        await sink(script.make_delta(first, "schemas", "text", f"{n} "))
        await sink(script.make_delta(second, "storage", "thinking", f"{n} "))
        timers.add(id(sink._timer))
    await asyncio.wait_for(flushed.wait(), timeout=10)
    await store.settle()
    assert len(timers) == 1
    assert flushes == [100]
    expected = "".join(f"{n} " for n in range(50))
    assert attempt_texts(db_path, first) == ("", expected)
    assert attempt_texts(db_path, second) == (expected, "")
    assert sink._timer is None  # nothing waits: no timer, no flush
    await sink.aclose()


async def test_no_periodic_flush_once_an_event_wrote_the_text(store: Store, db_path: Path) -> None:
    script, first, second = two_attempts()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    await sink(script.make_delta(first, "schemas", "text", "streamed"))
    assert sink._timer is not None
    script.plan(make_plan())
    await push(sink, script.events[-1:])  # PlanReady, in a transaction with the text
    assert sink._timer is None
    await sink(script.make_delta(second, "storage", "text", "more"))
    script.finish_attempt(second, "storage", "gpt-5.2-codex", usage(1))
    await push(sink, script.events[-1:])  # AttemptFinished, with its own text
    assert sink._timer is None
    assert attempt_texts(db_path, second) == ("", "more")
    await sink.aclose()


async def test_closing_the_store_flushes_its_sinks(db_path: Path) -> None:
    store = await Store.open(db_path)
    script, attempt_id = running_session()
    script.delta(attempt_id, "schemas", "thinking", "unsaved thought")
    await push(store.sink(flush_interval=3600), script.events)
    await store.close()
    assert attempt_texts(db_path, attempt_id) == ("unsaved thought", "")
    assert [t for t in asyncio.all_tasks() if t.get_name() == "mao-store-flush"] == []


async def test_replan_keeps_surviving_workstreams_and_drops_the_rest(store: Store) -> None:
    script = Script(new_id())
    script.start()
    script.plan(make_plan(["schemas", "storage", "tests"]))
    script.attempt("schemas", "gemini-3-pro")
    script.plan(make_plan(["schemas", "core_logic", "tests"]))
    await push(store.sink(), script.events)
    detail = await store.get_session(script.session_id)
    assert detail is not None
    assert [(w.key, w.position, w.status) for w in detail.workstreams] == [
        ("schemas", 0, WorkstreamStatus.RUNNING),
        ("core_logic", 1, WorkstreamStatus.PENDING),
        ("tests", 2, WorkstreamStatus.PENDING),
    ]
    assert detail.plan == make_plan(["schemas", "core_logic", "tests"])


async def test_two_processes_can_write_the_same_file_at_once(db_path: Path) -> None:
    first, second = await asyncio.gather(Store.open(db_path), Store.open(db_path))
    try:
        one, two = full_session(new_id()), full_session(new_id(), T0 + timedelta(hours=1))
        sink_one, sink_two = first.sink(flush_interval=0), second.sink(flush_interval=0)
        await asyncio.gather(push(sink_one, one.events), push(sink_two, two.events))
        for script in (one, two):
            detail = await first.get_session(script.session_id)
            assert detail is not None
            assert detail.attempts == expected_attempts(script.events)
            assert detail.status is SessionStatus.DONE
    finally:
        await first.close()
        await second.close()


# --- queries --------------------------------------------------------------------------------


async def test_list_sessions_newest_first_with_summary_fields(store: Store) -> None:
    sink = store.sink()
    older = full_session(new_id(), T0)
    newest = Script(new_id(), T0 + timedelta(hours=2))
    newest.start(task="Fix the flaky test")
    newest.plan(make_plan())
    skipped = newest.attempt("core_logic", "gpt-5.2")
    newest.finish_attempt(skipped, "core_logic", "gpt-5.2", TokenTotals(), AttemptStatus.SKIPPED)
    newest.attempt("core_logic", "opus-4.5", attempt_no=2)
    middle = Script(new_id(), T0 + timedelta(hours=1))
    middle.start(task="Nothing ran")
    for script in (newest, older, middle):  # not in time order
        await push(sink, script.events)

    summaries = await store.list_sessions()
    assert [s.id for s in summaries] == [newest.session_id, middle.session_id, older.session_id]
    first, second, third = summaries
    assert first.task == "Fix the flaky test"
    assert first.status is SessionStatus.RUNNING
    assert first.models == ["opus-4.5"]  # the skipped model never ran
    assert first.created_at == T0 + timedelta(hours=2)
    assert (first.finished_at, first.elapsed_s) == (None, None)
    assert second.models == []
    assert (second.input_tokens, second.cost_usd, second.cost_complete) == (0, 0.0, True)
    assert third.status is SessionStatus.DONE
    assert third.models == ["gemini-3-pro", "gpt-5.2-codex", "gpt-5.2", "sonnet-4.5", "opus-4.5"]
    older_finished = older.events[-1]
    assert isinstance(older_finished, SessionFinished)
    assert third.usage == older_finished.totals
    assert (third.command, third.playbook, third.simulated) == ("develop", "develop", True)
    assert (third.project_dir, third.elapsed_s) == ("/srv/app", 95.25)

    assert [s.id for s in await store.list_sessions(limit=2)] == [
        newest.session_id,
        middle.session_id,
    ]
    await sink.aclose()


async def test_get_session_by_unique_prefix(store: Store) -> None:
    ids = ["01JQAAAAAAAAAAAAAAAAAAAAA1", "01JQAAAAAAAAAAAAAAAAAAAAA2", "01JQBBBBBBBBBBBBBBBBBBBBBB"]
    sink = store.sink()
    for session_id in ids:
        script = Script(session_id)
        script.start()
        await push(sink, script.events)

    for prefix in ("01JQB", "01jqb", " 01JQBB ", ids[2]):
        detail = await store.get_session(prefix)
        assert detail is not None and detail.id == ids[2], prefix
    detail = await store.get_session(ids[0])
    assert detail is not None and detail.id == ids[0]
    assert await store.get_session("01JQC") is None
    assert await store.get_session("01JP") is None
    assert await store.get_session("") is None

    with pytest.raises(AmbiguousSessionIdError) as caught:
        await store.get_session("01jqa")
    assert caught.value.matches == ids[:2]
    assert "01JQA" in str(caught.value) and "ambiguous" in str(caught.value)
    with pytest.raises(AmbiguousSessionIdError):
        await store.get_session("01JQ")
    await sink.aclose()


async def test_get_session_before_any_plan(store: Store) -> None:
    script = Script(new_id())
    script.start()
    await push(store.sink(), script.events)
    detail = await store.get_session(script.session_id)
    assert detail is not None
    assert detail.plan is None
    assert (detail.workstreams, detail.attempts, detail.fallbacks) == ([], [], [])
    assert detail.synthesis is None


# --- interrupted sessions -------------------------------------------------------------------


def reaped_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_mark_interrupted_only_touches_dead_processes_on_this_host(
    store: Store, db_path: Path
) -> None:
    dead = reaped_pid()
    here = socket.gethostname()
    rows = {
        "01JQDEAD00000000000000000A": ("running", dead, here),
        "01JQALIVE0000000000000000B": (
            "running",
            None,
            here,
        ),  # keeps the pid the sink recorded: ours
        "01JQELSEWHERE000000000000C": ("running", dead, "another-host"),
        "01JQD0NE00000000000000000D": ("done", dead, here),
    }
    sink = store.sink()
    for session_id in rows:
        script = Script(session_id)
        script.start()
        await push(sink, script.events)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        for session_id, (status, pid, host) in rows.items():
            if pid is not None:
                conn.execute(
                    "UPDATE sessions SET status = ?, pid = ?, hostname = ? WHERE id = ?",
                    (status, pid, host, session_id),
                )

    assert await store.mark_interrupted() == 1
    statuses = dict(query(db_path, "SELECT id, status FROM sessions"))
    assert statuses == {
        "01JQDEAD00000000000000000A": "interrupted",
        "01JQALIVE0000000000000000B": "running",
        "01JQELSEWHERE000000000000C": "running",
        "01JQD0NE00000000000000000D": "done",
    }
    detail = await store.get_session("01JQDEAD")
    assert detail is not None
    assert detail.status is SessionStatus.INTERRUPTED
    assert detail.error is not None and str(dead) in detail.error
    assert await store.mark_interrupted() == 0
    await sink.aclose()


# --- schema and connection ------------------------------------------------------------------

TABLES = {"sessions", "workstreams", "attempts", "fallbacks", "syntheses"}


def tables(db: Path) -> set[str]:
    return {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def user_version(db: Path) -> int:
    [(version,)] = query(db, "PRAGMA user_version")
    return int(version)


async def test_fresh_file_is_migrated_and_reopening_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "dir" / "mao.db"
    store = await Store.open(db)
    script = full_session(new_id())
    await push(store.sink(), script.events)
    await store.close()
    assert user_version(db) == SCHEMA_VERSION == len(migrations.MIGRATIONS)
    assert tables(db) >= TABLES
    indexes = {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"sessions_by_created_at", "attempts_by_session"} <= indexes

    reopened = await Store.open(db)
    try:
        assert user_version(db) == SCHEMA_VERSION
        assert [s.id for s in await reopened.list_sessions()] == [script.session_id]
    finally:
        await reopened.close()


async def test_concurrent_first_opens_migrate_once(db_path: Path) -> None:
    stores = await asyncio.gather(*(Store.open(db_path) for _ in range(4)))
    for store in stores:
        await store.close()
    assert user_version(db_path) == SCHEMA_VERSION


async def test_a_later_migration_upgrades_and_a_failing_one_rolls_back(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await (await Store.open(db_path)).close()
    broken = "CREATE TABLE half_done (x INTEGER); CREATE TABLE sessions (x INTEGER);"
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        await Store.open(db_path)
    assert user_version(db_path) == SCHEMA_VERSION
    assert "half_done" not in tables(db_path)

    search = """
        CREATE VIRTUAL TABLE attempts_fts USING fts5(
            output_text, content = 'attempts', content_rowid = 'seq');
        CREATE TRIGGER attempts_fts_insert AFTER INSERT ON attempts BEGIN
            INSERT INTO attempts_fts (rowid, output_text) VALUES (new.seq, new.output_text);
        END;
    """
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS[:SCHEMA_VERSION], search])
    store = await Store.open(db_path)
    await store.close()
    assert user_version(db_path) == SCHEMA_VERSION + 1
    assert "attempts_fts" in tables(db_path)


async def test_a_database_from_before_the_attempt_trigger_starts_workstreams_after_upgrade(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 17 moves "an attempt's start sets its workstream running" into a trigger; a
    file written before it is upgraded and keeps working."""
    script = Script(new_id())
    script.start()
    script.plan(make_plan())
    before = migrations.MIGRATIONS.index(migrations.ATTEMPT_STARTS_WORKSTREAM)
    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:before])
        store = await Store.open(db_path)
        await push(store.sink(), script.events)
        await store.close()
    assert user_version(db_path) == before
    assert "attempt_starts_workstream" not in triggers(db_path)

    store = await Store.open(db_path)
    assert user_version(db_path) == SCHEMA_VERSION
    assert "attempt_starts_workstream" in triggers(db_path)
    script.attempt("storage", "gpt-5.2-codex")
    sink = store.sink()
    await push(sink, script.events[-1:])
    assert query(db_path, "SELECT key, status FROM workstreams WHERE status != 'pending'") == [
        ("storage", "running")
    ]
    await sink.aclose()
    await store.close()


async def test_text_streamed_before_the_upgrade_stays_ahead_of_text_streamed_after(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before migration 18 a running attempt's text was appended to its own columns; after it,
    to rows of ``streamed``. An attempt left running across the upgrade (a crash) reads as one
    text, in order, and ending it folds the rows in and drops them."""
    script, attempt_id = running_session()
    before = migrations.MIGRATIONS.index(migrations.STREAMED_TEXT)
    with monkeypatch.context() as old:
        old.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:before])
        store = await Store.open(db_path)
        await push(store.sink(), script.events)
        async with store.alone() as conn:  # what the sink of that version wrote
            await conn.execute(
                "UPDATE attempts SET thinking_text = ?, output_text = ? WHERE id = ?",
                ("old thought ", "old text ", attempt_id),
            )
        await store.close()
    store = await Store.open(db_path)
    assert user_version(db_path) == SCHEMA_VERSION
    sink = store.sink(flush_interval=3600)
    await sink(script.make_delta(attempt_id, "schemas", "text", "new "))
    await sink.flush()
    await sink(script.make_delta(attempt_id, "schemas", "text", "last"))
    assert attempt_texts(db_path, attempt_id) == ("old thought ", "old text new ")
    detail = await store.get_session(script.session_id)
    assert detail is not None
    assert detail.attempts[0].output_text == "old text new "
    script.finish_attempt(attempt_id, "schemas", "gemini-3-pro", usage(1))
    await push(sink, script.events[-1:])
    assert query(
        db_path, "SELECT thinking_text, output_text FROM attempts WHERE id = ?", (attempt_id,)
    ) == [("old thought ", "old text new last")]
    assert query(db_path, "SELECT count(*) FROM streamed") == [(0,)]
    await sink.aclose()
    await store.close()


def triggers(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT name FROM sqlite_master WHERE type = 'trigger'")}


async def test_a_newer_schema_is_refused_untouched(db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match="newer than this mao supports") as caught:
        await Store.open(db_path)
    assert str(db_path) in str(caught.value)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert user_version(db_path) == SCHEMA_VERSION + 1
    assert tables(db_path) == set()
    assert query(db_path, "PRAGMA journal_mode") == [("delete",)]


async def test_connection_settings(store: Store, db_path: Path) -> None:
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    async with store.transaction(write=False) as conn:
        settings = {
            name: next(iter(await conn.execute_fetchall(f"PRAGMA {name}")))[0]
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert settings == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 5000,
    }


async def test_foreign_keys_are_enforced(store: Store) -> None:
    orphan = Script("01JQNOSUCHSESSION000000000")
    orphan.attempt("schemas", "gemini-3-pro")
    with pytest.raises(sqlite3.IntegrityError):
        await push(store.sink(), orphan.events)


def test_split_statements_keeps_trigger_bodies_and_strings_whole() -> None:
    script = """
        CREATE TABLE t (x TEXT DEFAULT 'a;b');
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN
            INSERT INTO t VALUES ('c;d'); DELETE FROM t WHERE x = ';';
        END;
        -- a comment; with a semicolon
        PRAGMA user_version = 9;
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0] == "CREATE TABLE t (x TEXT DEFAULT 'a;b');"
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    assert statements[2].endswith("PRAGMA user_version = 9;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (x); CREATE TABLE u (")


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MAO_DB", raising=False)
    assert default_db_path() == Path(platformdirs.user_data_dir("mao", appauthor=False)) / "mao.db"
    monkeypatch.setenv("MAO_DB", str(tmp_path / "elsewhere.db"))
    assert default_db_path() == tmp_path / "elsewhere.db"


def test_replay_orders_every_engine_event_type() -> None:
    """A stored session replays for review whatever it holds: an event type with no place in the
    replay's order made review of every applied develop session raise KeyError."""
    types = {event.model_fields["type"].default for event in get_args(EngineEvent)}
    assert types <= EVENT_ORDER.keys()


async def test_an_event_cancelled_while_its_commit_runs_writes_the_text_once(
    store: Store, db_path: Path
) -> None:
    """A transaction's COMMIT runs on SQLite's thread whatever happens to the task that sent it:
    cancelled then, the event's write must not put the text it carried back to be written again."""
    script, first, _second = two_attempts()
    sink = store.sink(flush_interval=3600)
    await push(sink, script.events)
    await sink(script.make_delta(first, "schemas", "text", "once "))
    inside_commit, release = threading.Event(), threading.Event()

    def hold_the_commit(sql: str) -> None:
        if sql == "COMMIT":
            inside_commit.set()
            release.wait(timeout=10)

    await store._conn.set_trace_callback(hold_the_commit)
    script.plan(make_plan())
    writing = asyncio.create_task(sink(script.events[-1]))  # PlanReady: written in a transaction
    try:
        assert await asyncio.to_thread(inside_commit.wait, 10)
        writing.cancel()
    finally:
        release.set()
    await asyncio.wait([writing])
    assert writing.cancelled()
    await store._conn.set_trace_callback(None)
    await sink.aclose()
    assert attempt_texts(db_path, first) == ("", "once ")
