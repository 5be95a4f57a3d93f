"""Crash safety: `mao develop --simulate --json` SIGKILLed at seeded random points of its
session, 50 times over one database.

After every kill: the database passes ``PRAGMA integrity_check``; for every attempt, the stored
text is a prefix of what the process printed (nothing invented, nothing out of order) and holds
every delta printed more than ``MAX_LAG_S`` before the kill (the store flushes streamed text
every 0.25 s); the next start marks the killed session ``interrupted``. Then interrupted
sessions are reviewed and their unfinished workstreams rerun through the session controller
the dashboard's review uses, until they are done.

The runs are children of a fork server (``fixtures/forkserver.py``) that has imported mao once;
each child runs the real ``mao_tui.cli.main``. A kill lands after a seeded number of printed
deltas (0 … all of a calibration run's) plus a seeded 0–200 ms.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import select
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.engine import Recorder
from fixtures.forkserver import ForkServer

from mao_tui import cli
from mao_tui.domain import (
    Plan,
    SessionFinished,
    SessionStatus,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.errors import ControlError
from mao_tui.engine.resume import resume_from
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import OpenSession
from mao_tui.store import Store
from mao_tui.store.streamed import STREAMED_OUTPUT, STREAMED_THINKING

SEED = 20261126
RUNS = 50
SPEED = "100"
MAX_LAG_S = 0.5  # streamed text older than this at the kill must be in the database
GUARD_S = 60.0
REVIEWS = 3  # interrupted sessions reviewed and completed by rerunning what did not finish
TASK = "Build the snippet store."


@pytest.fixture
def forkserver(tmp_path: Path) -> Iterator[ForkServer]:
    with ForkServer(tmp_path) as server:
        yield server


@dataclass
class Printed:
    """What a run printed before it died: its session and every delta, timed."""

    session_id: str | None = None
    deltas: list[tuple[float, str, str, str]] = field(default_factory=list)  # at, attempt, ch, text

    @classmethod
    def read(cls, path: Path) -> Printed:
        printed = cls()
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line the kill cut short
            if event["type"] == "session_started":
                printed.session_id = event["session_id"]
            elif event["type"] == "delta":
                at = datetime.fromisoformat(event["at"]).timestamp()
                printed.deltas.append((at, event["attempt_id"], event["channel"], event["text"]))
        return printed

    def text(self, attempt: str, channel: str, before: float = math.inf) -> str:
        return "".join(
            t for at, a, c, t in self.deltas if a == attempt and c == channel and at <= before
        )


def _count_deltas(path: Path) -> int:
    try:
        return path.read_bytes().count(b'"type":"delta"')
    except FileNotFoundError:
        return 0


def _wait_for_deltas(path: Path, pid: int, wanted: int) -> bool:
    """Until ``wanted`` deltas are printed (True) or the process has exited (False)."""
    pidfd = os.pidfd_open(pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        deadline = time.monotonic() + GUARD_S
        while _count_deltas(path) < wanted:
            if poller.poll(5):  # the process ended first
                return False
            assert time.monotonic() < deadline, "the session stopped streaming"
        return True
    finally:
        os.close(pidfd)


def _stored(db: Path) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Every session's status, and every attempt's stored (thinking, text)."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        statuses = dict(conn.execute("SELECT id, status FROM sessions").fetchall())
        texts: dict[tuple[str, str], str] = {}
        for attempt, thinking, text in conn.execute(
            f"SELECT id, {STREAMED_THINKING}, {STREAMED_OUTPUT} FROM attempts"
        ):
            texts[(attempt, "thinking")] = thinking
            texts[(attempt, "text")] = text
    return statuses, texts


def test_sigkill_at_random_points_loses_nothing_older_than_half_a_second(
    tmp_path: Path, forkserver: ForkServer
) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "mao.db"
    argv = ["develop", TASK, "--simulate", "--json", "--speed", SPEED, "--db", str(db)]

    warm_db = str(tmp_path / "warm.db")
    assert forkserver.warm([*argv[:4], "--speed", "1000", "--db", warm_db]) == 0
    calibration = tmp_path / "calibration.jsonl"
    status = forkserver.wait(forkserver.run(argv, calibration, tmp_path / "calibration.err"))
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    total = _count_deltas(calibration)
    assert total >= 20

    started = time.monotonic()
    killed: list[str] = []
    lags: list[float] = []  # per kill: age of the oldest printed text not yet stored
    finished_first = 0
    for run in range(RUNS):
        out, err = tmp_path / f"run{run}.jsonl", tmp_path / f"run{run}.err"
        pid = forkserver.run(argv, out, err)
        wanted, extra = rng.randrange(total), rng.uniform(0.0, 0.2)
        streaming = _wait_for_deltas(out, pid, wanted)
        if streaming and extra:
            time.sleep(extra)  # the random point itself, not a wait for an event
        kill_at = time.time()
        os.kill(pid, signal.SIGKILL)
        status = forkserver.wait(pid)
        statuses, texts = _stored(db)
        printed = Printed.read(out)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            finished_first += 1  # the process ended before the kill landed
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, err.read_text()
            continue
        if statuses.get(printed.session_id or "") == SessionStatus.DONE.value:
            finished_first += 1  # killed while closing, after the session had ended
            continue
        if printed.session_id is not None:
            assert statuses[printed.session_id] == SessionStatus.RUNNING.value
            killed.append(printed.session_id)
        if len(killed) >= 2 and printed.session_id is not None:
            # this run started (and printed), so its start marked the previous one
            assert statuses[killed[-2]] == SessionStatus.INTERRUPTED.value
        lag = 0.0
        for attempt, channel in {(a, c) for _, a, c, _ in printed.deltas}:
            stored = texts.get((attempt, channel), "")
            everything = printed.text(attempt, channel)
            old_enough = printed.text(attempt, channel, before=kill_at - MAX_LAG_S)
            assert everything.startswith(stored), f"run {run}: stored text was never printed"
            assert stored.startswith(old_enough), (
                f"run {run}: text printed over {MAX_LAG_S}s before the kill is missing"
            )
            lag = max(lag, _oldest_unstored(printed, attempt, channel, len(stored), kill_at))
        lags.append(lag)

    # The next start (here `mao sessions`) marks every killed session interrupted.
    assert cli.main(["sessions", "--db", str(db), "--limit", "100"]) == 0
    statuses, _ = _stored(db)
    assert [statuses[s] for s in killed] == [SessionStatus.INTERRUPTED.value] * len(killed)
    assert len(killed) >= RUNS * 0.8, f"only {len(killed)} of {RUNS} runs were killed mid-session"
    print(
        f"\ncrash: {RUNS} runs, {len(killed)} killed mid-session, {finished_first} ended first; "
        f"unstored text at the kill: max {max(lags):.3f}s, "
        f"median {sorted(lags)[len(lags) // 2]:.3f}s; {time.monotonic() - started:.1f}s"
    )

    assert asyncio.run(_rerun_unfinished(tmp_path, db, killed)) == REVIEWS


def _oldest_unstored(
    printed: Printed, attempt: str, channel: str, stored: int, kill_at: float
) -> float:
    """How long before the kill the first printed text missing from the store was printed."""
    end = 0
    for at, a, c, text in printed.deltas:
        if (a, c) != (attempt, channel):
            continue
        end += len(text)
        if end > stored:
            return kill_at - at
    return 0.0


async def _rerun_unfinished(tmp_path: Path, db: Path, killed: list[str]) -> int:
    """Review interrupted sessions that have a plan and rerun what did not finish, the way
    the dashboard's review does (``OpenSession``, which runs the session controller)."""
    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=db, simulate=True, speed=math.inf
    )
    reviewed = 0
    for session_id in reversed(killed):
        async with await Store.open(db) as store:
            detail = await store.get_session(session_id)
        assert detail is not None and detail.status is SessionStatus.INTERRUPTED
        if detail.plan is None:
            continue  # killed while planning: nothing to rerun
        plan, latest = detail.plan, set(resume_from(detail).latest)
        session = OpenSession(launch, review_id=session_id)
        rec = Recorder()
        worker = asyncio.create_task(session.run(rec))
        try:
            async with asyncio.timeout(GUARD_S):
                await _rerun_all(session, rec, plan, latest)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        async with await Store.open(db) as store:
            detail = await store.get_session(session_id)
        assert detail is not None and detail.status is SessionStatus.DONE
        reviewed += 1
        if reviewed == REVIEWS:
            break
    return reviewed


async def _rerun_all(session: OpenSession, rec: Recorder, plan: Plan, latest: set[str]) -> None:
    """Rerun each workstream without an output once its inputs have one, then synthesize."""
    await _when_ready(lambda: session.model_choices(plan.synthesis.key))
    waiting = [ws for ws in plan.workstreams if ws.key not in latest]
    while waiting:
        ready = [ws for ws in waiting if set(ws.depends_on) <= latest]
        assert ready, f"nothing can run: {[ws.key for ws in waiting]}"
        ends = len(rec.of(SessionFinished))
        for ws in ready:
            session.rerun(ws.key)
        await _until(lambda n=ends: len(rec.of(SessionFinished)) > n)
        done = {
            e.workstream for e in rec.of(WorkstreamFinished) if e.status is WorkstreamStatus.DONE
        }
        assert {ws.key for ws in ready} <= done
        latest |= {ws.key for ws in ready}
        waiting = [ws for ws in waiting if ws.key not in latest]
    ends = len(rec.of(SessionFinished))
    session.resynthesize()
    await _until(lambda: len(rec.of(SessionFinished)) > ends)
    assert rec.of(SessionFinished)[-1].status is SessionStatus.DONE


async def _when_ready(action: Callable[[], object]) -> None:
    """The review replays the stored session, then opens it: until then a rerun is refused."""
    while True:
        try:
            action()
            return
        except ControlError as exc:
            assert "starting" in str(exc), exc
            await asyncio.sleep(0.01)


async def _until(done: Callable[[], bool]) -> None:
    while not done():
        await asyncio.sleep(0.01)
