"""The schema migrations after the candidate races' (issue 19 and on), appended to
``migrations.MIGRATIONS`` in this order. SQL only: the CLI loads this module with the schema
version before the first paint (a bad --db is refused first), so it imports nothing."""

# The ensemble ledger (store/candidates.py): each candidate's verification delta (checks newly
# passing against the baseline), whether it was verified in a git worktree, and where every
# file and hunk of a session's final output came from (the latest ledger_provenance).
LEDGER = """
ALTER TABLE candidate_races ADD COLUMN baseline_passed TEXT NOT NULL DEFAULT '[]';
ALTER TABLE candidates ADD COLUMN worktree INTEGER NOT NULL DEFAULT 0;
ALTER TABLE candidates ADD COLUMN newly_passing TEXT NOT NULL DEFAULT '[]';
CREATE TABLE ledger_files (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    stage      TEXT NOT NULL,
    path       TEXT NOT NULL,
    hunk       INTEGER NOT NULL,
    start_line INTEGER NOT NULL,
    lines      INTEGER NOT NULL,
    how        TEXT NOT NULL,
    workstream TEXT NOT NULL,
    number     INTEGER,
    model      TEXT,
    ratio      REAL NOT NULL,
    also       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (session_id, path, hunk)
);
"""

# Blind cross-review (store/candidates.py): each review's request and answer as sent and
# received (what a reviewer saw can be checked from the database: no model names, never its own
# candidate), its labels (label -> candidate number, kept by code) and ranking; each race's
# aggregate as JSON.
CROSS_REVIEW = """
ALTER TABLE candidate_races ADD COLUMN cross_review TEXT;
ALTER TABLE candidates ADD COLUMN review_score REAL;
CREATE TABLE candidate_reviews (
    seq           INTEGER PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream    TEXT NOT NULL,
    at            TEXT NOT NULL,
    reviewer      INTEGER NOT NULL,
    model         TEXT NOT NULL,
    labels        TEXT NOT NULL,
    ranking       TEXT NOT NULL,
    error         TEXT NOT NULL,
    cost_usd      REAL,
    system_prompt TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    answer        TEXT NOT NULL
);
CREATE INDEX candidate_reviews_by_session ON candidate_reviews (session_id, workstream);
"""

# The user's picks of a workstream's output in the compare view (store/picks.py).
PICKS = """
CREATE TABLE output_picks (
    id               INTEGER PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    workstream       TEXT NOT NULL,
    workstream_title TEXT NOT NULL,
    attempt_id       TEXT NOT NULL,
    attempt_no       INTEGER NOT NULL,
    model            TEXT NOT NULL,
    candidate        INTEGER,
    synthesized      INTEGER NOT NULL,
    at               TEXT NOT NULL
);
CREATE INDEX output_picks_by_session ON output_picks (session_id);
"""

# `mao bench` (store/bench.py): one row per run, one per task and arm it finished; a run is
# finished when every pair has its row.
BENCH = """
CREATE TABLE bench_runs (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    task_set    TEXT NOT NULL,
    tasks_json  TEXT NOT NULL,
    arms_json   TEXT NOT NULL,
    model       TEXT NOT NULL,
    simulated   INTEGER NOT NULL DEFAULT 0,
    finished    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE bench_results (
    run_id        TEXT NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
    task          TEXT NOT NULL,
    arm           TEXT NOT NULL,
    passed        INTEGER NOT NULL,
    cost_usd      REAL NOT NULL DEFAULT 0,
    cost_complete INTEGER NOT NULL DEFAULT 1,
    wall_s        REAL NOT NULL DEFAULT 0,
    session_ids   TEXT NOT NULL DEFAULT '[]',
    samples       INTEGER NOT NULL DEFAULT 1,
    detail        TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL,
    PRIMARY KEY (run_id, task, arm)
);
"""

# An attempt's start sets its workstream running in the same statement, so that the sink writes
# AttemptStarted as one statement outside a transaction (store/writes.py): one round trip to
# SQLite's thread instead of four.
ATTEMPT_STARTS_WORKSTREAM = """
CREATE TRIGGER attempt_starts_workstream AFTER INSERT ON attempts BEGIN
    UPDATE workstreams SET status = 'running'
    WHERE session_id = new.session_id AND key = new.workstream AND status = 'pending';
END;
"""

# Streamed text is appended as small rows, folded into its attempt when the attempt ends (in the
# statement that ends it; this trigger then drops the rows). Appending to the attempt's own
# columns rewrote its whole text, overflow pages and all, four times a second: 180 µs a flush
# at 3-10 KB an attempt, against 20 µs for the rows. Readers fold a running attempt's rows in
# (store/streamed.py, ``STREAMED_THINKING``).
STREAMED_TEXT = """
CREATE TABLE streamed (
    attempt_id TEXT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    thinking   TEXT NOT NULL,
    output     TEXT NOT NULL
);
CREATE TRIGGER streamed_folded AFTER UPDATE OF status ON attempts
WHEN new.status != 'running' BEGIN
    DELETE FROM streamed WHERE attempt_id = new.id;
END;
"""
