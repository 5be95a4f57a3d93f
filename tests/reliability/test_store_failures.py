"""The database mao is given or fills: a path that is no usable database is refused in one line
with exit 2 by every command that opens it, and left as it was; a database that cannot be
written any more (a full disk) stops the session in one line with exit 1, promptly, and stays
consistent, the session not left `running`."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from fixtures.bad_databases import BAD_DATABASES

from mao_tui.cli import main

# -- item 8: a --db that is no database mao can use ------------------------------------------


COMMANDS = {
    "home": [],
    "demo": ["demo", "--headless", "--speed", "inf"],
    "develop": ["develop", "x", "--simulate", "--headless"],
    "develop --apply": ["develop", "x", "--simulate", "--apply", "--yes"],
    "run --json": ["run", "develop", "x", "--simulate", "--json"],
    "qa": ["qa", "a.py", "--simulate", "--headless"],
    "journal": ["journal", "--simulate", "--headless"],
    "sessions": ["sessions"],
    "sessions show": ["sessions", "show", "ABC"],
    "mcp serve": ["mcp", "serve"],
}


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(BAD_DATABASES))
def test_an_unusable_database_is_one_line_and_exit_2_and_left_as_it_was(
    kind: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make, message = BAD_DATABASES[kind]
    data = tmp_path / "data"
    data.mkdir()
    db = make(data)
    before = _fingerprint(data)
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(project)
    assert main([*COMMANDS[command], "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"mao: error: {db}"), err
    assert message in err and "Traceback" not in err
    assert _fingerprint(data) == before  # nothing written, moved, deleted or added


# -- item 7: a database that fills up while a session runs -------------------------------


def _develop(db: Path, *extra: str) -> list[str]:
    return ["develop", "Build the snippet store", "--simulate", "--speed", "inf",
            "--no-planner", "--db", str(db), *extra]  # fmt: skip


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def test_a_full_database_stops_the_session_in_one_line_and_stays_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    db = tmp_path / "mao.db"
    assert main(_develop(db, "--headless")) == 0  # a database with one session in it
    capsys.readouterr()

    real_connect = aiosqlite.connect

    async def nearly_full(path: Any, **kwargs: Any) -> aiosqlite.Connection:
        """SQLite's own limit on the file's size: SQLITE_FULL a few pages on, as a full disk."""
        conn = await real_connect(path, **kwargs)
        ((pages,),) = await conn.execute_fetchall("PRAGMA page_count")
        await conn.execute(f"PRAGMA max_page_count = {pages + 4}")
        return conn

    monkeypatch.setattr("mao_tui.store.db.aiosqlite.connect", nearly_full)
    code = main(_develop(db, "--apply", "--yes"))
    err = capsys.readouterr().err
    assert code == 1
    line = f"mao: error: disk full / cannot write the database {db} (database or disk is full)"
    assert [ln for ln in err.splitlines() if ln.startswith("mao: ")] == [
        f"{line}; the session stopped"
    ]
    assert "Traceback" not in err and "cannot rollback" not in err
    assert not (project / "snippets").exists()  # it stopped before applying anything
    monkeypatch.undo()
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    statuses = [s for (s,) in _rows(db, "SELECT status FROM sessions ORDER BY created_at")]
    assert statuses == ["done", "failed"]  # the last small update still fitted
    ((error,),) = _rows(db, "SELECT error FROM sessions WHERE status = 'failed'")
    assert error.startswith("disk full / cannot write the database")


def _limited(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no file size limit here")
@pytest.mark.parametrize("limit", [16_000, 120_000], ids=["while migrating", "mid-session"])
def test_a_write_refused_by_the_file_system_exits_promptly_with_one_line(
    limit: int, tmp_path: Path
) -> None:
    """The real `mao` in a process whose files may not grow past ``limit`` bytes: SQLite's
    writes fail with "disk I/O error", which left it hanging (an open connection's thread)."""
    db = tmp_path / "mao.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if limit > 100_000:  # a migrated database holding one session, so the WAL is what grows
        subprocess.run(
            [sys.executable, "-m", "mao_tui", "demo", "--greenfield", "--headless", "--speed",
             "inf", "--db", str(db)],
            env=env, capture_output=True, check=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mao_tui",
            "demo",
            "--greenfield",
            "--json",
            "--speed",
            "inf",
            "--db",
            str(db),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # it used to hang here
        preexec_fn=_limited(limit),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"mao: error: disk full / cannot write the database {db} (disk I/O error); "
        "the session stopped"
    ]
    listing = subprocess.run(
        [sys.executable, "-m", "mao_tui", "sessions", "--db", str(db)],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert "running" not in listing.stdout  # failed, or marked interrupted now
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
