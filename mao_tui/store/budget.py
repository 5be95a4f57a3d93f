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
    History,
    ModelHistory,
    WorkstreamEstimate,
)
from mao_tui.domain.stored import SessionDetail

# The estimate of a model's output is the mean of its latest successful attempts, this many.
HISTORY_WINDOW = 50


async def write_budget_event(conn: aiosqlite.Connection, event: BudgetEvent) -> None:
    match event:
        case CostEstimated():  # the reviewed plan's replaces the proposed plan's
            await conn.execute("DELETE FROM estimates WHERE session_id = ?", (event.session_id,))
            await conn.execute(
                "UPDATE sessions SET budget_usd = ?, estimate_usd = ?, estimate_complete = ?"
                " WHERE id = ?",
                (event.budget_usd, event.total_usd, event.complete, event.session_id),
            )
            await conn.executemany(
                "INSERT OR REPLACE INTO estimates (session_id, workstream, title, model,"
                " input_tokens, output_tokens, output_source, history_attempts,"
                " same_workstream, cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        event.session_id,
                        r.workstream,
                        r.title,
                        " + ".join(r.candidates) or r.model,  # a race: every candidate
                        r.input_tokens,
                        r.output_tokens,
                        r.output_source,
                        r.history_attempts,
                        r.same_workstream,
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


def stored_estimate(detail: SessionDetail) -> CostEstimated:
    """The estimate a stored session was shown before it ran, for its replay."""
    rows = detail.estimates
    known = sum(r.cost_usd for r in rows if r.cost_usd is not None)
    spent = max(0.0, (detail.estimate_usd or 0.0) - known)
    return CostEstimated(
        session_id=detail.id,
        at=detail.created_at,
        rows=rows,
        spent_usd=spent,
        budget_usd=detail.budget_usd,
    )


async def session_estimates(
    conn: aiosqlite.Connection, session_id: str
) -> list[WorkstreamEstimate]:
    rows = await conn.execute_fetchall(
        "SELECT workstream, title, model, input_tokens, output_tokens, output_source,"
        " history_attempts, same_workstream, cost_usd FROM estimates WHERE session_id = ?"
        " ORDER BY rowid",
        (session_id,),
    )
    return [WorkstreamEstimate.model_validate(dict(zip(r.keys(), r, strict=True))) for r in rows]


async def model_history(conn: aiosqlite.Connection, *, simulated: bool) -> History:
    """Per model, and per model and workstream: the mean output and thinking tokens of the
    latest successful attempts, in sessions simulated or not as asked (the simulator's answers
    must not make a real estimate)."""
    history: dict[tuple[str, str | None], ModelHistory] = {}
    for by_workstream in (False, True):
        group = "a.model, a.workstream" if by_workstream else "a.model"
        rows = await conn.execute_fetchall(
            "SELECT model, workstream, COUNT(*) AS n, AVG(output_tokens) AS output,"
            " AVG(thinking_tokens) AS thinking"
            " FROM (SELECT a.model, a.workstream, a.output_tokens, a.thinking_tokens,"
            f" ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY a.seq DESC) AS recent"
            " FROM attempts a JOIN sessions s ON s.id = a.session_id"
            " WHERE a.status = ? AND a.output_tokens > 0 AND s.simulated = ?)"
            f" WHERE recent <= ? GROUP BY {group.replace('a.', '')}",
            (AttemptStatus.OK.value, simulated, HISTORY_WINDOW),
        )
        for r in rows:
            key = (r["model"], r["workstream"] if by_workstream else None)
            history[key] = ModelHistory(
                attempts=r["n"], mean_output_tokens=r["output"], mean_thinking_tokens=r["thinking"]
            )
    return history
