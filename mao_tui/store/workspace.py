"""Apply and verify in the store: each file of each apply, each verification command's result
(its output's tail, not every line), each round's outcome. Read back as the events that wrote
them, so review replays them into the Verification pane.

    SELECT round, name, exit_code, elapsed_s, output_tail FROM verifications
    WHERE session_id = ? ORDER BY id;
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiosqlite

from mao_tui.domain import (
    AppliedFile,
    FilesApplied,
    PlannedCheck,
    VerificationDone,
    VerificationFinished,
    VerificationPlanned,
    WorkspaceEvent,
)


async def write_workspace_event(conn: aiosqlite.Connection, event: WorkspaceEvent, at: str) -> None:
    sid = event.session_id
    if isinstance(event, FilesApplied):
        await conn.executemany(
            "INSERT INTO applied_files (session_id, round, workspace, path, change, status,"
            " backup, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    sid,
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
    elif isinstance(event, VerificationPlanned):
        await conn.execute(
            "INSERT INTO verification_plans (session_id, origin, why, checks_json, notes_json, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                sid,
                event.origin,
                event.why,
                json.dumps([c.model_dump() for c in event.checks]),
                json.dumps(event.notes),
                at,
            ),
        )
    elif isinstance(event, VerificationFinished):
        await conn.execute(
            "INSERT INTO verifications (session_id, round, name, argv_json, exit_code, timed_out,"
            " elapsed_s, output_tail, error, sandbox, kind, source, unavailable, skipped, excerpt,"
            " at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sid,
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
    elif isinstance(event, VerificationDone):
        await conn.execute(
            "INSERT INTO verification_rounds (session_id, round, passed, failed_json, detail,"
            " unavailable_json, skipped_json, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sid,
                event.round,
                event.passed,
                json.dumps(event.failed),
                event.detail,
                json.dumps(event.unavailable),
                json.dumps(event.skipped),
                at,
            ),
        )
    # VerificationStarted and VerificationOutput are live only (the result row holds the tail);
    # a FixRoundDone is in the store as its fix workstream and the synthesis after it.


async def workspace_events(conn: aiosqlite.Connection, session_id: str) -> list[WorkspaceEvent]:
    """Every stored apply, verification and round of a session, oldest first."""
    events: list[tuple[str, int, WorkspaceEvent]] = []
    applies: dict[tuple[int, str], list[Any]] = {}
    for row in await conn.execute_fetchall(
        "SELECT round, workspace, path, change, status, backup, reason, at FROM applied_files"
        " WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        applies.setdefault((row[0], row[7]), []).append(row)
    for (number, at), rows in applies.items():
        files = [
            AppliedFile(path=r[2], change=r[3], status=r[4], backup=r[5], reason=r[6]) for r in rows
        ]
        event = FilesApplied(
            session_id=session_id,
            at=datetime.fromisoformat(at),
            round=number,
            workspace=rows[0][1],
            files=files,
        )
        events.append((at, 0, event))
    for row in await conn.execute_fetchall(
        "SELECT origin, why, checks_json, notes_json, at FROM verification_plans"
        " WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        planned = VerificationPlanned(
            session_id=session_id,
            at=datetime.fromisoformat(row[4]),
            origin=row[0],
            why=row[1],
            checks=[PlannedCheck(**c) for c in json.loads(row[2])],
            notes=json.loads(row[3]),
        )
        events.append((row[4], -1, planned))
    for row in await conn.execute_fetchall(
        "SELECT round, name, argv_json, exit_code, timed_out, elapsed_s, output_tail, error, at,"
        " sandbox, kind, source, unavailable, skipped, excerpt"
        " FROM verifications WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        finished = VerificationFinished(
            session_id=session_id,
            at=datetime.fromisoformat(row[8]),
            round=row[0],
            name=row[1],
            argv=json.loads(row[2]),
            exit_code=row[3],
            timed_out=bool(row[4]),
            elapsed_s=row[5],
            output_tail=row[6],
            error=row[7],
            sandbox=row[9],
            kind=row[10],
            source=row[11],
            unavailable=row[12],
            skipped=row[13],
            excerpt=row[14],
        )
        events.append((row[8], 1, finished))
    for row in await conn.execute_fetchall(
        "SELECT round, passed, failed_json, detail, at, unavailable_json, skipped_json"
        " FROM verification_rounds WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        done = VerificationDone(
            session_id=session_id,
            at=datetime.fromisoformat(row[4]),
            round=row[0],
            passed=bool(row[1]),
            failed=json.loads(row[2]),
            detail=row[3],
            unavailable=json.loads(row[5]),
            skipped=json.loads(row[6]),
        )
        events.append((row[4], 2, done))
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]
