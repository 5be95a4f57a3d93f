"""The sessions listing: the newest sessions as :class:`SessionRow`, with no pydantic import.

``mao sessions`` reads only this; :mod:`mao_tui.store.reads` builds its pydantic records from
the same typed fields."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import aiosqlite

from mao_tui.domain import AttemptStatus, SessionStatus
from mao_tui.domain.listing import SessionRow

USAGE_COLUMNS = (
    "input_tokens, output_tokens, thinking_tokens, cost_usd, cost_complete, cached_input_tokens"
)
SESSION_COLUMNS = (
    "id, created_at, finished_at, command, playbook, task, status, simulated, project_dir,"
    f" elapsed_s, error, budget_usd, estimate_usd, estimate_complete, {USAGE_COLUMNS}"
)


async def session_rows(conn: aiosqlite.Connection, limit: int) -> list[SessionRow]:
    """The ``limit`` newest sessions, newest first."""
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?",
            (limit,),
        )
    )
    models = await models_of(conn, [row["id"] for row in rows])
    return [SessionRow(**summary_fields(row), models=models.get(row["id"], [])) for row in rows]


async def models_of(conn: aiosqlite.Connection, session_ids: list[str]) -> dict[str, list[str]]:
    """Each session's distinct models that ran attempts, in first-use order."""
    rows = await conn.execute_fetchall(
        "SELECT session_id, model FROM attempts"
        " WHERE session_id IN (SELECT value FROM json_each(?)) AND status != ?"
        " GROUP BY session_id, model ORDER BY MIN(seq)",
        (json.dumps(session_ids), AttemptStatus.SKIPPED.value),
    )
    models: dict[str, list[str]] = {}
    for row in rows:
        models.setdefault(row["session_id"], []).append(row["model"])
    return models


def summary_fields(row: sqlite3.Row) -> dict[str, Any]:
    """A sessions row (the ``SESSION_COLUMNS``) as typed fields: the conversions pydantic's
    validation made, for records built with ``model_construct`` (the store wrote every value
    itself). Building a validator first costs more than the query (pydantic's plugin lookup)."""
    fields = row_fields(row)
    fields["created_at"] = datetime.fromisoformat(row["created_at"])
    if row["finished_at"] is not None:
        fields["finished_at"] = datetime.fromisoformat(row["finished_at"])
    fields["status"] = SessionStatus(row["status"])
    fields["simulated"] = bool(row["simulated"])
    fields["cost_complete"] = bool(row["cost_complete"])
    fields["cost_usd"] = float(row["cost_usd"])
    for name in ("elapsed_s", "budget_usd", "estimate_usd"):
        if row[name] is not None:
            fields[name] = float(row[name])
    fields["estimate_complete"] = bool(row["estimate_complete"])
    return fields


def row_fields(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row is not a Mapping)
