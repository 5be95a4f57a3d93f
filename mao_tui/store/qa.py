"""QA reports in the store: the report whole (JSON, Markdown) and, for queries, one row per
reviewer score and per finding.

    SELECT f.severity, f.location, f.title, f.assigned_model
    FROM qa_findings f JOIN qa_reports r ON r.id = f.report_id
    WHERE r.session_id = ? ORDER BY f.seq;
"""

from __future__ import annotations

import aiosqlite

from mao_tui.domain import QaReportReady
from mao_tui.domain.qa_records import QaReport


async def write_qa_report(conn: aiosqlite.Connection, event: QaReportReady, at: str) -> None:
    report = event.report
    cursor = await conn.execute(
        "INSERT INTO qa_reports (session_id, at, score, coverage, note, report_json, markdown)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            at,
            report.score.value,
            report.score.coverage,
            report.score.note,
            report.model_dump_json(),
            report.markdown,
        ),
    )
    report_id = cursor.lastrowid
    await conn.executemany(
        "INSERT INTO qa_scores (report_id, reviewer, model, weight, score, status, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (report_id, r.key, r.model, r.weight, r.score, r.status, r.error)
            for r in report.reviewers
        ],
    )
    await conn.executemany(
        "INSERT INTO qa_findings (report_id, seq, finding_id, severity, file, line, location,"
        " title, detail, suggested_fix, reviewers, category, fix_kind, assigned_model)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                report_id,
                seq,
                f.id,
                f.severity,
                f.file,
                f.line,
                f.location,
                f.title,
                f.detail,
                f.suggested_fix,
                ",".join(f.reviewers),
                f.category,
                f.fix_kind,
                f.assigned_model,
            )
            for seq, f in enumerate(report.findings, 1)
        ],
    )


async def latest_qa_report(conn: aiosqlite.Connection, session_id: str) -> QaReport | None:
    rows = list(
        await conn.execute_fetchall(
            "SELECT report_json FROM qa_reports WHERE session_id = ? ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
    )
    return QaReport.model_validate_json(rows[0][0]) if rows else None
