"""`mao bench` runs and results in the database (tables: store/migrations_later.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiosqlite

from mao_tui.domain.bench import BenchResult, BenchRun
from mao_tui.store.db import Store


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def create_run(store: Store, run: BenchRun) -> None:
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT INTO bench_runs (id, created_at, task_set, tasks_json, arms_json, model,"
            " simulated, finished) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                run.id,
                run.created_at,
                run.task_set,
                json.dumps(run.tasks),
                json.dumps(run.arms),
                run.model,
                int(run.simulated),
            ),
        )


async def save_result(store: Store, run_id: str, result: BenchResult) -> None:
    """Store one task×arm result at once: an interrupted run keeps every finished pair."""
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT OR REPLACE INTO bench_results (run_id, task, arm, passed, cost_usd,"
            " cost_complete, wall_s, session_ids, samples, detail, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                result.task,
                result.arm,
                int(result.passed),
                result.cost_usd,
                int(result.cost_complete),
                result.wall_s,
                json.dumps(result.session_ids),
                result.samples,
                result.detail,
                _now(),
            ),
        )


async def finish_run(store: Store, run_id: str) -> None:
    async with store.transaction() as conn:
        await conn.execute("UPDATE bench_runs SET finished = 1 WHERE id = ?", (run_id,))


def _run(row: aiosqlite.Row) -> BenchRun:
    return BenchRun(
        id=row["id"],
        created_at=row["created_at"],
        task_set=row["task_set"],
        tasks=json.loads(row["tasks_json"]),
        arms=json.loads(row["arms_json"]),
        model=row["model"],
        simulated=bool(row["simulated"]),
        finished=bool(row["finished"]),
    )


async def get_run(store: Store, run_id: str) -> BenchRun | None:
    """The run whose id is ``run_id`` or starts with it (LookupError when several do)."""
    async with store.transaction(write=False) as conn:
        rows = list(
            await conn.execute_fetchall(
                "SELECT * FROM bench_runs WHERE id LIKE ? ORDER BY id", (run_id + "%",)
            )
        )
    if len(rows) > 1:
        raise LookupError(f"bench run id {run_id!r} is ambiguous: {len(rows)} runs start with it")
    return _run(rows[0]) if rows else None


async def latest_matching(
    store: Store, task_set: str, tasks: list[str], arms: list[str], simulated: bool
) -> BenchRun | None:
    """The newest unfinished run over the same task set, tasks and arms; else the newest
    finished one (resuming it runs nothing and shows its table)."""
    async with store.transaction(write=False) as conn:
        rows = await conn.execute_fetchall(
            "SELECT * FROM bench_runs WHERE task_set = ? AND simulated = ?"
            " ORDER BY finished, created_at DESC, id DESC",
            (task_set, int(simulated)),
        )
    for row in rows:
        run = _run(row)
        if run.tasks == tasks and run.arms == arms:
            return run
    return None


async def run_results(store: Store, run_id: str) -> list[BenchResult]:
    async with store.transaction(write=False) as conn:
        rows = await conn.execute_fetchall(
            "SELECT * FROM bench_results WHERE run_id = ? ORDER BY rowid", (run_id,)
        )
    return [
        BenchResult(
            task=row["task"],
            arm=row["arm"],
            passed=bool(row["passed"]),
            cost_usd=row["cost_usd"],
            cost_complete=bool(row["cost_complete"]),
            wall_s=row["wall_s"],
            session_ids=json.loads(row["session_ids"]),
            samples=row["samples"],
            detail=row["detail"],
        )
        for row in rows
    ]
