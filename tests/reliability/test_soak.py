"""Random-fault soak: 100 sessions against the simulator, each with seeded random faults.

In process, the real engine, SDKs and store (one database for all of them), the simulator
unpaced and the retry policy's waits scaled down (backoffs of 10–50 ms, 50 ms cooldowns, 0.5 s
stream timeouts), so that a session takes a few tenths of a second. Each session gets 0–4 fault
rules drawn from every simulator fault kind (HTTP errors, stalls, drops, truncation, in-stream
errors, malformed chunks, rejected thinking, escapes, unknown events, slow streams), on a random
model or any, a random workstream or any, firing 1–3 times or always.

For every session: it ends exactly once, ``done`` or ``failed``, and is stored so; every attempt
that started ended, a failed one with an error kind of the taxonomy (never an unclassified
``internal`` error); every failed attempt is followed by a retry, a thinking downgrade or a
fallback (to the next model, or to none: the final failure); every workstream of the plan
reports its end. After all of them: no asyncio task but the test's, and as many open file
descriptors as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import socket
import sqlite3
import warnings
from collections import Counter
from pathlib import Path

import pytest
from fixtures.engine import Recorder

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    FallbackEvent,
    PlanReady,
    RetryScheduled,
    SessionFinished,
    SessionStatus,
    SynthesisFinished,
    ThinkingDowngraded,
    WorkstreamFinished,
)
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest, SessionRun
from mao_tui.providers.base import ErrorKind
from mao_tui.service.launch import simulator_env, simulator_overlay
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.simulator.faults import FAULT_KINDS, FaultRule
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store

SEED = 7
SESSIONS = 100
GUARD_S = 60.0
API_MODELS = [
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "gpt-6.2-astra",
    "gpt-6.2-sol",
    "gemini-4-argon",
    "gemini-4-hydrogen",
]
WORKSTREAMS = ["schemas", "storage", "core_logic", "implementation", "tests", "synthesis"]
FAST_RETRY = {
    "backoff_initial_s": 0.01,
    "backoff_max_s": 0.05,
    "cooldown_s": 0.05,
    "retry_after_cap_s": 5.0,
}


def _random_faults(rng: random.Random) -> list[FaultRule]:
    rules = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(FAULT_KINDS)
        rules.append(
            FaultRule(
                kind=kind,
                model=rng.choice([None, *API_MODELS]),
                workstream=rng.choice([None, None, *WORKSTREAMS]),
                times=rng.choice([1, 1, 2, 3, None]),
                after_chars=rng.randint(0, 300),
                retry_after=0.02,
                gap_s=0.005,
                echo_credentials=kind == "auth" and rng.random() < 0.5,
            )
        )
    return rules


def _settings(base_url: str) -> Settings:
    shipped = load_settings([shipped_config_dir()])
    overlay = simulator_overlay(shipped, base_url)
    for provider in overlay["providers"].values():
        provider["timeout_s"] = 0.5
    overlay["global"] = {"retry": FAST_RETRY}
    return load_settings([shipped_config_dir()], overlay)


def _open_fds() -> set[tuple[str, str]]:
    """This process's open file descriptors: (number, what it points to)."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, already closed
            fds.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return fds


async def _one_session(
    settings: Settings, store: Store, port: int, faults: list[FaultRule], number: int
) -> tuple[Recorder, SessionFinished]:
    sim = Simulator(speed=0, faults=faults)
    await sim.start(port=port)
    rec = Recorder()
    sink = store.sink()
    pool = ProviderPool(settings, simulator_env(settings))
    engine = SessionRun(settings, pool, [sink, rec])
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task="Build the snippet store.",
        simulated=True,
        use_planner=number % 5 == 0,  # a fifth plan with the orchestrator (and pre-flight)
    )
    try:
        async with asyncio.timeout(GUARD_S):
            finished = await engine.run(req, rule_based_plan(settings, "develop", []))
    finally:
        await pool.aclose()
        await sink.aclose()
        await sim.stop()
    return rec, finished


def _check_session(rec: Recorder, finished: SessionFinished, number: int) -> Counter[str]:
    where = f"session {number}"
    assert rec.of(SessionFinished) == [finished], where
    assert finished.status in (SessionStatus.DONE, SessionStatus.FAILED), where
    started = {e.attempt_id: e for e in rec.of(AttemptStarted)}
    ended = {e.attempt_id: e for e in rec.of(AttemptFinished)}
    assert len(ended) == len(rec.of(AttemptFinished)), f"{where}: an attempt ended twice"
    assert started.keys() == ended.keys(), f"{where}: an attempt never ended"
    kinds: Counter[str] = Counter()
    taxonomy = {k.value for k in ErrorKind} - {ErrorKind.CANCELLED.value}
    for attempt in ended.values():
        if attempt.status is AttemptStatus.OK:
            assert attempt.error_kind is None, where
            continue
        assert attempt.error_kind in taxonomy, (
            f"{where}: {attempt.error_kind} {attempt.error_message}"
        )
        kinds[attempt.error_kind] += 1
        after = rec.events[rec.index(attempt) + 1 :]
        answered = any(
            (isinstance(e, RetryScheduled | ThinkingDowngraded) and e.model == attempt.model)
            or (isinstance(e, FallbackEvent) and e.from_model == attempt.model)
            for e in after
            if getattr(e, "workstream", None) == attempt.workstream
        )
        assert answered, f"{where}: {attempt.workstream} on {attempt.model} failed unanswered"
    plans = rec.of(PlanReady)
    assert len(plans) == 1, where
    keys = {ws.key for ws in plans[0].plan.workstreams}
    assert {e.workstream for e in rec.of(WorkstreamFinished)} == keys, where
    assert len(rec.of(SynthesisFinished)) == 1, where
    return kinds


async def test_a_hundred_sessions_with_random_faults_all_end_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Unpaced streams in 1 KB events rather than 64 B ones: the same faults, a third of the CPU.
    monkeypatch.setattr("mao_tui.simulator.pacing.UNPACED_PIECE", 1024)
    rng = random.Random(SEED)
    with socket.socket() as probe:  # a free port, reused by every session's simulator
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _settings(f"http://127.0.0.1:{port}")
    db = tmp_path / "soak.db"
    store = await Store.open(db)
    statuses: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    try:
        # One session first: the SDKs build their schemas and caches once, not counted as leaks.
        await _one_session(settings, store, port, [], -1)
        gc.collect()  # what earlier tests left for the collector is not the soak's
        fds, tasks = _open_fds(), asyncio.all_tasks()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for number in range(SESSIONS):
                faults = _random_faults(rng)
                rec, finished = await _one_session(settings, store, port, faults, number)
                kinds += _check_session(rec, finished, number)
                statuses[finished.status.value] += 1
                fired.update(rule.kind for rule in faults)
            assert asyncio.all_tasks() - tasks == set(), "tasks were left pending"
            leaked_fds = _open_fds() - fds  # closed, not left for the garbage collector
            gc.collect()  # anything unclosed but unreferenced warns now
    finally:
        await store.close()
    assert leaked_fds == set(), "file descriptors leaked"
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
    with sqlite3.connect(db) as conn:
        stored = Counter(s for (s,) in conn.execute("SELECT status FROM sessions"))
        running = conn.execute("SELECT count(*) FROM attempts WHERE status = 'running'")
        unkinded = conn.execute(
            "SELECT count(*) FROM attempts WHERE status = 'failed' AND error_kind IS NULL"
        )
        assert (running.fetchone()[0], unkinded.fetchone()[0]) == (0, 0)
    assert stored == statuses + Counter({"done": 1})
    assert set(fired) == set(FAULT_KINDS), "a fault kind was never drawn"
    print(f"\nsoak: {SESSIONS} sessions {dict(statuses)}; failed attempts by kind {dict(kinds)}")
