"""`mao demo` and `mao develop` end to end: the dashboard, headless, JSON lines, exit statuses.

These run the real thing: simulator on 127.0.0.1, real SDKs, engine, store. The demo's scripted
Gemini stall falls back after the simulated providers' read timeout (service.launch.SIM_TIMEOUT_S).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mao_tui.cli import main
from mao_tui.domain import EventSink, SessionFinished
from mao_tui.domain.errors import UsageError
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch, run_session
from mao_tui.tui import MaoApp
from mao_tui.tui.dashboard import DashboardScreen

FAST = "40"  # simulator speed for tests: streams are quick, the stall still waits for its timeout
FALLBACK = "Schemas: fallback from gemini-4-argon to sonnet-5.5 (timeout)"
LANES = ["schemas", "storage", "core_logic", "implementation", "tests", "synthesis"]


def _plain(value: object) -> str:
    return str(getattr(value, "plain", value))


def _stored(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, status, simulated FROM sessions").fetchall()


async def test_the_dashboard_runs_the_demo_to_completion(db_path: Path, tmp_path: Path) -> None:
    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=db_path, simulate=True, speed=float(FAST)
    )
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
    )

    async def runner(sink: EventSink) -> SessionFinished:
        return await run_session(launch, req, [sink])

    app = MaoApp(runner, simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await asyncio.wait_for(app.session_done.wait(), 60)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert "SIMULATED" in _plain(screen.title_bar.badge.content)
        table = screen.plan_table
        assert table.row_keys == LANES
        models = {k: _plain(table.cell(k, "model")) for k in LANES}
        assert models == {
            "schemas": "sonnet-5.5", "storage": "gpt-6.2-sol", "core_logic": "gpt-6.2-astra",
            "implementation": "sonnet-5.5", "tests": "gpt-6.2-sol", "synthesis": "opus-5.5",
        }  # fmt: skip
        assert _plain(table.cell("schemas", "status")) == "done (2)"
        for key in LANES[1:]:
            assert _plain(table.cell(key, "status")) == "done"
        assert screen.fallback_log.lines == [FALLBACK]
        for key in LANES:
            panel = screen.panels[key]
            assert models[key] in _plain(panel.border_title)
            assert len(panel.answer.source) > 500, key
            assert panel.thinking_text, key
        assert "snippet" in screen.panels["synthesis"].answer.source.lower()
        await pilot.press("q")
    assert app.return_value == 0
    ((_, status, simulated),) = _stored(db_path)
    assert (status, simulated) == ("done", 1)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_demo_headless_json_prints_the_events_a_script_needs(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--json", "--speed", FAST, "--db", str(db_path)]) == 0
    events = _json_lines(capsys.readouterr().out)
    types = {e["type"] for e in events}
    assert {
        "session_started", "plan", "attempt_started", "fallback", "workstream_finished",
        "synthesis_finished", "session_finished",
    } <= types  # fmt: skip
    assert events[0]["type"] == "session_started" and events[0]["simulated"] is True
    (fb,) = [e for e in events if e["type"] == "fallback"]
    assert (fb["workstream"], fb["from_model"], fb["to_model"], fb["reason"]) == (
        "schemas", "gemini-4-argon", "sonnet-5.5", "timeout",
    )  # fmt: skip
    started = [e for e in events if e["type"] == "attempt_started"]
    assert all({"workstream", "model", "attempt_no"} <= e.keys() for e in started)
    finished = [e for e in events if e["type"] == "workstream_finished"]
    assert {e["workstream"]: e["status"] for e in finished} == dict.fromkeys(LANES[:5], "done")
    last = events[-1]
    assert last["type"] == "session_finished" and last["status"] == "done"
    assert last["totals"]["output_tokens"] > 0 and last["totals"]["input_tokens"] > 0
    assert [(sid, status) for sid, status, _ in _stored(db_path)] == [(last["session_id"], "done")]


def test_demo_headless_prints_progress_on_stderr_and_the_synthesis_on_stdout(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--headless", "--speed", FAST, "--db", str(db_path)]) == 0
    captured = capsys.readouterr()
    assert "[SIMULATED]" in captured.err and "mao: the sample repository is in " in captured.err
    assert f"↪ {FALLBACK}" in captured.err
    assert "session done" in captured.err
    assert captured.out.startswith("# Add CSV export of invoices")  # the sample repository's
    assert "fallback" not in captured.out
    assert main(["demo", "--greenfield", "--headless", "--speed", FAST, "--db", str(db_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Snippets") and "sample repository" not in captured.err


def test_sessions_lists_and_shows_a_stored_session(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--json", "--speed", FAST, "--db", str(db_path)]) == 0
    session_id = _json_lines(capsys.readouterr().out)[0]["session_id"]
    assert main(["sessions", "--db", str(db_path)]) == 0
    listing = capsys.readouterr().out
    assert session_id in listing and "done*" in listing and "gemini-4-argon" in listing
    assert main(["sessions", "show", session_id[:12], "--db", str(db_path)]) == 0
    shown = capsys.readouterr().out
    assert f"# Session {session_id}  [SIMULATED]" in shown
    assert f"- {FALLBACK}" in shown
    assert "schemas #1 gemini-4-argon: failed (timeout" in shown
    assert "## Synthesis\n\nby opus-5.5 (done)" in shown
    assert main(["sessions", "show", "ZZZZ", "--db", str(db_path)]) == 2
    assert "no session matches 'ZZZZ'" in capsys.readouterr().err


def test_develop_simulate_runs_the_playbook_without_faults(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "PRD.md"
    spec.write_text("# PRD\n\n## 1. Search\nFind snippets by word.\n", encoding="utf-8")
    code = main(
        [
            "develop",
            "Add search",
            "--spec",
            str(spec),
            "--simulate",
            "--json",
            "--speed",
            FAST,
            "--db",
            str(db_path),
        ]
    )
    assert code == 0
    events = _json_lines(capsys.readouterr().out)
    assert not [e for e in events if e["type"] == "fallback"]
    assert events[0]["task"] == "Add search"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["develop", "   "], "the task is empty"),
        (["develop", "x", "--spec", "missing.md"], "missing.md: spec file not found"),
        (["develop", "x", "--spec", "binary.md"], "binary.md: looks binary"),
        (["develop", "x", "--spec", "latin1.md"], "latin1.md: not UTF-8 text"),
        (["develop", "x", "--config", "nowhere"], "nowhere: --config expects a directory"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "binary.md").write_bytes(b"\x00\x01PNG")
    (tmp_path / "latin1.md").write_bytes("café".encode("latin-1"))
    assert main([*argv, "--headless", "--db", str(tmp_path / "db.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mao: error: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "db.sqlite").exists()


def test_help_is_instant_because_nothing_heavy_is_imported() -> None:
    probe = (
        "import sys; from mao_tui.cli import build_parser; build_parser();"
        "heavy = [m for m in ('textual', 'anthropic', 'openai', 'google.genai', 'aiosqlite')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    help_run = subprocess.run(
        [sys.executable, "-m", "mao_tui", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in help_run.stdout and "develop" in help_run.stdout


def test_a_reader_that_stops_early_ends_the_session_quietly(tmp_path: Path) -> None:
    """`mao demo --json | head`: the reader closes the pipe after a few lines. mao stops without
    a traceback, exits 141 (128 + SIGPIPE) and stores the session cancelled, not failed."""
    db = tmp_path / "pipe.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mao_tui", "demo", "--json", "--speed", FAST, "--db", str(db)],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # its sample repository goes there
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines = [proc.stdout.readline() for _ in range(3)]
    assert json.loads(lines[0])["type"] == "session_started"
    proc.stdout.close()  # what `head -3` does once it has its lines
    try:
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141
    [(_, status, simulated)] = _stored(db)
    assert (status, simulated) == ("cancelled", 1)


@pytest.mark.parametrize("mode", ["--headless", None])
def test_develop_with_no_key_says_what_to_set_and_exits_2_before_any_request(
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mode: str | None,
) -> None:
    """No key for any routed model: one message naming the variables (and --simulate), exit 2,
    before the dashboard opens (mode None) and before any session is stored."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no CLI tool either
    monkeypatch.setattr(MaoApp, "run", lambda self: pytest.fail("the dashboard opened"))
    code = main(["develop", "add search", "--db", str(db_path), *([mode] if mode else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("mao: error:") == 1, err
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "--simulate"):
        assert name in err
    assert not db_path.exists()


def test_one_key_is_enough_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a key for one provider the check lets the session run on what can (the others are
    skipped as fallbacks `no API key`, in the fallback log: tests/integration/test_engine.py)."""
    from mao_tui.cli.request_checks import require_a_runnable_model

    launch = Launch(project_dir=tmp_path, config_dir=None, db_path=tmp_path / "x.db")
    req = SessionRequest(
        command="develop", playbook="develop", task="t", spec_text="", project_dir=tmp_path
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    require_a_runnable_model(launch.settings(), req)  # does not raise


def test_simulated_answers_are_about_the_task_typed(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task of the user's (not the demo's snippet store): the plan, every workstream and the
    synthesis speak of it, the same words each time; the demo's task keeps its scripted story."""
    task = "Add a CSV export to the invoices page"

    def run(what: str) -> tuple[str, list[dict[str, Any]]]:
        args = ["develop", what, "--simulate", "--json", "--speed", "inf", "--db", str(db_path)]
        assert main(args) == 0
        events = _json_lines(capsys.readouterr().out)
        synthesis = next(e for e in events if e["type"] == "synthesis_finished")["text"]
        return synthesis, events

    synthesis, events = run(task)
    assert synthesis.startswith(f"# {task} — merged plan")
    plan_part = synthesis.split("\n## Files\n")[0]
    assert "snippet" not in plan_part.lower()  # the files after it are the example's, said so
    [plan] = [e["plan"] for e in events if e["type"] == "plan"]
    assert task in plan["rationale"]
    with sqlite3.connect(db_path) as conn:
        outputs = conn.execute(
            "SELECT workstream, output_text FROM attempts WHERE status = 'ok'"
        ).fetchall()
    assert len(outputs) >= 6
    for workstream, text in outputs:
        if workstream not in ("orchestrator", "dependency_check"):
            text = text.split("\n## Files\n")[0]  # the synthesis's files are the example's
            assert task in text and "snippet" not in text.lower(), workstream
    assert run(task)[0] == synthesis  # deterministic
    demo, _ = run(DEMO_TASK)
    assert "snippet" in demo.lower() and task not in demo


def test_the_dashboard_demo_opens_on_a_fresh_sample_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mao demo` (no --headless) runs on the sample repository too; --greenfield, the spec.
    Once its checks passed with a configuration, the next `mao demo` on it paints first: the
    dashboard opens before the sample repository exists, and its worker makes the repository
    and builds the same request (mao_tui/cli/demo.py)."""
    from mao_tui.samples import DEMO_TASK
    from mao_tui.samples.sample_repo import SAMPLE_TASK
    from mao_tui.service.live_session import OpenSession

    seen: list[Any] = []
    painted_first: list[bool] = []

    def dashboard(launch: Any, req: Any, *, review_plan: bool = False) -> int:
        seen.append(req)
        return 0

    def opened(launch: Any, session: OpenSession, title: str, keymap: Any) -> int:
        assert title == "mao · develop" and launch.workspace is not None
        painted_first.append(not (launch.workspace / ".git").exists())
        seen.append(session._prepare() if session._prepare is not None else None)
        return 0

    monkeypatch.setattr("mao_tui.cli.running.run_tui", dashboard)
    monkeypatch.setattr("mao_tui.cli.running.run_dashboard", opened)
    monkeypatch.setattr("mao_tui.cli.running.require_terminal", lambda *_: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no digest remembered yet
    monkeypatch.chdir(tmp_path)
    db = ["--db", str(tmp_path / "m.db")]
    assert main(["demo", *db]) == 0
    assert painted_first == []  # every check before any screen, the first time
    assert main(["demo", *db]) == 0
    assert painted_first == [True]
    assert main(["demo", "--greenfield", *db]) == 0
    sample, again, greenfield = seen
    for req in (sample, again):
        assert req.task == SAMPLE_TASK and (Path(req.repository) / ".git").is_dir()
        assert (Path(req.repository) / "tests" / "test_export.py").is_file()
        assert not Path(req.repository).is_relative_to(tmp_path)  # never where it was started
    assert sample.repository != again.repository  # each a fresh one
    assert again.command == sample.command and again.playbook == sample.playbook
    assert greenfield.task == DEMO_TASK and greenfield.repository is None
    assert main(["demo", "--headless", "--workspace", str(tmp_path), *db]) == 2
    assert "is not an empty folder" in capsys.readouterr().err  # painted first or not


def test_a_demo_that_paints_first_still_refuses_before_any_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the worker cannot check without the slow work is checked cheaply before the
    screen (a --workspace that is not empty, no terminal); a configuration changed since its
    checks passed is validated before any screen again (exit 2 with its errors)."""
    opened: list[str] = []

    def opener(name: str) -> Any:
        def opened_as(*_args: Any, **_kwargs: Any) -> int:
            opened.append(name)
            return 0

        return opened_as

    monkeypatch.setattr("mao_tui.cli.running.run_tui", opener("all"))
    monkeypatch.setattr("mao_tui.cli.running.run_dashboard", opener("first"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    db = ["--db", str(tmp_path / "m.db")]
    monkeypatch.setattr("mao_tui.cli.running.require_terminal", lambda *_: None)
    assert main(["demo", *db]) == 0
    assert main(["demo", "--workspace", str(tmp_path), *db]) == 2
    assert "--workspace: " in capsys.readouterr().err and opened == ["all"]
    monkeypatch.undo()  # a pipe again: no terminal
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo", *db]) == 2
    assert "the dashboard needs a terminal" in capsys.readouterr().err
    (tmp_path / ".mao").mkdir()  # the project's layer: a change since the checks passed
    (tmp_path / ".mao" / "models.yaml").write_text("models: [\n", encoding="utf-8")
    assert main(["demo", *db]) == 2
    assert "models.yaml" in capsys.readouterr().err
    assert main(["demo", "--config", str(tmp_path / "none"), *db]) == 2
    assert "--config expects a directory" in capsys.readouterr().err
    assert opened == ["all"]


def test_the_dashboard_without_a_terminal_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under pytest stdin and stdout are no terminal, as in a pipe or cron: the dashboard would
    draw escape codes into the pipe and wait for keys forever."""
    db = str(tmp_path / "m.db")
    assert main(["develop", "add search", "--simulate", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "the dashboard needs a terminal on stdin and stdout; add --headless" in err
    assert main(["--db", db]) == 2
    assert "mao (Home) needs a terminal" in capsys.readouterr().err
    assert gc.isenabled(), "the collector paused for the start-up of a screen is back on"
    assert main(["develop", "add search", "--simulate", "--headless", "--db", db]) == 0


def test_a_request_refused_after_the_first_frame_exits_2_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Painted first, the session's worker makes the repository and builds the request; what
    it refuses there (a full disk, a configuration edited in between) ends the session, and
    the command exits 2 with the reason once the app has closed."""
    from mao_tui.cli import demo

    def app_run(app: MaoApp) -> int:
        with pytest.raises(UsageError):
            asyncio.run(app.dashboard._run_session())
        return 1

    def no_space(target: Path) -> None:
        raise UsageError(f"cannot make the sample repository in {target}: no space left")

    monkeypatch.setattr("mao_tui.cli.running.run_tui", lambda *_a, **_k: 0)
    monkeypatch.setattr("mao_tui.cli.running.require_terminal", lambda *_: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    db = ["--db", str(tmp_path / "m.db")]
    assert main(["demo", *db]) == 0  # its checks pass, and are remembered
    monkeypatch.setattr(MaoApp, "run", app_run)
    monkeypatch.setattr(demo, "_make_sample_repo", no_space)
    assert main(["demo", *db]) == 2
    assert "mao: error: cannot make the sample repository in " in capsys.readouterr().err
