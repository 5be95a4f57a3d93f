"""The `mao bench` tables (a migration registered in store/migrations.py): one row per run,
one per task and arm it finished. A run is finished when every pair has its row."""

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
