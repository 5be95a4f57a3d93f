"""Save an SVG screenshot of the real `mao qa` (simulator, SDKs, engine, store, dashboard).

    python scripts/qa_screenshot.py   # screenshots/qa-report.svg

A small project with a few planted defects is reviewed as `mao qa src --simulate` would do it;
the simulated security reviewer sends invalid JSON once, so its review goes through the repair
round. The shot is the QA report screen that opens when the report is ready.
Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from mao_tui.engine.session import SessionRequest
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.service.qa_input import prepare
from mao_tui.simulator.faults import FaultRule
from mao_tui.tui import MaoApp
from mao_tui.tui.qa_report import QaReportScreen

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (160, 48)
PROJECT = {
    "src/store.py": """import sqlite3
from typing import Any


def load(path):
    f = open(path)
    return eval(f.read())


def find(conn: sqlite3.Connection, name: str) -> Any:
    try:
        return conn.execute(f"SELECT * FROM users WHERE name = '{name}'").fetchone()
    except Exception:
        pass


def export() -> None:
    # TODO: the CSV export the PRD asks for
    raise NotImplementedError
""",
    "src/settings.py": """API_KEY = "sk-live-123456"
counter = 0


def bump() -> int:
    global counter
    counter += 1
    return counter
""",
}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in PROJECT.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        launch = Launch(
            project_dir=root,
            config_dir=None,
            db_path=root / "mao.db",
            simulate=True,
            speed=4,
            sim_faults=(FaultRule(kind="bad_json", workstream="security", times=1),),
        )
        qa = prepare(launch.settings(), "qa", ["src"], root=root)
        req = SessionRequest(
            command="qa",
            playbook="qa",
            task=qa.task,
            spec_text=qa.listing,
            simulated=True,
            project_dir=root,
        )
        session = OpenSession(launch, req)
        app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
        async with app.run_test(size=SIZE) as pilot:
            while not isinstance(app.screen, QaReportScreen):
                await pilot.pause(0.1)
            await pilot.pause(0.5)  # the report's Markdown renders
            app.save_screenshot("qa-report.svg", str(OUT))
            await pilot.press("escape")
            await pilot.press("q")
    sys.stdout.write(f"wrote {OUT / 'qa-report.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
