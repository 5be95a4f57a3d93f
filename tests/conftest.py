"""Every test runs offline, with no real keys and no user configuration or data."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

FIXED_TODAY = date(2026, 12, 4)  # the day the model market reference (models-2026-12) was taken

_LEAKY_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "MAO_CONFIG_DIR",
    "MAO_DB",
)


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the whole run: the repository map's parsed files are kept there
    (develop in a git checkout builds a map), never in the user's own cache."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _shared_cache: Path
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # `mao demo` makes its sample repository in a new temporary folder: one per test, not /tmp.
    (home / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(home / "tmp"))
    yield


@pytest.fixture(autouse=True)
def _fixed_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retirement dates are checked against this day, not the wall clock, by the engine and by
    the simulator's market alike: Opus 4.5 retires on 2027-01-22, and no test may change
    meaning on that day."""
    monkeypatch.setattr("mao_tui.engine.policy.today", lambda: FIXED_TODAY)
    monkeypatch.setattr("mao_tui.simulator.market.today", lambda: FIXED_TODAY)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mao.db"
