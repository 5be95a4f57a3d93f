"""Save an SVG screenshot of the real `mao journal` (simulator, SDKs, engine, store, dashboard).

    python scripts/journal_screenshot.py   # screenshots/journal.svg

First a `mao demo` session runs headless (its scripted Gemini stall falls back to Sonnet); then
`mao journal --simulate` writes about it in the dashboard, as the command does: three
perspectives (Gemini 3 Pro, Sonnet 4.5, GPT-5.2) and Opus 4.5's synthesis into one entry. The
shot is the finished dashboard, the synthesis panel maximized (`f`) to show the entry and the
line saying where it was written.
Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from mao_tui.domain import EngineEvent
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch, run_session
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.service.session_request import journal_request
from mao_tui.tui import MaoApp
from mao_tui.tui.dashboard import DashboardScreen

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (200, 60)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)  # the entry's path shows as journal/… , as in a project
        demo = Launch(
            project_dir=Path("."), config_dir=None, db_path=root / "mao.db", simulate=True,
            speed=8,
        )  # fmt: skip
        develop = SessionRequest(
            command="develop",
            playbook="develop",
            task=DEMO_TASK,
            spec_text=demo_spec(),
            simulated=True,
            project_dir=Path("."),
            use_planner=False,
        )

        async def quiet(event: EngineEvent) -> None:
            return None

        await run_session(demo, develop, [quiet])
        launch = Launch(
            project_dir=Path("."), config_dir=None, db_path=root / "mao.db", simulate=True,
            speed=4, faults=False,
        )  # fmt: skip
        req = await journal_request(
            launch.settings(), db_path=launch.db_path, project_dir=Path("."), simulated=True
        )
        session = OpenSession(launch, req)
        app = MaoApp(
            session.run, control=session, simulated=True, title="mao · journal",
            backend=AppBackend(launch),
        )  # fmt: skip
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await screen.ended(1)
            await pilot.pause(0.5)  # the final Markdown renders off the loop
            screen.plan_table.focus()
            screen.plan_table.move_cursor(row=list(screen.lanes).index("synthesis"))
            await pilot.pause(0.5)
            app.save_screenshot("journal.svg", str(OUT))
            await pilot.press("ctrl+c")
    sys.stdout.write(f"wrote {OUT / 'journal.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
