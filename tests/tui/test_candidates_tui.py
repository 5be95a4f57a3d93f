"""A candidate race in the dashboard (issue 19): the race runs and is verified, as headless runs
are (each candidate in its own copy of the workspace here: the project is not a git repository),
the lane's log says what happened — each candidate started and verified, the selection and the
ledger — and the ledger key opens the ensemble ledger: the candidates, their verification delta,
and where each file of the synthesis came from."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fixtures.apply_fix import GUARD_S, put_python_on_path
from fixtures.launches import fast_launch
from textual.widgets import DataTable

from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.ledger_screen import LedgerScreen


def _session(tmp_path: Path) -> OpenSession:
    launch = fast_launch(tmp_path)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
        use_planner=False,
        candidates={"": 3},
    )
    return OpenSession(launch, req)


async def test_a_dashboard_race_is_verified_and_its_ledger_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_python_on_path(monkeypatch)
    session = _session(tmp_path)
    backend = AppBackend(session._launch)
    app = MaoApp(session.run, control=session, simulated=True, backend=backend)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.pause()
        notes = screen.state.lanes["implementation"].notes
        started = [n for n in notes if "Implementation: candidate " in n and " of 3 on " in n]
        assert len(started) == 3
        verified = [n for n in notes if "Implementation: candidate #" in n and " in " in n]
        assert len(verified) == 3
        assert sum("1 passed, 0 failed" in n for n in verified) == 2  # opus-5.5's fails
        [selected] = [n for n in notes if "Implementation: selected #" in n]
        assert "verification: 1 passed, 0 failed" in selected  # verification decided
        assert screen.state.session.status == "done"
        assert screen.check_action("ledger", ())

        await pilot.press("l")
        await pilot.pause()
        ledger = app.screen
        assert isinstance(ledger, LedgerScreen)
        [race] = ledger.races
        assert race.model == "sonnet-5.5"
        [candidates] = ledger.query(".ledger-races").results(DataTable)
        assert candidates.row_count == 3
        rows = [[str(c) for c in candidates.get_row_at(i)] for i in range(3)]
        assert rows[0][0] == "1 ✓" and rows[0][1] == "sonnet-5.5"
        assert rows[0][4].startswith("+1 passing (tests), 0 new failures")  # the delta
        assert rows[2][4].startswith("+0 passing (none), 0 new failures")  # failed before too
        assert [r[7] for r in rows] == [f"copy implementation-{n}" for n in (1, 2, 3)]
        assert ledger.provenance is not None and ledger.provenance.stage == "synthesis"
        [files] = ledger.query(".ledger-files").results(DataTable)
        assert files.row_count >= len(ledger.provenance.files) > 0
        await pilot.press("escape")
        assert app.screen is screen
    assert not list(Path(tmp_path).glob("mao-race-*"))
