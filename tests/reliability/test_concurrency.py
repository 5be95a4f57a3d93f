"""Concurrent use: two `mao` processes at a time running sessions against one database.

Two lanes of 25 `mao develop --simulate --json` processes each (children of the fork server,
each running the real ``mao_tui.cli.main``), the next in a lane starting as soon as the last
ends, both lanes starting at once on a database that does not exist yet (so their first
migration races too). Every process exits 0, none prints "database is locked" or a traceback,
and every session is stored complete: done, every attempt ended, a synthesis.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from fixtures.forkserver import ForkServer

LANES = 2
SESSIONS_PER_LANE = 25
TASK = "Build the snippet store."


def test_two_processes_at_a_time_share_one_database_without_a_lock_error(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    argv = ["develop", TASK, "--simulate", "--json", "--speed", "1000", "--no-planner"]
    with ForkServer(tmp_path) as server:
        warm = ["develop", TASK, "--simulate", "--json", "--speed", "1000"]
        assert server.warm([*warm, "--db", str(tmp_path / "warm.db")]) == 0
        started = time.monotonic()
        lanes: list[list[int]] = [[] for _ in range(LANES)]  # exit statuses
        running: dict[int, int] = {}  # pid -> lane
        outputs: list[Path] = []

        def start(lane: int) -> None:
            n = len(lanes[lane]) + sum(1 for v in running.values() if v == lane)
            out = tmp_path / f"lane{lane}-{n}.jsonl"
            err = tmp_path / f"lane{lane}-{n}.err"
            outputs.append(err)
            running[server.run([*argv, "--db", str(db)], out, err)] = lane

        for lane in range(LANES):
            start(lane)
        while running:
            pid = _first_to_exit(list(running))
            lane = running.pop(pid)
            lanes[lane].append(server.wait(pid))
            if len(lanes[lane]) < SESSIONS_PER_LANE:
                start(lane)
        elapsed = time.monotonic() - started

    problems = {
        err.name: err.read_text(encoding="utf-8")
        for err in outputs
        if "locked" in err.read_text(encoding="utf-8")
        or "Traceback" in err.read_text(encoding="utf-8")
    }
    assert problems == {}
    statuses = [s for lane in lanes for s in lane]
    assert len(statuses) == LANES * SESSIONS_PER_LANE
    assert all(os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0 for s in statuses), statuses
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        sessions = conn.execute("SELECT id, status, pid FROM sessions").fetchall()
        unfinished = conn.execute(
            "SELECT count(*) FROM attempts WHERE status NOT IN ('ok', 'failed')"
        ).fetchone()[0]
        synthesized = conn.execute(
            "SELECT count(DISTINCT session_id) FROM syntheses WHERE status = 'done'"
        ).fetchone()[0]
    assert len(sessions) == LANES * SESSIONS_PER_LANE
    assert {status for _, status, _ in sessions} == {"done"}
    assert len({pid for _, _, pid in sessions}) == LANES * SESSIONS_PER_LANE  # 50 processes
    assert unfinished == 0 and synthesized == LANES * SESSIONS_PER_LANE
    print(f"\nconcurrency: {LANES} x {SESSIONS_PER_LANE} sessions in {elapsed:.1f}s")


def _first_to_exit(pids: list[int]) -> int:
    """The pid of the first of ``pids`` to exit (waiting on pidfds, not sampling)."""
    import select

    fds = {os.pidfd_open(pid): pid for pid in pids}
    try:
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        ready = poller.poll(120_000)
        assert ready, "no session ended within 120 s"
        return fds[ready[0][0]]
    finally:
        for fd in fds:
            os.close(fd)
