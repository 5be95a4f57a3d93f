"""The ensemble ledger's schema (issue 19; registered in ``migrations.py``): the verification
delta of each candidate (checks newly passing against the baseline), whether it was verified
in a git worktree, and the provenance of every file and hunk of a session's final output
(``store/candidates.py`` writes and reads it; the latest ``ledger_provenance`` event is kept)."""

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
