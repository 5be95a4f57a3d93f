"""Model output is untrusted: terminal escape sequences a model sends never reach a terminal raw.

The simulator's ``escapes`` fault puts CSI, OSC 52, OSC 8, OSC 0, BEL, BS, CR, DEL and C1
controls (``HOSTILE_TEXT``) into every streamed thinking and answer, through the real SDKs.
Every way mao shows text is then checked: headless progress and output, ``--json``, the
database, ``mao sessions show``, both exports, log records, and the dashboard's rendered
screen (and the attempts dialog's Markdown, whose links are shown, never opened).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.launches import fast_launch
from textual.pilot import Pilot
from textual.widgets import Markdown

from mao_tui import cli
from mao_tui.domain.sanitize import clean, clean_json, is_clean
from mao_tui.engine.files import MANIFEST_TAG, synthesis_files
from mao_tui.engine.orchestrator_plan import extract_json
from mao_tui.engine.session import SessionRequest
from mao_tui.engine.verify import run_command
from mao_tui.render import export
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.simulator.faults import HOSTILE_TEXT, FaultRule
from mao_tui.store import Store
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.dialogs import AttemptsScreen

GUARD_S = 60.0
ESCAPES = (FaultRule(kind="escapes", times=None),)
VISIBLE_ESC = "\u241b"  # ␛: what an ESC becomes


def _controls(text: str) -> list[str]:
    return sorted({repr(ch) for ch in text if not is_clean(ch)})


def test_clean_makes_every_control_but_newline_and_tab_visible() -> None:
    controls = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
    cleaned = clean("".join(controls))
    assert is_clean(cleaned)
    assert "\n" in cleaned and "\t" in cleaned
    assert "\r" not in cleaned and "\x1b" not in cleaned and "\x9b" not in cleaned
    assert clean("a\r\nb") == "a\nb"
    assert clean(HOSTILE_TEXT).startswith("␛[31mred␛[0m ␛[2J␛[H␛]52;c;")
    # per character: a sequence split across two deltas is cleaned as a whole one is
    half = len(HOSTILE_TEXT) // 2
    assert clean(HOSTILE_TEXT[:half]) + clean(HOSTILE_TEXT[half:]) == clean(HOSTILE_TEXT)
    assert clean("ünïcode → ✓ 日本") == "ünïcode → ✓ 日本"


def test_json_parsed_from_model_output_is_cleaned_again() -> None:
    """A JSON string's \\u001b escapes decode to raw controls: the plan, QA findings and the
    files manifest parse model output, so each parsed value is cleaned."""
    escaped = json.dumps(HOSTILE_TEXT)  # \u001b… : printable until parsed
    assert is_clean(escaped)
    plan = extract_json(f'{{"rationale": {escaped}, "workstreams": [{{"k": [{escaped}]}}]}}')
    assert plan == {"rationale": clean(HOSTILE_TEXT), "workstreams": [{"k": [clean(HOSTILE_TEXT)]}]}
    assert clean_json({HOSTILE_TEXT: [1, None, HOSTILE_TEXT]}) == {
        clean(HOSTILE_TEXT): [1, None, clean(HOSTILE_TEXT)]
    }
    manifest = f'{{"files": [{{"path": "a.py", "content": {escaped}}}]}}'
    found = synthesis_files(f"```json {MANIFEST_TAG}\n{manifest}\n```\n")
    assert [f.content for f in found.files] == [clean(HOSTILE_TEXT)]


async def test_verification_output_is_cleaned_it_runs_code_a_model_wrote(tmp_path: Path) -> None:
    lines: list[str] = []

    async def on_line(line: str) -> None:
        lines.append(line)

    code = f"import sys; sys.stdout.write({HOSTILE_TEXT!r} * 2)"
    result = await run_command([sys.executable, "-c", code], tmp_path, 30.0, on_line)
    assert result.exit_code == 0
    assert VISIBLE_ESC in result.output and is_clean(result.output)
    assert lines and all(is_clean(line) for line in lines)


def _demo(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    db: Path,
    *flags: str,
) -> tuple[int, str, str]:
    monkeypatch.setattr("mao_tui.simulator.faults.demo_faults", lambda: list(ESCAPES))
    code = cli.main(["demo", "--speed", "inf", "--no-planner", "--db", str(db), *flags])
    out, err = capsys.readouterr()
    return code, out, err


def test_headless_output_json_store_sessions_show_exports_and_logs_are_clean(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "mao.db"

    code, out, err = _demo(monkeypatch, capsys, db, "--headless")
    assert code == 0, err
    assert VISIBLE_ESC in out  # the synthesis streamed hostile text: shown, made visible
    assert _controls(out) == [] and _controls(err) == []

    code, out, err = _demo(monkeypatch, capsys, db, "--json")
    assert code == 0, err
    assert _controls(out.replace("\n", "")) == [] and _controls(err) == []
    deltas = [json.loads(line) for line in out.splitlines()]
    texts = [e["text"] for e in deltas if e["type"] == "delta"]
    assert any(VISIBLE_ESC in t for t in texts)
    assert all(is_clean(t) for t in texts)  # decoded JSON strings too, not only the bytes

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT thinking_text, output_text, COALESCE(error_message, '') FROM attempts"
        ).fetchall()
        rows += conn.execute("SELECT text, '', '' FROM syntheses").fetchall()
    stored = "".join("".join(r) for r in rows)
    assert VISIBLE_ESC in stored and is_clean(stored)

    async def details() -> list[Any]:
        async with await Store.open(db) as store:
            sessions = await store.list_sessions()
            return [await store.get_session(s.id) for s in sessions]

    for detail in asyncio.run(details()):
        assert detail is not None
        for fmt in ("markdown", "json"):
            rendered = export.render(detail, fmt)  # type: ignore[arg-type]
            assert VISIBLE_ESC in rendered or "\\u241b" in rendered
            assert _controls(rendered.replace("\n", "").replace("\t", "")) == []
        assert cli.main(["sessions", "show", detail.id, "--db", str(db)]) == 0
        shown, _ = capsys.readouterr()
        assert VISIBLE_ESC in shown and _controls(shown) == []
    assert cli.main(["sessions", "--db", str(db)]) == 0
    listed, _ = capsys.readouterr()
    assert _controls(listed) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert _controls(logged) == []


def _screen_text(app: MaoApp[Any]) -> str:
    """Every character the compositor would send for the whole screen (styles aside)."""
    update = app.screen._compositor.render_update(full=True)
    return "\n".join("".join(seg.text for seg in strip) for strip in update.strips)


async def test_the_dashboard_and_the_attempts_dialog_show_no_raw_control_and_open_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = fast_launch(tmp_path, faults=True, sim_faults=ESCAPES)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
        use_planner=False,
    )
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    opened: list[str] = []
    monkeypatch.setattr(MaoApp, "open_url", lambda self, url, **kw: opened.append(url))
    async with app.run_test(size=(200, 60)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await _settle(pilot)
        text = _screen_text(app)
        assert VISIBLE_ESC in text and _controls(text.replace("\n", "")) == []

        screen.plan_table.focus()
        await pilot.press("A")  # every attempt of the selected workstream
        await _settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AttemptsScreen)
        text = _screen_text(app)
        assert _controls(text.replace("\n", "")) == []
        markdown = dialog.query_one("#attempt-answer", Markdown)
        assert "https://evil.example/md" in markdown.source
        markdown.post_message(Markdown.LinkClicked(markdown, "https://evil.example/md%1b]52"))
        await _settle(pilot)
        assert opened == []  # a link is shown (and named when clicked), never opened
        await pilot.press("escape")
        await pilot.press("ctrl+c")


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()
