"""Apply and verify in the store: each file of each apply, each verification command's result
(its output's tail, not every line), each round's outcome. Read back as the events that wrote
them, so review replays them into the Verification pane.

    SELECT round, name, exit_code, elapsed_s, output_tail FROM verifications
    WHERE session_id = ? ORDER BY id;
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, assert_never

import aiosqlite

from mao_tui.domain import (
    AppliedFile,
    FilesApplied,
    FixRoundDone,
    VerificationDone,
    VerificationFinished,
    VerificationOutput,
    VerificationPlanned,
    VerificationStarted,
    WorkspaceEvent,
)
from mao_tui.store.rows import session_rows


async def write_workspace_event(conn: aiosqlite.Connection, event: WorkspaceEvent, at: str) -> None:
    match event:
        case FilesApplied():
            await _files_applied(conn, event, at)
        case VerificationPlanned():
            await _verification_planned(conn, event, at)
        case VerificationFinished():
            await _verification_finished(conn, event, at)
        case VerificationDone():
            await _verification_done(conn, event, at)
        case VerificationStarted() | VerificationOutput() | FixRoundDone():
            pass  # live only: the result row holds the output's tail; a fix round is in the
            # store as its fix workstream and the synthesis after it
        case _:
            assert_never(event)


async def _files_applied(conn: aiosqlite.Connection, event: FilesApplied, at: str) -> None:
    await conn.executemany(
        "INSERT INTO applied_files (session_id, round, workspace, path, change, status,"
        " backup, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                event.session_id,
                event.round,
                event.workspace,
                f.path,
                f.change,
                f.status,
                f.backup,
                f.reason,
                at,
            )
            for f in event.files
        ],
    )


async def _verification_planned(
    conn: aiosqlite.Connection, event: VerificationPlanned, at: str
) -> None:
    await conn.execute(
        "INSERT INTO verification_plans (session_id, origin, why, checks_json, notes_json,"
        " at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.origin,
            event.why,
            json.dumps([c.model_dump() for c in event.checks]),
            json.dumps(event.notes),
            at,
        ),
    )


async def _verification_finished(
    conn: aiosqlite.Connection, event: VerificationFinished, at: str
) -> None:
    await conn.execute(
        "INSERT INTO verifications (session_id, round, name, argv_json, exit_code,"
        " timed_out, elapsed_s, output_tail, error, sandbox, kind, source, unavailable,"
        " skipped, excerpt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.round,
            event.name,
            json.dumps(event.argv),
            event.exit_code,
            event.timed_out,
            event.elapsed_s,
            event.output_tail,
            event.error,
            event.sandbox,
            event.kind,
            event.source,
            event.unavailable,
            event.skipped,
            event.excerpt,
            at,
        ),
    )


async def _verification_done(conn: aiosqlite.Connection, event: VerificationDone, at: str) -> None:
    await conn.execute(
        "INSERT INTO verification_rounds (session_id, round, passed, failed_json, detail,"
        " unavailable_json, skipped_json, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.round,
            event.passed,
            json.dumps(event.failed),
            event.detail,
            json.dumps(event.unavailable),
            json.dumps(event.skipped),
            at,
        ),
    )


# What the read side rebuilds from each table, and its rank among events stored at the same time
_STORED: tuple[
    tuple[int, str, type[VerificationPlanned | VerificationFinished | VerificationDone], str], ...
] = (
    (-1, "verification_plans", VerificationPlanned, "origin, why, checks_json, notes_json, at"),
    (
        1,
        "verifications",
        VerificationFinished,
        "round, name, argv_json, exit_code, timed_out, elapsed_s, output_tail, error, at, sandbox,"
        " kind, source, unavailable, skipped, excerpt",
    ),
    (
        2,
        "verification_rounds",
        VerificationDone,
        "round, passed, failed_json, detail, at, unavailable_json, skipped_json",
    ),
)


async def workspace_events(conn: aiosqlite.Connection, session_id: str) -> list[WorkspaceEvent]:
    """Every stored apply, verification and round of a session, oldest first."""
    events: list[tuple[str, int, WorkspaceEvent]] = []
    applies: dict[tuple[int, str], list[dict[str, Any]]] = {}
    columns = "round, workspace, path, change, status, backup, reason, at"
    for row in await session_rows(conn, columns, "applied_files", session_id):
        applies.setdefault((row["round"], row["at"]), []).append(row)
    for (number, at), rows in applies.items():
        applied = FilesApplied(
            session_id=session_id,
            at=datetime.fromisoformat(at),
            round=number,
            workspace=rows[0]["workspace"],
            files=[AppliedFile.model_validate(row) for row in rows],
        )
        events.append((at, 0, applied))
    for rank, table, event_type, columns in _STORED:
        for row in await session_rows(conn, columns, table, session_id):
            at = row.pop("at")
            event = event_type.model_validate(
                {**row, "session_id": session_id, "at": datetime.fromisoformat(at)}
            )
            events.append((at, rank, event))
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]
