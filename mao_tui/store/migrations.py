"""Numbered schema migrations keyed on ``PRAGMA user_version``.

``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to ``n``. Append new scripts; never
edit one that has shipped. Tables that full-text search will index (attempts) carry an explicit
``INTEGER PRIMARY KEY`` so an FTS5 external-content table can use it as a stable rowid.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.store.check import SchemaTooNewError
from mao_tui.store.migrations_later import (
    ATTEMPT_STARTS_WORKSTREAM,
    BENCH,
    CROSS_REVIEW,
    LEDGER,
    PICKS,
    STREAMED_TEXT,
)

if TYPE_CHECKING:
    import aiosqlite

_V1 = """
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    command         TEXT NOT NULL,
    playbook        TEXT NOT NULL,
    task            TEXT NOT NULL,
    status          TEXT NOT NULL,
    simulated       INTEGER NOT NULL DEFAULT 0,
    project_dir     TEXT NOT NULL DEFAULT '',
    plan_json       TEXT,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    thinking_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,
    cost_complete   INTEGER NOT NULL DEFAULT 1,
    elapsed_s       REAL,
    error           TEXT,
    pid             INTEGER,
    hostname        TEXT
);
CREATE INDEX sessions_by_created_at ON sessions (created_at);
CREATE INDEX sessions_running ON sessions (hostname) WHERE status = 'running';

CREATE TABLE workstreams (
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    title           TEXT NOT NULL,
    route           TEXT NOT NULL,
    chain_json      TEXT NOT NULL,
    depends_on_json TEXT NOT NULL,
    position        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    final_model     TEXT,
    finished_at     TEXT,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    thinking_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,
    cost_complete   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (session_id, key)
);

CREATE TABLE attempts (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream      TEXT NOT NULL,
    model           TEXT NOT NULL,
    provider        TEXT NOT NULL,
    api_model       TEXT NOT NULL,
    attempt_no      INTEGER NOT NULL,
    thinking        INTEGER NOT NULL,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    status          TEXT NOT NULL,
    error_kind      TEXT,
    error_message   TEXT,
    thinking_text   TEXT NOT NULL DEFAULT '',
    output_text     TEXT NOT NULL DEFAULT '',
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    thinking_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,
    cost_complete   INTEGER NOT NULL DEFAULT 1,
    elapsed_s       REAL
);
CREATE INDEX attempts_by_session ON attempts (session_id, workstream);

CREATE TABLE fallbacks (
    id               INTEGER PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream       TEXT NOT NULL,
    workstream_title TEXT NOT NULL,
    at               TEXT NOT NULL,
    from_model       TEXT NOT NULL,
    to_model         TEXT,
    reason           TEXT NOT NULL,
    detail           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fallbacks_by_session ON fallbacks (session_id);

CREATE TABLE syntheses (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    model           TEXT,
    attempt_id      TEXT REFERENCES attempts (id) ON DELETE SET NULL,
    status          TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    input_tokens    INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    thinking_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL NOT NULL DEFAULT 0,
    cost_complete   INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX syntheses_by_session ON syntheses (session_id);
"""

# v2: cached input tokens next to every usage, and what the retry policy did besides fallbacks
# (retries, provider cooldowns, waits for a cooldown, thinking downgrades), one line each.
_V2 = """
ALTER TABLE sessions ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workstreams ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE syntheses ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;

CREATE TABLE policy_events (
    id              INTEGER PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at              TEXT NOT NULL,
    type            TEXT NOT NULL,
    workstream      TEXT NOT NULL,
    model           TEXT NOT NULL,
    provider        TEXT,
    reason          TEXT,
    delay_s         REAL,
    line            TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX policy_events_by_session ON policy_events (session_id);
"""

# v3: the spec each session ran with (reruns need it), and full-text search over tasks and outputs.
# One `search` row per session (its task), per successful attempt (its output) and per synthesis,
# kept by triggers; an attempt's text is complete when its status leaves 'running' (the store
# appends the last streamed text in the same transaction).
_V3 = """
ALTER TABLE sessions ADD COLUMN spec_text TEXT NOT NULL DEFAULT '';

CREATE VIRTUAL TABLE search USING fts5(
    task,
    output,
    session_id UNINDEXED,
    source UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER search_session_added AFTER INSERT ON sessions BEGIN
    INSERT INTO search (task, output, session_id, source) VALUES (new.task, '', new.id, 'task');
END;

CREATE TRIGGER search_attempt_ok AFTER UPDATE OF status ON attempts
WHEN new.status = 'ok' AND old.status != 'ok' BEGIN
    INSERT INTO search (task, output, session_id, source)
    VALUES ('', new.output_text, new.session_id, 'attempt:' || new.id);
END;

CREATE TRIGGER search_synthesis_added AFTER INSERT ON syntheses WHEN new.text != '' BEGIN
    INSERT INTO search (task, output, session_id, source)
    VALUES ('', new.text, new.session_id, 'synthesis:' || new.id);
END;

CREATE TRIGGER search_session_deleted AFTER DELETE ON sessions BEGIN
    DELETE FROM search WHERE session_id = old.id;
END;

INSERT INTO search (task, output, session_id, source) SELECT task, '', id, 'task' FROM sessions;
INSERT INTO search (task, output, session_id, source)
    SELECT '', output_text, session_id, 'attempt:' || id FROM attempts WHERE status = 'ok';
INSERT INTO search (task, output, session_id, source)
    SELECT '', text, session_id, 'synthesis:' || id FROM syntheses WHERE text != '';
"""

# v4: the search index, one row per session instead of one per output. A word found in every
# session had the v3 index rank and snippet ~70,000 rows to show 200 (4 s on 10,000 sessions);
# with one row per session, ordered by FTS5's own rank, only the rows shown get a snippet.
# `sessions.search_row` is the session's row in `search`; outputs are appended to it.
_V4 = """
DROP TRIGGER search_session_added;
DROP TRIGGER search_attempt_ok;
DROP TRIGGER search_synthesis_added;
DROP TRIGGER search_session_deleted;
DROP TABLE search;

CREATE VIRTUAL TABLE search USING fts5(
    task,
    output,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO search (search, rank) VALUES ('rank', 'bm25(10.0, 1.0)');

ALTER TABLE sessions ADD COLUMN search_row INTEGER;
CREATE INDEX sessions_by_search_row ON sessions (search_row);

CREATE TRIGGER search_session_added AFTER INSERT ON sessions BEGIN
    INSERT INTO search (task, output) VALUES (new.task, '');
    UPDATE sessions SET search_row = last_insert_rowid() WHERE id = new.id;
END;

CREATE TRIGGER search_attempt_ok AFTER UPDATE OF status ON attempts
WHEN new.status = 'ok' AND old.status != 'ok' BEGIN
    UPDATE search SET output = output || char(10) || new.output_text
    WHERE rowid = (SELECT search_row FROM sessions WHERE id = new.session_id);
END;

CREATE TRIGGER search_synthesis_added AFTER INSERT ON syntheses WHEN new.text != '' BEGIN
    UPDATE search SET output = output || char(10) || new.text
    WHERE rowid = (SELECT search_row FROM sessions WHERE id = new.session_id);
END;

CREATE TRIGGER search_session_deleted AFTER DELETE ON sessions BEGIN
    DELETE FROM search WHERE rowid = old.search_row;
END;

UPDATE sessions SET search_row = rowid;
INSERT INTO search (rowid, task, output)
    SELECT s.rowid, s.task, COALESCE((
        SELECT group_concat(text, char(10)) FROM (
            SELECT output_text AS text FROM attempts
            WHERE session_id = s.id AND status = 'ok' ORDER BY seq
        )
    ), '') || COALESCE((
        SELECT char(10) || group_concat(text, char(10)) FROM (
            SELECT text FROM syntheses WHERE session_id = s.id AND text != '' ORDER BY id
        )
    ), '')
    FROM sessions s;
"""

# Outputs: what a playbook's output kind made of a synthesis besides its text (a journal entry
# written to a file), or why it could not.
_OUTPUTS = """
CREATE TABLE outputs (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    path        TEXT,
    error       TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX outputs_by_session ON outputs (session_id);
"""

# The thread a backend keeps for an attempt's conversation (PAL's continuation_id).
_PAL_THREADS = """
ALTER TABLE attempts ADD COLUMN continuation_id TEXT;
"""

# QA reports (output kind qa_report): the report whole, and one row per reviewer score and
# per finding so they can be queried (store/qa.py writes them).
_QA_REPORTS = """
CREATE TABLE qa_reports (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    score       REAL,              -- NULL: refused (too little of the weight reviewed)
    coverage    REAL NOT NULL,     -- percent of the weight with a valid review
    note        TEXT NOT NULL,
    report_json TEXT NOT NULL,
    markdown    TEXT NOT NULL
);
CREATE INDEX qa_reports_by_session ON qa_reports (session_id);

CREATE TABLE qa_scores (
    report_id   INTEGER NOT NULL REFERENCES qa_reports (id) ON DELETE CASCADE,
    reviewer    TEXT NOT NULL,
    model       TEXT,
    weight      REAL NOT NULL,
    score       REAL,
    status      TEXT NOT NULL,     -- ok, repaired, invalid, failed
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, reviewer)
);

CREATE TABLE qa_findings (
    report_id      INTEGER NOT NULL REFERENCES qa_reports (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    finding_id     TEXT NOT NULL,  -- F1, F2, ...
    severity       TEXT NOT NULL,
    file           TEXT,
    line           INTEGER,
    location       TEXT NOT NULL,  -- file:line as shown
    title          TEXT NOT NULL,
    detail         TEXT NOT NULL,
    suggested_fix  TEXT NOT NULL,
    reviewers      TEXT NOT NULL,  -- comma-separated reviewer keys
    category       TEXT NOT NULL,
    fix_kind       TEXT NOT NULL,
    assigned_model TEXT,
    PRIMARY KEY (report_id, seq)
);
CREATE INDEX qa_findings_by_severity ON qa_findings (severity);
"""

# Apply and verify (develop's files): every file of every apply, every verification command's
# result with the tail of its output, and each round's outcome (store/workspace.py).
_APPLY_VERIFY = """
CREATE TABLE applied_files (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    workspace   TEXT NOT NULL,
    path        TEXT NOT NULL,
    change      TEXT NOT NULL,
    status      TEXT NOT NULL,
    backup      TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX applied_files_by_session ON applied_files (session_id);
CREATE TABLE verifications (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    name        TEXT NOT NULL,
    argv_json   TEXT NOT NULL,
    exit_code   INTEGER,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    elapsed_s   REAL NOT NULL,
    output_tail TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX verifications_by_session ON verifications (session_id);
CREATE TABLE verification_rounds (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    round       INTEGER NOT NULL,
    passed      INTEGER NOT NULL,
    failed_json TEXT NOT NULL DEFAULT '[]',
    detail      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX verification_rounds_by_session ON verification_rounds (session_id);
"""

# Whether each verification command ran sandboxed, and why not (engine/sandbox.py).
_VERIFY_SANDBOX = """
ALTER TABLE verifications ADD COLUMN sandbox TEXT NOT NULL DEFAULT '';
"""

# The project's checks (mao_tui/checks): what was planned and why, and per check its kind, its
# source, and why it was not available or skipped (store/workspace.py).
_VERIFY_CHECKS = """
ALTER TABLE verifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
ALTER TABLE verifications ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE verifications ADD COLUMN unavailable TEXT NOT NULL DEFAULT '';
ALTER TABLE verifications ADD COLUMN skipped TEXT NOT NULL DEFAULT '';
ALTER TABLE verifications ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';
ALTER TABLE verification_rounds ADD COLUMN unavailable_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE verification_rounds ADD COLUMN skipped_json TEXT NOT NULL DEFAULT '[]';
CREATE TABLE verification_plans (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    origin      TEXT NOT NULL,
    why         TEXT NOT NULL,
    checks_json TEXT NOT NULL,
    notes_json  TEXT NOT NULL DEFAULT '[]',
    at          TEXT NOT NULL
);
CREATE INDEX verification_plans_by_session ON verification_plans (session_id);
"""

# The cost budget (store/budget.py): each session's budget and estimate, and the estimate per
# workstream (and synthesis), to set against what its attempts cost.
_BUDGET = """
ALTER TABLE sessions ADD COLUMN budget_usd REAL;
ALTER TABLE sessions ADD COLUMN estimate_usd REAL;
ALTER TABLE sessions ADD COLUMN estimate_complete INTEGER NOT NULL DEFAULT 1;
CREATE TABLE estimates (
    session_id       TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream       TEXT NOT NULL,
    title            TEXT NOT NULL,
    model            TEXT NOT NULL,
    input_tokens     INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    output_source    TEXT NOT NULL,
    history_attempts INTEGER NOT NULL DEFAULT 0,
    same_workstream  INTEGER NOT NULL DEFAULT 0,
    cost_usd         REAL,
    PRIMARY KEY (session_id, workstream)
);
"""

# Candidate races (store/candidates.py): each race's selection and ledger, one row per
# candidate with its verification in its own copy of the workspace, its cost and time.
_CANDIDATES = """
CREATE TABLE candidate_races (
    id                     INTEGER PRIMARY KEY,
    session_id             TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream             TEXT NOT NULL,
    workstream_title       TEXT NOT NULL,
    at                     TEXT NOT NULL,
    selected               INTEGER,
    model                  TEXT,
    reason                 TEXT NOT NULL,
    baseline_failed        TEXT NOT NULL DEFAULT '[]',
    cheapest_passing_model TEXT,
    cheapest_passing_usd   REAL,
    total_usd              REAL
);
CREATE INDEX candidate_races_by_session ON candidate_races (session_id);
CREATE TABLE candidates (
    race_id      INTEGER NOT NULL REFERENCES candidate_races (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    model        TEXT NOT NULL,
    status       TEXT NOT NULL,
    verified     INTEGER NOT NULL,
    folder       TEXT NOT NULL,
    files        INTEGER NOT NULL,
    passed       TEXT NOT NULL,
    failed       TEXT NOT NULL,
    new_failures TEXT NOT NULL,
    unavailable  TEXT NOT NULL,
    detail       TEXT NOT NULL,
    cost_usd     REAL,
    elapsed_s    REAL NOT NULL,
    PRIMARY KEY (race_id, number)
);
"""

MIGRATIONS: list[str] = [
    _V1,
    _V2,
    _V3,
    _V4,
    _OUTPUTS,
    _PAL_THREADS,
    _QA_REPORTS,
    _APPLY_VERIFY,
    _VERIFY_SANDBOX,
    _VERIFY_CHECKS,
    _BUDGET,
    _CANDIDATES,
    LEDGER,  # the rest: store/migrations_later.py
    CROSS_REVIEW,
    PICKS,
    BENCH,
    ATTEMPT_STARTS_WORKSTREAM,
    STREAMED_TEXT,
]

SCHEMA_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a script into single statements (``execute`` takes one; ``executescript`` commits)."""
    import sqlite3  # here: the CLI reads SCHEMA_VERSION before Home's first frame

    statements: list[str] = []
    start = 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
            statements.append(script[start : end + 1].strip())
            start = end + 1
    if script[start:].strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration: {script[start:]!r}")
    return statements


async def user_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Bring the schema up to date in one transaction; return the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The version is read again under
    the write lock so that two processes opening a fresh file at once migrate it only once.
    """
    target = len(MIGRATIONS)
    if await _check(conn, path, target) == target:
        return target
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await _check(conn, path, target)
        for version in range(current + 1, target + 1):
            for statement in split_statements(MIGRATIONS[version - 1]):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
        await conn.execute("COMMIT")
    except BaseException:
        # A failed write may already have rolled the transaction back (a full disk does):
        # "cannot rollback" must not hide why.
        import sqlite3

        with contextlib.suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")
        raise
    return target


async def _check(conn: aiosqlite.Connection, path: Path, target: int) -> int:
    current = await user_version(conn)
    if current > target:
        raise SchemaTooNewError(path, current, target)
    return current
