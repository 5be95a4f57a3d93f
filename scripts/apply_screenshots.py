"""Save SVG screenshots of the real apply/verify/fix loop (simulator, SDKs, engine, store,
dashboard, and a real `python -m pytest -q` in a fresh git repository).

    python scripts/apply_screenshots.py   # screenshots/apply-diff.svg, screenshots/verification.svg

The simulator's first synthesis has a failing test (`--sim-failing-tests`): `a` applies it and
the tests fail; `F` runs a fix round; the diff the fix round's synthesis proposes is shot
(`apply-diff.svg`), then, once applied and verified, the Verification pane (`verification.svg`).
Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (160, 48)


async def main() -> None:
    # `python` in the verification command is this interpreter, which has pytest.
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "snippets-app"
        root.mkdir()
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        launch = Launch(
            project_dir=root,
            config_dir=None,
            db_path=Path(tmp) / "mao.db",
            simulate=True,
            speed=8,
            faults=False,
            sim_failing_first=True,
        )
        req = SessionRequest(
            command="develop",
            playbook="develop",
            task=DEMO_TASK,
            spec_text=demo_spec(),
            simulated=True,
            project_dir=root,
        )
        session = OpenSession(launch, req)
        app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await screen.ended(1)
            pane = screen.verification
            await pilot.press("a")
            while not isinstance(app.screen, ApplyScreen):
                await pilot.pause(0.1)
            await pilot.press("y")
            while pane.result is None:
                await pilot.pause(0.1)
            await pilot.press("F")
            while not isinstance(app.screen, ApplyScreen):
                await pilot.pause(0.1)
            await pilot.pause(0.3)  # it opens on the first file that changes: search.py
            app.save_screenshot("apply-diff.svg", str(OUT))
            await pilot.press("y")
            while pane.result is None or pane.result.round != 1:
                await pilot.pause(0.1)
            screen.plan_table.focus()
            await pilot.pause(0.5)
            app.save_screenshot("verification.svg", str(OUT))
            await pilot.press("q")
    sys.stdout.write(f"wrote {OUT / 'apply-diff.svg'} and {OUT / 'verification.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
