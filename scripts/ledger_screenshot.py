"""Save an SVG screenshot of the real ensemble ledger (simulator, SDKs, engine, store, dashboard).

    python scripts/ledger_screenshot.py   # screenshots/ledger.svg

A `develop --candidates 3` session on the simulator, in a fresh git repository: the three
candidates of `implementation` are verified each in its own detached git worktree, the one that
passes the tests is selected, and the ledger (`l`) shows the race and where each file of the
synthesis came from. Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import math
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
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.ledger_screen import LedgerScreen

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (170, 44)


def _git(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


async def main() -> None:
    # the shipped check runs `python -m pytest`: this interpreter's
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "snippets"
        root.mkdir()
        _git(root, "init", "-q", "-b", "main")
        (root / "README.md").write_text("# snippets\n")
        _git(root, "add", "-A")
        _git(root, "-c", "user.name=u", "-c", "user.email=u@example.com", "commit", "-qm", "start")
        launch = Launch(
            project_dir=root,
            config_dir=None,
            db_path=Path(tmp) / "mao.db",
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
            project_dir=root,
            use_planner=False,
            candidates={"": 3},
        )
        session = OpenSession(launch, req)
        app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await screen.ended(1)
            await pilot.pause(0.3)
            await pilot.press("l")
            while not isinstance(app.screen, LedgerScreen):
                await pilot.pause(0.1)
            await pilot.pause(0.5)
            app.save_screenshot("ledger.svg", str(OUT))
            await pilot.press("escape")
            await pilot.press("q")
    sys.stdout.write(f"wrote {OUT / 'ledger.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
