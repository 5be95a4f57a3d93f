"""What the dashboard imports off the event loop, before it needs it (mao_tui/tui/warm.py)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from pathlib import Path

import pytest
from fixtures.develop_session import replay_runner

from mao_tui.tui import MaoApp
from mao_tui.tui import dashboard as dashboard_module
from mao_tui.tui.warm import import_later

GUARD_S = 30


async def test_the_plan_summary_and_the_help_are_imported_later_once_at_the_first_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plan's summary (plan_review: the dialogs, Markdown) was imported on the loop when the
    plan arrived: a ~60 ms stall as the panels began to stream and keys were pressed; the help,
    at the first ?."""
    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(dashboard_module, "import_later", lambda *names: asked.append(names))
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(app.session_done.wait(), GUARD_S)
        await pilot.pause()
    assert asked == [("mao_tui.tui.plan_review", "mao_tui.tui.help")]


async def test_import_later_imports_in_a_thread_then_freezes_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mao_warm_probe.py").write_text(
        "import threading\nTHREAD = threading.current_thread().name\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mao_warm_probe", raising=False)
    frozen = asyncio.Event()
    frozen_on: list[str] = []

    def freeze() -> None:
        frozen_on.append(threading.current_thread().name)
        frozen.set()

    monkeypatch.setattr(gc, "freeze", freeze)
    import_later("mao_warm_probe")
    await asyncio.wait_for(frozen.wait(), GUARD_S)
    assert sys.modules["mao_warm_probe"].THREAD == "mao-tui-imports"
    assert frozen_on == [threading.current_thread().name]  # the loop's thread


async def test_import_later_of_modules_already_imported_starts_no_thread_and_freezes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dashboard per session asks again: a freeze then would keep the garbage not collected
    yet (a closed screen's widgets) for good."""
    started: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: started.append("freeze"))
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name))
    import_later("json", "mao_tui.tui.warm")
    assert started == []
