"""The cost budget in the database: each session's budget and estimate (per workstream too, so
the estimate's error shows against what the attempts cost), and the per-model history the next
estimate is made from."""

from __future__ import annotations

import aiosqlite

from mao_tui.domain import AttemptStatus
from mao_tui.domain.budget_events import (
    BudgetChanged,
    BudgetEvent,
    BudgetExceeded,
    CostEstimated,
    ModelHistory,
    WorkstreamEstimate,
)

# The estimate of a model's output is the mean of its latest successful attempts, this many.
HISTORY_WINDOW = 50


async def write_budget_event(conn: aiosqlite.Connection, event: BudgetEvent) -> None:
    match event:
        case CostEstimated():
            await conn.execute(
                "UPDATE sessions SET budget_usd = ?, estimate_usd = ?, estimate_complete = ?"
                " WHERE id = ?",
                (event.budget_usd, event.total_usd, event.complete, event.session_id),
            )
            await conn.executemany(
                "INSERT OR REPLACE INTO estimates (session_id, workstream, title, model,"
                " input_tokens, output_tokens, output_source, history_attempts, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        event.session_id,
                        r.workstream,
                        r.title,
                        r.model,
                        r.input_tokens,
                        r.output_tokens,
                        r.output_source,
                        r.history_attempts,
                        r.cost_usd,
                    )
                    for r in event.rows
                ],
            )
        case BudgetChanged():
            await conn.execute(
                "UPDATE sessions SET budget_usd = ? WHERE id = ?",
                (event.budget_usd, event.session_id),
            )
        case BudgetExceeded():
            pass  # the session's error says it; the attempts not started have no row


async def session_estimates(
    conn: aiosqlite.Connection, session_id: str
) -> list[WorkstreamEstimate]:
    rows = await conn.execute_fetchall(
        "SELECT workstream, title, model, input_tokens, output_tokens, output_source,"
        " history_attempts, cost_usd FROM estimates WHERE session_id = ? ORDER BY rowid",
        (session_id,),
    )
    return [WorkstreamEstimate.model_validate(dict(zip(r.keys(), r, strict=True))) for r in rows]


async def model_history(conn: aiosqlite.Connection, *, simulated: bool) -> dict[str, ModelHistory]:
    """Per model: the mean output and thinking tokens of its latest successful attempts, in
    sessions simulated or not as asked (the simulator's answers must not make a real estimate)."""
    rows = await conn.execute_fetchall(
        "SELECT model, COUNT(*) AS n, AVG(output_tokens) AS output,"
        " AVG(thinking_tokens) AS thinking"
        " FROM (SELECT a.model, a.output_tokens, a.thinking_tokens, ROW_NUMBER() OVER"
        " (PARTITION BY a.model ORDER BY a.seq DESC) AS recent"
        " FROM attempts a JOIN sessions s ON s.id = a.session_id"
        " WHERE a.status = ? AND a.output_tokens > 0 AND s.simulated = ?)"
        " WHERE recent <= ? GROUP BY model",
        (AttemptStatus.OK.value, simulated, HISTORY_WINDOW),
    )
    return {
        r["model"]: ModelHistory(
            attempts=r["n"], mean_output_tokens=r["output"], mean_thinking_tokens=r["thinking"]
        )
        for r in rows
    }
