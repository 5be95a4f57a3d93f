"""The dashboard paints up to 120 frames a second, other screens at Textual's rate; TEXTUAL_FPS,
when set, is Textual's to apply."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen

from mao_tui.tui.frames import FPS, FastFrames


class Fast(FastFrames, Screen[None]):
    pass


def _interval(screen: Screen[Any]) -> float:
    return screen._update_timer._interval


async def test_a_fast_screen_ticks_at_120_frames_a_second_and_others_at_textuals_60(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    app: App[None] = App()
    async with app.run_test() as pilot:
        assert _interval(app.screen) == pytest.approx(1 / 60)
        fast = Fast()
        await app.push_screen(fast)
        await pilot.pause()
        assert FPS == 120
        assert _interval(fast) == pytest.approx(1 / FPS)
        assert fast._update_timer is fast._update_timer  # one timer, made once


async def test_textual_fps_set_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_FPS", "30")
    monkeypatch.setattr("textual.constants.MAX_FPS", 30)  # as Textual read it at import
    app: App[None] = App()
    async with app.run_test():
        fast = Fast()
        await app.push_screen(fast)
        assert _interval(fast) == pytest.approx(1 / 30)


def test_the_dashboard_is_a_fast_screen() -> None:
    from mao_tui.tui.dashboard import DashboardScreen

    assert issubclass(DashboardScreen, FastFrames)
