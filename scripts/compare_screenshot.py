"""Save an SVG screenshot of the real compare view (simulator, SDKs, engine, store, dashboard).

    python scripts/compare_screenshot.py   # screenshots/compare-race.svg

The demo's `develop` session runs to its end; then ``R`` races its Implementation row on three
candidates and ``c`` opens the compare view, cycled (``]``) to the pair of the selected candidate
against the one whose copy carries the simulator's scripted ranking bug.
Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
from pathlib import Path

from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui import MaoApp
from mao_tui.tui.compare_screen import CompareScreen
from mao_tui.tui.dashboard import DashboardScreen

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (160, 48)
KEY = "implementation"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        launch = Launch(project_dir=root, config_dir=None, db_path=root / "mao.db",
                        simulate=True, speed=math.inf, faults=False)  # fmt: skip
        req = SessionRequest(command="develop", playbook="develop", task=DEMO_TASK,
                             spec_text=demo_spec(), simulated=True, project_dir=root,
                             use_planner=False)  # fmt: skip
        session = OpenSession(launch, req)
        app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await screen.ended(1)
            table = screen.plan_table
            table.focus()
            table.move_cursor(row=table.get_row_index(KEY))
            await pilot.pause()
            await pilot.press("R")
            await pilot.pause()
            await pilot.press("enter")  # 3 candidates
            await screen.ended(2)
            await pilot.press("c")
            await pilot.pause()
            compare = app.screen
            assert isinstance(compare, CompareScreen)
            for _ in compare.pairs:
                left, right = compare.shown
                if left.attempt_id == screen.state.lanes[KEY].used and right.model == "opus-5.5":
                    break
                await pilot.press("right_square_bracket")
            await pilot.pause(0.3)
            app.save_screenshot("compare-race.svg", str(OUT))
            await pilot.press("escape")
            await pilot.press("ctrl+c")
    sys.stdout.write(f"wrote {OUT / 'compare-race.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
