"""mao paints up to 120 frames a second, unless TEXTUAL_FPS says otherwise."""

from __future__ import annotations

import pytest
from textual import constants, screen

from mao_tui.tui.app import MaoApp
from mao_tui.tui.frames import FPS


@pytest.fixture(autouse=True)
def _restored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Textual's own values, put back after each test
    monkeypatch.setattr(constants, "MAX_FPS", 60)
    monkeypatch.setattr(screen, "UPDATE_PERIOD", 1 / 60)


async def test_a_screen_of_the_app_ticks_at_120_frames_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    app = MaoApp()
    assert constants.MAX_FPS == FPS == 120
    async with app.run_test():
        assert app.screen._update_timer._interval == pytest.approx(1 / FPS)


async def test_textual_fps_set_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_FPS", "30")
    app = MaoApp()
    assert constants.MAX_FPS == 60  # Textual read TEXTUAL_FPS when it was imported
    async with app.run_test():
        assert app.screen._update_timer._interval == pytest.approx(1 / 60)
