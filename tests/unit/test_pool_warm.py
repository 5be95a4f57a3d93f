"""ProviderPool.warm's model building: the SDKs' deferred pydantic models, built off the loop."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import types

import pytest
from pydantic import BaseModel, ConfigDict

from mao_tui.engine.pool import build_models, build_models_then_freeze


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


def test_build_models_builds_only_the_named_model_of_a_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """google.genai.types has ~470 deferred models; a request uses ten: only those are built."""

    class Wanted(BaseModel):
        model_config = ConfigDict(defer_build=True)
        text: str

    class Other(BaseModel):
        model_config = ConfigDict(defer_build=True)
        text: str

    module = types.ModuleType("fake_sdk_many")
    module.Wanted = Wanted  # type: ignore[attr-defined]
    module.Other = Other  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_sdk_many", module)
    build_models(["fake_sdk_many:Wanted", "fake_sdk_many:Missing"])
    assert Wanted.__pydantic_complete__
    assert not Other.__pydantic_complete__


async def test_the_models_built_are_frozen_out_of_collections_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Left in the young generations, the SDKs' objects made the next collection a 140-200 ms
    stall of the loop as the first panels streamed."""
    frozen = asyncio.Event()
    frozen_on: list[str] = []

    def freeze() -> None:
        frozen_on.append(threading.current_thread().name)
        frozen.set()

    class Event(BaseModel):
        model_config = ConfigDict(defer_build=True)
        text: str

    module = types.ModuleType("fake_sdk_frozen")
    module.Event = Event  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_sdk_frozen", module)
    monkeypatch.setattr(gc, "freeze", freeze)
    loop = asyncio.get_running_loop()
    thread = threading.Thread(target=build_models_then_freeze, args=(["fake_sdk_frozen"], loop))
    thread.start()
    await asyncio.wait_for(frozen.wait(), 30)
    thread.join()
    assert frozen_on == [threading.current_thread().name]


def test_nothing_new_to_build_is_not_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every session warms the pool: only the first builds anything. A freeze keeps whatever
    garbage is not collected yet for good (a closed screen's widgets), so the later ones do not
    freeze."""
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    loop = asyncio.new_event_loop()
    try:
        build_models_then_freeze(["no_such_module_for_mao", "json"], loop)
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert frozen == []
