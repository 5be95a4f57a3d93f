"""The app pauses the collector from a key until its frame (mao_tui/tui/collector.py), and an
app that exits during the pause leaves the collector on."""

from __future__ import annotations

import gc

import pytest
from fixtures.develop_session import replay_runner

from mao_tui.tui import MaoApp, collector


async def test_a_key_pauses_the_collector_and_the_apps_exit_resumes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collector, "HOLD_S", 3600.0)  # still held when the app exits
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert gc.isenabled()
        await pilot.press("t")
        assert not gc.isenabled()
    assert gc.isenabled()
