"""ProviderPool.warm's model building: the SDKs' deferred pydantic models, built off the loop."""

from __future__ import annotations

import sys
import types

import pytest
from pydantic import BaseModel, ConfigDict

from mao_tui.engine.pool import build_models


def test_build_models_builds_the_deferred_models_and_skips_what_it_cannot_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An SDK builds its stream events' models at the first event, on the event loop (openai's
    Responses events: ~300 ms, while every key waited); warm builds them before, in a thread."""

    class Event(BaseModel):
        model_config = ConfigDict(defer_build=True)
        text: str

    module = types.ModuleType("fake_sdk_types")
    module.Event = Event  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_sdk_types", module)
    assert not Event.__pydantic_complete__
    build_models(["no_such_module_for_mao", "fake_sdk_types"])
    assert Event.__pydantic_complete__
    assert Event(text="x").text == "x"
