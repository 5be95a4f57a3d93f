"""Candidate races in the database: each race's ledger (``candidate_selected`` carries all of
it), read back as the events that wrote it for ``mao sessions show``. ``candidate_started`` and
``candidate_verified`` are live progress only: the ledger repeats what they said. Each
``candidate_reviewed`` is stored whole (table ``candidate_reviews``): the request a reviewer was
sent and its answer, so what it saw can be checked later. The latest ``ledger_provenance``
(where each file and hunk of the final output came from) replaces the one before it in
``ledger_files`` (row ``hunk`` 0: the file as a whole)."""

from __future__ import annotations

import json

import aiosqlite

from mao_tui.domain.candidate_events import (
    CandidateCheck,
    CandidateEvent,
    CandidateRecord,
    CandidateReviewed,
    CandidateSelected,
    FileSource,
    HunkSource,
    LedgerProvenance,
    Source,
)
from mao_tui.domain.cross_review import CrossReview


async def write_candidate_event(conn: aiosqlite.Connection, event: CandidateEvent, at: str) -> None:
    if isinstance(event, LedgerProvenance):
        await _write_provenance(conn, event)
        return
    if isinstance(event, CandidateReviewed):
        await _write_review(conn, event, at)
    if not isinstance(event, CandidateSelected):
        return
    cross = event.cross_review.model_dump_json() if event.cross_review is not None else None
    cursor = await conn.execute(
        "INSERT INTO candidate_races (session_id, workstream, workstream_title, at, selected,"
        " model, reason, baseline_failed, cheapest_passing_model, cheapest_passing_usd,"
        " total_usd, baseline_passed, cross_review)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.workstream,
            event.workstream_title,
            at,
            event.number,
            event.model,
            event.reason,
            json.dumps(event.baseline_failed),
            event.cheapest_passing_model,
            event.cheapest_passing_usd,
            event.total_usd,
            json.dumps(event.baseline_passed),
            cross,
        ),
    )
    race_id = cursor.lastrowid
    await conn.executemany(
        "INSERT INTO candidates (race_id, number, model, status, verified, folder, files,"
        " passed, failed, new_failures, unavailable, detail, cost_usd, elapsed_s, worktree,"
        " newly_passing, review_score)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                race_id,
                c.number,
                c.model,
                c.status,
                c.check.verified,
                c.check.folder,
                c.check.files,
                json.dumps(c.check.passed),
                json.dumps(c.check.failed),
                json.dumps(c.check.new_failures),
                json.dumps(c.check.unavailable),
                c.check.detail,
                c.cost_usd,
                c.elapsed_s,
                c.check.worktree,
                json.dumps(c.check.newly_passing),
                c.review_score,
            )
            for c in event.candidates
        ],
    )


async def session_races(conn: aiosqlite.Connection, session_id: str) -> list[CandidateSelected]:
    """The session's races in the order they ended, each with its ledger."""
    races = await conn.execute_fetchall(
        "SELECT * FROM candidate_races WHERE session_id = ? ORDER BY id", (session_id,)
    )
    found = []
    for race in races:
        rows = await conn.execute_fetchall(
            "SELECT * FROM candidates WHERE race_id = ? ORDER BY number", (race["id"],)
        )
        found.append(
            CandidateSelected(
                session_id=session_id,
                workstream=race["workstream"],
                workstream_title=race["workstream_title"],
                at=race["at"],
                number=race["selected"],
                model=race["model"],
                reason=race["reason"],
                baseline_failed=json.loads(race["baseline_failed"]),
                baseline_passed=json.loads(race["baseline_passed"]),
                cheapest_passing_model=race["cheapest_passing_model"],
                cheapest_passing_usd=race["cheapest_passing_usd"],
                total_usd=race["total_usd"],
                candidates=[_record(row) for row in rows],
                cross_review=(
                    CrossReview.model_validate_json(race["cross_review"])
                    if race["cross_review"]
                    else None
                ),
            )
        )
    return found


def _record(row: aiosqlite.Row) -> CandidateRecord:
    return CandidateRecord(
        number=row["number"],
        model=row["model"],
        status=row["status"],
        cost_usd=row["cost_usd"],
        elapsed_s=row["elapsed_s"],
        review_score=row["review_score"],
        check=CandidateCheck(
            verified=bool(row["verified"]),
            folder=row["folder"],
            files=row["files"],
            passed=json.loads(row["passed"]),
            failed=json.loads(row["failed"]),
            new_failures=json.loads(row["new_failures"]),
            newly_passing=json.loads(row["newly_passing"]),
            worktree=bool(row["worktree"]),
            unavailable=json.loads(row["unavailable"]),
            detail=row["detail"],
        ),
    )


def _source_row(source: Source) -> tuple[object, ...]:
    return (
        source.how,
        source.workstream,
        source.number,
        source.model,
        source.ratio,
        json.dumps(source.also),
    )


async def _write_provenance(conn: aiosqlite.Connection, event: LedgerProvenance) -> None:
    await conn.execute("DELETE FROM ledger_files WHERE session_id = ?", (event.session_id,))
    rows = []
    for f in event.files:
        rows.append((event.session_id, event.stage, f.path, 0, 1, 0, *_source_row(f.source)))
        rows += [
            (event.session_id, event.stage, f.path, n, h.start, h.lines, *_source_row(h.source))
            for n, h in enumerate(f.hunks, 1)
        ]
    await conn.executemany(
        "INSERT INTO ledger_files (session_id, stage, path, hunk, start_line, lines, how,"
        " workstream, number, model, ratio, also) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


async def session_provenance(
    conn: aiosqlite.Connection, session_id: str
) -> LedgerProvenance | None:
    """The session's latest provenance (None: no race, or no file from one)."""
    rows = list(
        await conn.execute_fetchall(
            "SELECT * FROM ledger_files WHERE session_id = ? ORDER BY path, hunk", (session_id,)
        )
    )
    if not rows:
        return None
    files: list[FileSource] = []
    for row in rows:
        source = Source(
            how=row["how"],
            workstream=row["workstream"],
            number=row["number"],
            model=row["model"],
            ratio=row["ratio"],
            also=json.loads(row["also"]),
        )
        if row["hunk"] == 0:
            files.append(FileSource(path=row["path"], source=source))
            continue
        hunk = HunkSource(start=row["start_line"], lines=row["lines"], source=source)
        files[-1] = files[-1].model_copy(update={"hunks": [*files[-1].hunks, hunk]})
    return LedgerProvenance(session_id=session_id, stage=rows[0]["stage"], files=files)


async def _write_review(conn: aiosqlite.Connection, event: CandidateReviewed, at: str) -> None:
    review = event.review
    await conn.execute(
        "INSERT INTO candidate_reviews (session_id, workstream, at, reviewer, model, labels,"
        " ranking, error, cost_usd, system_prompt, prompt, answer)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.workstream,
            at,
            review.reviewer,
            review.model,
            json.dumps(review.labels),
            json.dumps(review.ranking),
            review.error,
            review.cost_usd,
            event.system_prompt,
            event.prompt,
            event.answer,
        ),
    )
