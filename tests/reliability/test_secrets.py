"""Secrets: API keys never reach a file mao writes, its output or its error messages; the
database and the folders mao makes for it are its owner's alone.

Sessions run against the real SDKs with distinctive fake keys in the environment (the providers
pointed at the simulator by a configuration layer, as at a proxy), some calls failing with an
auth error whose message repeats the request's credential headers: two `develop` sessions, a
`qa` review, a `journal` entry, `mcp config` and exports. Then every file under the test's
folders (the database with its -wal and -shm, exports, the journal entry, .mcp.json, anything
else) and everything printed or logged is searched for the keys and their marker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from fixtures.sim_thread import FAKE_KEYS, MARKER, ThreadedSimulator, write_sim_config

from mao_tui import cli
from mao_tui.providers.base import ErrorKind
from mao_tui.providers.errors import classify
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend
from mao_tui.simulator.faults import FaultRule
from mao_tui.store import Store

# In each session, the first call of one model per provider fails with a 401 that echoes
# the credentials it got.
ECHOING_AUTH = tuple(
    FaultRule(kind="auth", model=model, times=2, echo_credentials=True)
    for model in ("gemini-4-argon", "gpt-6.2-astra", "claude-sonnet-5-5")
)


def _leaks(data: bytes) -> list[str]:
    needles = [MARKER, *FAKE_KEYS.values()]
    return [n for n in needles if n.encode() in data or n.encode("utf-16-le") in data]


def test_no_key_in_any_file_output_log_or_error_and_the_database_is_private(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, key in FAKE_KEYS.items():
        monkeypatch.setenv(name, key)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    db = tmp_path / "data" / "new" / "mao.db"  # mao makes both folders
    printed: list[str] = []
    with ThreadedSimulator(faults=ECHOING_AUTH) as sim:
        config = write_sim_config(tmp_path / "config", sim.base_url)
        common = ["--config", str(config), "--db", str(db), "--no-planner"]
        # Each provider's first request is refused with a 401 echoing the credentials: that
        # rules its key out for the session (session_facts.py), so both sessions fail (exit 1),
        # and the echoed keys pass through every error path, fallback details included.
        assert cli.main(["develop", "Build the snippet store.", "--headless", *common]) == 1
        # A reader holds the database open, so the next session's -wal and -shm stay on disk.
        reader = sqlite3.connect(db)
        reader.execute("SELECT count(*) FROM sessions").fetchall()
        assert cli.main(["develop", "Build the snippet store.", "--json", *common]) == 1
        (project / "app.py").write_text("def inc(x):\n    return x + 1\n", encoding="utf-8")
        assert cli.main(["qa", "app.py", "--headless", *common]) == 0
        assert cli.main(["journal", "--headless", *common]) == 0  # writes journal/*.md
        assert cli.main(["mcp", "config", "--with-mao"]) == 0  # writes .mcp.json
        printed.append("".join(capsys.readouterr()))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists() and wal.stat().st_size > 0
        wal_bytes, shm_bytes = wal.read_bytes(), shm.read_bytes()
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (db, wal, shm)}
        fired = sum(count for _, count in sim.sim.faults_fired)
        reader.close()
    assert fired == 2 * len(ECHOING_AUTH)  # each echoing 401 was sent in both sessions
    assert modes == {"mao.db": 0o600, "mao.db-wal": 0o600, "mao.db-shm": 0o600}
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.parent.stat().st_mode) == 0o700

    with sqlite3.connect(db) as conn:
        errors = [r[0] for r in conn.execute("SELECT error_message FROM attempts") if r[0]]
        ids = [r[0] for r in conn.execute("SELECT id FROM sessions")]
    echoed = [e for e in errors if "invalid credentials" in e]
    assert len(echoed) >= 2 * len(ECHOING_AUTH)
    assert all("***" in e for e in echoed)  # the key was in the message, and is redacted

    backend = AppBackend(Launch(project_dir=project, config_dir=config, db_path=db))
    exports = tmp_path / "exports"
    for session_id in ids:
        for fmt, suffix in (("markdown", "md"), ("json", "json")):
            path = exports / f"{session_id}.{suffix}"
            asyncio.run(backend.export(session_id, fmt, path))  # type: ignore[arg-type]
        assert cli.main(["sessions", "show", session_id, "--db", str(db)]) == 0
    assert cli.main(["sessions", "--db", str(db)]) == 0
    printed.append("".join(capsys.readouterr()))
    printed.append("\n".join(r.getMessage() for r in caplog.records))

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert db in written and len([p for p in written if p.parent == exports]) == 2 * len(ids)
    assert (project / ".mcp.json") in written and list((project / "journal").glob("*.md"))
    leaks = {str(p): _leaks(p.read_bytes()) for p in written}
    leaks["-wal (during the run)"] = _leaks(wal_bytes)
    leaks["-shm (during the run)"] = _leaks(shm_bytes)
    leaks["stdout, stderr and logs"] = _leaks("".join(printed).encode())
    assert {where: found for where, found in leaks.items() if found} == {}


def test_a_db_in_an_existing_folder_keeps_the_folders_mode(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    async def open_close(path: Path) -> None:
        store = await Store.open(path)
        await store.close()

    asyncio.run(open_close(folder / "mao.db"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "mao.db").stat().st_mode) == 0o600
    existing = tmp_path / "existing.db"
    existing.touch(mode=0o644)
    existing.chmod(0o644)
    asyncio.run(open_close(existing))
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644  # the user's own file is left as is


@pytest.mark.parametrize("key", list(FAKE_KEYS.values()))
def test_a_classified_error_never_repeats_the_key_or_the_authorization_header(key: str) -> None:
    import httpx2 as httpx
    from anthropic import AuthenticationError

    request = httpx.Request("POST", "http://127.0.0.1/v1/messages")
    body = f"bad key {key}; authorization: Bearer {key}; x-api-key: {key}; ?key={key}"
    response = httpx.Response(401, request=request, text=body)
    error = classify(AuthenticationError(body, response=response, body=None), secrets=(key,))
    assert error is not None and error.kind is ErrorKind.AUTH
    assert key not in error.message and key not in str(error) and MARKER not in error.message
    assert os.environ.get("ANTHROPIC_API_KEY") is None  # conftest keeps real keys out
