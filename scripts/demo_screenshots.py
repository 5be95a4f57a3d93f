"""Save SVG screenshots of the real `mao demo` (simulator, SDKs, engine, store, dashboard).

    python scripts/demo_screenshots.py   # screenshots/demo-live.svg and demo-finished.svg

The live shot is taken once the scripted Gemini stall on Schemas has fallen back and the next
model that can run has streamed a little of its answer, while the other workstreams are still
writing. Every screenshot at once: ``python scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from mao_tui.domain import Delta, EngineEvent, EventSink, FallbackEvent, SessionFinished
from mao_tui.engine.session import SessionRequest
from mao_tui.samples.sample_repo import SAMPLE_TASK, write_sample_repo
from mao_tui.service.launch import Launch, run_session
from mao_tui.tui import MaoApp

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (200, 60)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "sample"  # what `mao demo` runs on: a fresh sample repository
        write_sample_repo(repo)
        launch = Launch(
            project_dir=repo,
            config_dir=None,
            db_path=Path(tmp) / "mao.db",
            simulate=True,
            speed=1.5,
            workspace=repo,
        )
        req = SessionRequest(
            command="demo",
            playbook="develop",
            task=SAMPLE_TASK,
            simulated=True,
            project_dir=repo,
            repository=repo,
        )
        live = asyncio.Event()
        fell_back = False
        after = 0

        def watch(event: EngineEvent) -> None:
            nonlocal fell_back, after
            if isinstance(event, FallbackEvent) and event.workstream == "schemas":
                fell_back = True  # other workstreams may fall back too (a retired model)
            elif fell_back and isinstance(event, Delta) and event.workstream == "schemas":
                after += 1
                if after >= 12:
                    live.set()

        async def runner(sink: EventSink) -> SessionFinished:
            async def tee(event: EngineEvent) -> None:
                watch(event)
                await sink(event)

            return await run_session(launch, req, [tee])

        app = MaoApp(runner, simulated=True)
        async with app.run_test(size=SIZE) as pilot:
            await live.wait()
            await pilot.pause(0.3)  # let the 10 Hz flush paint what has arrived
            app.save_screenshot("demo-live.svg", str(OUT))
            await app.session_done.wait()
            await pilot.pause()
            app.save_screenshot("demo-finished.svg", str(OUT))
            await pilot.press("q")
    sys.stdout.write(f"wrote {OUT / 'demo-live.svg'} and {OUT / 'demo-finished.svg'}\n")


if __name__ == "__main__":
    asyncio.run(main())
