"""A candidate race in the dashboard (issue 19, first slice): the race runs, and the lane's log
says what happened — each candidate, the selection and the ledger. Nothing verifies candidates
in the dashboard yet (docs/ensembles.md), so the cheapest answer is kept, and the log says so."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from fixtures.apply_fix import GUARD_S

from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen


async def test_a_race_is_told_in_its_lanes_log(tmp_path: Path) -> None:
    launch = Launch(
        project_dir=tmp_path,
        config_dir=None,
        db_path=tmp_path / "mao.db",
        simulate=True,
        speed=math.inf,
        faults=False,
    )
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
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.pause()
        notes = screen.state.lanes["implementation"].notes
        started = [n for n in notes if "Implementation: candidate " in n and " of 3 on " in n]
        assert len(started) == 3
        [selected] = [n for n in notes if "Implementation: selected #" in n]
        assert "not verified (no verification in this session)" in selected
        assert screen.state.session.status == "done"
