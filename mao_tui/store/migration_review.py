"""The schema for blind cross-review (store/candidates.py writes it): appended to
``store/migrations.py``'s MIGRATIONS, which is long enough without it."""

from __future__ import annotations

# Each review's request and answer as sent and received (so that what a reviewer saw can be
# checked from the database: no model names, never its own candidate), its labels (label →
# candidate number, kept by code) and ranking; and each race's aggregate, as JSON.
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
