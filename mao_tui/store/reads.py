"""Queries that build the read models. Callers own the (read) transaction."""

from __future__ import annotations

import re
from typing import Any

import aiosqlite

from mao_tui.domain import Plan, WorkstreamStatus
from mao_tui.domain.stored import (
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    AttemptRecord,
    FallbackRecord,
    OutputRecord,
    PolicyEventRecord,
    SessionDetail,
    SessionHit,
    SessionSummary,
    SynthesisRecord,
    WorkstreamRecord,
)
from mao_tui.store.budget import session_estimates
from mao_tui.store.candidates import session_provenance, session_races
from mao_tui.store.listing import (
    SESSION_COLUMNS,
    USAGE_COLUMNS,
    models_of,
    session_rows,
    summary_fields,
)
from mao_tui.store.qa import latest_qa_report
from mao_tui.store.rows import fields, session_records
from mao_tui.store.streamed import STREAMED_OUTPUT, STREAMED_THINKING
from mao_tui.store.workspace import workspace_events

_USAGE, _SESSION = USAGE_COLUMNS, SESSION_COLUMNS


async def list_summaries(conn: aiosqlite.Connection, limit: int) -> list[SessionSummary]:
    return [
        SessionSummary.model_construct(**row.as_fields()) for row in await session_rows(conn, limit)
    ]


async def ids_with_prefix(conn: aiosqlite.Connection, prefix: str, limit: int) -> list[str]:
    # Every id starting with `prefix` sorts at or after it, before any id that does not.
    rows = await conn.execute_fetchall(
        "SELECT id FROM sessions WHERE id >= ? ORDER BY id LIMIT ?", (prefix, limit)
    )
    return [row["id"] for row in rows if str(row["id"]).startswith(prefix)]


async def session_detail(conn: aiosqlite.Connection, session_id: str) -> SessionDetail | None:
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {_SESSION}, plan_json, spec_text FROM sessions WHERE id = ?", (session_id,)
        )
    )
    if not rows:
        return None
    session = fields(rows[0])
    plan_json = session.pop("plan_json")
    models = await models_of(conn, [session_id])
    return SessionDetail.model_validate(
        {
            **session,
            "models": models.get(session_id, []),
            "plan": Plan.model_validate_json(plan_json) if plan_json else None,
            "workstreams": await _workstreams(conn, session_id),
            "attempts": await _attempts(conn, session_id),
            "fallbacks": await _fallbacks(conn, session_id),
            "policy_events": await _policy_events(conn, session_id),
            "outputs": await _outputs(conn, session_id),
            "qa_report": await latest_qa_report(conn, session_id),
            "workspace": await workspace_events(conn, session_id),
            "estimates": await session_estimates(conn, session_id),
            "races": await session_races(conn, session_id),
            "provenance": await session_provenance(conn, session_id),
            **_latest_synthesis(await _syntheses(conn, session_id)),
        }
    )


async def _workstreams(conn: aiosqlite.Connection, session_id: str) -> list[WorkstreamRecord]:
    columns = (
        "key, title, route, chain_json, depends_on_json, position, status, final_model,"
        f" finished_at, {_USAGE}"
    )
    return await session_records(
        conn, WorkstreamRecord, columns, "workstreams", session_id, order="position"
    )


async def _attempts(conn: aiosqlite.Connection, session_id: str) -> list[AttemptRecord]:
    columns = (
        "id, workstream, model, provider, api_model, attempt_no, thinking, started_at,"
        f" finished_at, status, error_kind, error_message, {STREAMED_THINKING} AS thinking_text,"
        f" {STREAMED_OUTPUT} AS output_text, elapsed_s,"
        f" {_USAGE}"
    )
    return await session_records(conn, AttemptRecord, columns, "attempts", session_id, "seq")


async def _policy_events(conn: aiosqlite.Connection, session_id: str) -> list[PolicyEventRecord]:
    columns = "id, at, type, workstream, model, provider, reason, delay_s, line, detail"
    return await session_records(conn, PolicyEventRecord, columns, "policy_events", session_id)


async def _outputs(conn: aiosqlite.Connection, session_id: str) -> list[OutputRecord]:
    columns = "id, kind, path, error, at"
    return await session_records(conn, OutputRecord, columns, "outputs", session_id)


async def _fallbacks(conn: aiosqlite.Connection, session_id: str) -> list[FallbackRecord]:
    columns = "id, workstream, workstream_title, at, from_model, to_model, reason, detail"
    return await session_records(conn, FallbackRecord, columns, "fallbacks", session_id)


async def _syntheses(conn: aiosqlite.Connection, session_id: str) -> list[SynthesisRecord]:
    columns = f"id, model, attempt_id, status, text, created_at, {_USAGE}"
    return await session_records(conn, SynthesisRecord, columns, "syntheses", session_id)


def _latest_synthesis(syntheses: list[SynthesisRecord]) -> dict[str, Any]:
    """A synthesis that was cancelled or failed after a good one does not replace it."""
    done = [s for s in syntheses if s.status is WorkstreamStatus.DONE]
    latest = done[-1] if done else (syntheses[-1] if syntheses else None)
    return {"synthesis": latest, "syntheses": syntheses}


async def search_sessions(
    conn: aiosqlite.Connection,
    text: str,
    *,
    status: str | None = None,
    playbook: str | None = None,
    project_dir: str | None = None,
    limit: int = 200,
) -> list[SessionHit]:
    """Sessions matching every word of ``text`` (prefix match on the last): those whose task
    matches first, then those whose outputs do, newest first within each; all sessions, newest
    first, when ``text`` has no words. Filters narrow either. Snippets: :func:`session_snippet`.

    Ordered by the index's rowid (creation order) rather than by bm25: FTS5 then streams the
    newest matches and stops at ``limit``. A word found in every one of 10,000 sessions took
    ~20 ms so, against 100-300 ms ranked (and 4 s with a row per output and all snippets).
    """
    filters, params = [], []
    for column, value in (("status", status), ("playbook", playbook), ("project_dir", project_dir)):
        if value:
            filters.append(f"s.{column} = ?")
            params.append(value)
    where = (" AND " + " AND ".join(filters)) if filters else ""
    query = match_expression(text)
    columns = ", ".join(f"s.{c.strip()}" for c in _SESSION.split(","))
    if query is None:
        sql = (
            f"SELECT {columns} FROM sessions s WHERE 1{where}"
            " ORDER BY s.created_at DESC, s.id DESC LIMIT ?"
        )
        found = [(row, "") for row in await conn.execute_fetchall(sql, (*params, limit))]
    else:
        sql = (
            f"SELECT {columns} FROM search JOIN sessions s ON s.search_row = search.rowid"
            f" WHERE search MATCH ?{where} ORDER BY search.rowid DESC LIMIT ?"
        )
        in_task = list(await conn.execute_fetchall(sql, (f"task : ({query})", *params, limit)))
        anywhere = await conn.execute_fetchall(sql, (query, *params, limit + len(in_task)))
        seen = {row["id"] for row in in_task}
        found = [(row, "task") for row in in_task]
        found += [(row, "output") for row in anywhere if row["id"] not in seen]
        found = found[:limit]
    models = await models_of(conn, [row["id"] for row, _ in found])
    return [
        SessionHit.model_construct(
            **summary_fields(row), models=models.get(row["id"], []), matched=matched
        )
        for row, matched in found
    ]


async def session_snippet(conn: aiosqlite.Connection, session_id: str, text: str) -> str:
    """The best-matching piece of one session's task or outputs, the words between
    ``SNIPPET_OPEN`` and ``SNIPPET_CLOSE``; empty when nothing matches."""
    query = match_expression(text)
    if query is None:
        return ""
    rows = list(
        await conn.execute_fetchall(
            f"SELECT snippet(search, -1, '{SNIPPET_OPEN}', '{SNIPPET_CLOSE}', '…', 12)"
            " FROM search WHERE search MATCH ?"
            " AND rowid = (SELECT search_row FROM sessions WHERE id = ?)",
            (query, session_id),
        )
    )
    return str(rows[0][0]) if rows else ""


def match_expression(text: str) -> str | None:
    """An FTS5 query for what a user typed: every word must match, the last as a prefix.
    Words are quoted, so no character of the input is FTS5 syntax."""
    words = re.findall(r"\w+", text)
    if not words:
        return None
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)
