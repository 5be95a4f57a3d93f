"""The user's picks of a workstream's output (``output_picked``: compare side by side), kept so
that review shows them again and a rerun of the stored session synthesizes from them."""

from __future__ import annotations

import aiosqlite

from mao_tui.domain.pick_events import OutputPicked


async def write_pick(conn: aiosqlite.Connection, event: OutputPicked, at: str) -> None:
    await conn.execute(
        "INSERT INTO output_picks (session_id, workstream, workstream_title, attempt_id,"
        " attempt_no, model, candidate, synthesized, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.workstream,
            event.workstream_title,
            event.attempt_id,
            event.attempt_no,
            event.model,
            event.candidate,
            event.synthesized,
            at,
        ),
    )


async def session_picks(conn: aiosqlite.Connection, session_id: str) -> list[OutputPicked]:
    """The session's picks in the order they were made."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM output_picks WHERE session_id = ? ORDER BY id", (session_id,)
    )
    return [
        OutputPicked(
            session_id=session_id,
            at=row["at"],
            workstream=row["workstream"],
            workstream_title=row["workstream_title"],
            attempt_id=row["attempt_id"],
            attempt_no=row["attempt_no"],
            model=row["model"],
            candidate=row["candidate"],
            synthesized=bool(row["synthesized"]),
        )
        for row in rows
    ]
