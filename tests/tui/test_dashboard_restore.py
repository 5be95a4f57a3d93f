"""Restoring a maximized panel (f, Esc): the key's frame holds the layout, not the other
panels' text that arrived while they were hidden."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fixtures.develop_session import replay_runner

from mao_tui.tui import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.widgets.panel import ModelPanel

GUARD_S = 30


async def test_restoring_leaves_the_hidden_panels_text_to_their_flush_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Restoring laid out every panel that got text while hidden in the key's own frame (3-7
    panels while models stream, ~11 ms of the restore); they catch up at their next turns."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(app.session_done.wait(), GUARD_S)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await screen.settle()
        screen.plan_table.focus()
        await pilot.press("f")
        assert screen.maximized is not None
        laid_out: list[ModelPanel] = []
        original = ModelPanel.flush

        def counting(panel: ModelPanel, *args: Any, **kwargs: Any) -> Any:
            laid_out.append(panel)
            return original(panel, *args, **kwargs)

        monkeypatch.setattr(ModelPanel, "flush", counting)
        for key in screen.panels:  # text arrived for every panel while one was maximized
            screen.panel_grid.streamed(key, answer_started=False)
        screen.action_maximize_panel()  # f again: restore
        assert screen.maximized is None
        assert laid_out == []
        screen.flush(every=False)
        screen.flush(every=False)
        assert set(laid_out) == set(screen.panels.values())
        assert screen.focused is screen.plan_table
