"""`mao sessions` lists from plain rows: no pydantic, no settings, no Textual or SDK import (it
must start in well under 100 ms over 10,000 sessions), and the rows carry exactly what the
validated records would."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    EngineEvent,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    TokenTotals,
)
from mao_tui.domain.stored import SessionSummary
from mao_tui.store import Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
HEAVY = (
    "textual",
    "rich",
    "anthropic",
    "openai",
    "google.genai",
    "yaml",
    "pydantic",
    "mao_tui.settings",
    "mao_tui.domain.events",
    "mao_tui.domain.stored",
)


def _session(session_id: str, *, finished: bool, simulated: bool) -> list[EngineEvent]:
    at = T0 + timedelta(minutes=len(session_id))
    events: list[EngineEvent] = [
        SessionStarted(
            session_id=session_id,
            at=at,
            command="develop",
            playbook="develop",
            task=f"task of {session_id}",
            simulated=simulated,
            project_dir="/tmp/project",
        ),
        AttemptStarted(
            session_id=session_id,
            at=at,
            attempt_id=f"{session_id}-a1",
            workstream="schemas",
            model="sonnet-4.5",
            provider="anthropic",
            api_model="claude-sonnet-4-5",
            attempt_no=1,
            thinking=False,
        ),
    ]
    if finished:
        totals = TokenTotals(input_tokens=120, output_tokens=30, cost_usd=0.25, cost_complete=False)
        events += [
            AttemptFinished(
                session_id=session_id,
                at=at + timedelta(seconds=3),
                attempt_id=f"{session_id}-a1",
                workstream="schemas",
                model="sonnet-4.5",
                status=AttemptStatus.OK,
                usage=totals,
                elapsed_s=3.0,
            ),
            SessionFinished(
                session_id=session_id,
                at=at + timedelta(seconds=4),
                status=SessionStatus.DONE,
                totals=totals,
                elapsed_s=4,
            ),
        ]
    return events


async def _seeded(db: Path) -> Store:
    store = await Store.open(db)
    sink = store.sink()
    for event in [
        *_session("S-DONE", finished=True, simulated=True),
        *_session("S-RUNNING-LONGER", finished=False, simulated=False),
    ]:
        await sink(event)
    await sink.aclose()
    return store


async def test_rows_carry_what_the_validated_summaries_carry(tmp_path: Path) -> None:
    store = await _seeded(tmp_path / "mao.db")
    try:
        rows = await store.list_rows(10)
        summaries = await store.list_sessions(10)
    finally:
        await store.close()
    assert [row.id for row in rows] == ["S-RUNNING-LONGER", "S-DONE"]
    for row, summary in zip(rows, summaries, strict=True):
        validated = SessionSummary.model_validate(summary.model_dump())
        assert summary == validated
        assert summary.model_dump() == row.as_fields()
        assert {k: type(v) for k, v in dict(summary).items()} == {
            k: type(v) for k, v in dict(validated).items()
        }


async def test_mao_sessions_imports_nothing_heavy(tmp_path: Path) -> None:
    db = tmp_path / "mao.db"
    await (await _seeded(db)).close()
    probe = (
        "import sys, io, contextlib\n"
        "from mao_tui.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['sessions', '--db', {str(db)!r}])\n"
        f"heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))\n"
        "print(code, heavy)\n"
        "print(out.getvalue())\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first, listing = run.stdout.split("\n", 1)
    assert first == "0 []"
    assert "S-DONE" in listing and "S-RUNNING-LONGER" in listing and "task of S-DONE" in listing
