"""The session controller against the simulator through the real SDKs: reruns (same model or
another), cancelling one workstream, synthesizing again, and picking a stored session up again.

Nothing sleeps: tests wait for the events they expect (``Watch.until``), bounded by a guard."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.engine import TASK, Recorder, settings_for, start_sim

from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    Delta,
    EngineEvent,
    SessionFinished,
    SessionReopened,
    SynthesisFinished,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.errors import ControlError
from mao_tui.engine.controller import LiveSessionController
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.resume import resume_from
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest
from mao_tui.service.launch import simulator_env
from mao_tui.settings.schema import Settings
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store

GUARD_S = 30.0


class Watch(Recorder):
    """A recording sink a test can wait on."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    async def __call__(self, event: EngineEvent) -> None:
        await super().__call__(event)
        self._changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), GUARD_S)

    def finished_sessions(self) -> list[SessionFinished]:
        return self.of(SessionFinished)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = await start_sim()
    yield simulator
    await simulator.stop()


def _controller(
    settings: Settings, *sinks: object, env: dict[str, str] | None = None
) -> LiveSessionController:
    pool = ProviderPool(settings, simulator_env(settings) if env is None else env)
    req = SessionRequest(
        command="develop", playbook="develop", task=TASK, simulated=True, use_planner=False
    )
    return LiveSessionController(settings, pool, list(sinks), req)  # type: ignore[arg-type]


async def _first_run(controller: LiveSessionController, settings: Settings) -> SessionFinished:
    return await controller.run_first(rule_based_plan(settings, "develop"))


async def test_a_rerun_is_a_new_attempt_and_the_session_reports_its_end_again(
    sim: Simulator,
) -> None:
    settings = settings_for(sim)
    watch = Watch()
    controller = _controller(settings, watch)
    first = await _first_run(controller, settings)
    assert first.status == "done" and not controller.busy

    controller.rerun("storage")
    assert controller.busy
    await watch.until(lambda: len(watch.finished_sessions()) == 2)

    after_first = watch.events[watch.index(first) + 1 :]
    reopened = [e for e in after_first if isinstance(e, SessionReopened)]
    assert [r.reason for r in reopened] == ["rerun storage on gpt-6.2-sol"]
    (started,) = [e for e in after_first if isinstance(e, AttemptStarted)]
    assert (started.workstream, started.model, started.attempt_no) == (
        "storage", "gpt-6.2-sol", 2,
    )  # fmt: skip
    storage_attempts = [e for e in watch.of(AttemptFinished) if e.workstream == "storage"]
    (finished,) = [e for e in after_first if isinstance(e, WorkstreamFinished)]
    assert finished.status == "done"
    expected = TokenTotals()
    for attempt in storage_attempts:
        expected.add(attempt.usage)
    assert finished.usage == expected  # a workstream's usage counts every attempt
    end = watch.finished_sessions()[-1]
    assert end.status == "done"
    everything = TokenTotals()
    for attempt in watch.of(AttemptFinished):
        everything.add(attempt.usage)
    assert end.totals.output_tokens == everything.output_tokens > first.totals.output_tokens
    assert end.elapsed_s >= first.elapsed_s
    await controller.aclose()


async def test_a_rerun_on_another_model_and_a_model_without_a_key(sim: Simulator) -> None:
    settings = settings_for(sim)
    env = simulator_env(settings)
    del env["GEMINI_API_KEY"]
    watch = Watch()
    controller = _controller(settings, watch, env=env)
    await _first_run(controller, settings)

    no_key = r"gemini-4-argon cannot run: no key: set GEMINI_API_KEY"
    with pytest.raises(ControlError, match=no_key):
        controller.rerun("storage", "gemini-4-argon")
    with pytest.raises(ControlError, match="unknown model"):
        controller.rerun("storage", "gpt-9")
    controller.rerun("storage", "sonnet-5.5")
    await watch.until(lambda: len(watch.finished_sessions()) == 2)
    last = [e for e in watch.of(AttemptStarted) if e.workstream == "storage"][-1]
    assert last.model == "sonnet-5.5"
    assert controller.last_model("storage") == "sonnet-5.5"
    ws_end = [e for e in watch.of(WorkstreamFinished) if e.workstream == "storage"][-1]
    assert (ws_end.model, ws_end.status) == ("sonnet-5.5", "done")
    await controller.aclose()


CoreLogicStreaming = tuple[LiveSessionController, Watch, "asyncio.Task[SessionFinished]"]


@pytest.fixture
async def core_logic_streaming() -> AsyncIterator[CoreLogicStreaming]:
    """A first run under way, core_logic streaming: every model is fast but gpt-6.2-astra (core
    logic's), slow enough to be caught mid-stream."""
    sim = Simulator(speed=40.0, tokens_per_s={"gpt-6.2-astra": 0.5})
    await sim.start()
    try:
        settings = settings_for(sim)
        watch = Watch()
        controller = _controller(settings, watch)
        first = asyncio.create_task(_first_run(controller, settings))
        await watch.until(
            lambda: any(isinstance(e, Delta) and e.workstream == "core_logic" for e in watch.events)
        )
        yield controller, watch, first
    finally:
        await sim.stop()


async def test_cancelling_one_workstream_leaves_the_others_running(
    core_logic_streaming: CoreLogicStreaming,
) -> None:
    controller, watch, first = core_logic_streaming
    assert controller.running("core_logic")
    assert controller.cancel("core_logic")
    finished = await asyncio.wait_for(first, GUARD_S)
    (cancelled,) = [e for e in watch.of(AttemptFinished) if e.workstream == "core_logic"]
    assert (cancelled.status, cancelled.error_kind) == ("failed", "cancelled")
    core = [e for e in watch.of(WorkstreamFinished) if e.workstream == "core_logic"]
    assert [(e.status, e.detail) for e in core] == [(WorkstreamStatus.CANCELLED, "cancelled")]
    others = [e for e in watch.of(WorkstreamFinished) if e.workstream != "core_logic"]
    assert {e.status for e in others} == {WorkstreamStatus.DONE}
    (synthesis,) = watch.of(SynthesisFinished)
    assert synthesis.status == "done"  # over the other four
    assert finished.status == "failed" and "core_logic" in (finished.error or "")
    assert not controller.cancel("core_logic")  # nothing running any more


async def test_synthesizing_again_uses_the_latest_outputs_and_keeps_the_old_synthesis(
    sim: Simulator, db_path: Path
) -> None:
    settings = settings_for(sim)
    store = await Store.open(db_path)
    sink = store.sink()
    watch = Watch()
    try:
        controller = _controller(settings, sink, watch)
        with pytest.raises(ControlError, match="plan is not ready"):
            controller.resynthesize()
        first = await _first_run(controller, settings)
        controller.rerun("tests", "sonnet-5.5")
        await watch.until(lambda: len(watch.finished_sessions()) == 2)
        controller.resynthesize()
        await watch.until(lambda: len(watch.finished_sessions()) == 3)
        await sink.flush()
        detail = await store.get_session(first.session_id)
    finally:
        await sink.aclose()
        await store.close()
    syntheses = watch.of(SynthesisFinished)
    assert [s.status for s in syntheses] == ["done", "done"]
    (second_request,) = [r for r in sim.requests if r.workstream == SYNTHESIS_KEY][1:]
    assert "Tests (by Claude Sonnet 5.5)" in str(second_request.body)  # the rerun's output
    assert detail is not None
    assert [s.text for s in detail.syntheses] == [s.text for s in syntheses]
    assert detail.synthesis == detail.syntheses[-1]
    assert detail.status == "done"
    assert detail.output_tokens == watch.finished_sessions()[-1].totals.output_tokens
    numbers = [
        (a.workstream, a.attempt_no)
        for a in detail.attempts
        if a.workstream in ("tests", SYNTHESIS_KEY)
    ]
    assert numbers == [("tests", 1), (SYNTHESIS_KEY, 1), ("tests", 2), (SYNTHESIS_KEY, 2)]


async def test_a_stored_session_is_picked_up_again_for_review(
    sim: Simulator, db_path: Path
) -> None:
    settings = settings_for(sim)
    store = await Store.open(db_path)
    try:
        sink = store.sink()
        first = await _first_run(_controller(settings, sink), settings)
        await sink.aclose()
        detail = await store.get_session(first.session_id)
        assert detail is not None
        resume = resume_from(detail)
        assert set(resume.latest) == {
            "schemas", "storage", "core_logic", "implementation", "tests", SYNTHESIS_KEY,
        }  # fmt: skip
        assert resume.attempts["schemas"] == 1

        watch = Watch()
        sink = store.sink()
        pool = ProviderPool(settings, simulator_env(settings))
        req = SessionRequest(
            command="develop", playbook="develop", task=TASK, simulated=True,
            session_id=detail.id, spec_text=detail.spec_text,
        )  # fmt: skip
        controller = LiveSessionController(settings, pool, [sink, watch], req, resume=resume)
        assert not controller.busy
        controller.rerun("implementation")
        await watch.until(lambda: bool(watch.finished_sessions()))
        await sink.aclose()
        again = await store.get_session(first.session_id)
    finally:
        await store.close()
    assert isinstance(watch.events[0], SessionReopened)
    (started,) = watch.of(AttemptStarted)
    assert started.attempt_no == 2  # numbering goes on from the stored attempts
    assert again is not None and again.status == "done"
    assert len(again.attempts) == len(detail.attempts) + 1
    assert again.output_tokens > detail.output_tokens
    (end,) = watch.finished_sessions()
    assert end.elapsed_s >= (detail.elapsed_s or 0)


async def test_a_rerun_while_running_replaces_the_running_chain(
    core_logic_streaming: CoreLogicStreaming,
) -> None:
    controller, watch, first = core_logic_streaming
    controller.rerun("core_logic", "sonnet-5.5")
    finished = await asyncio.wait_for(first, GUARD_S)
    core = [e for e in watch.of(AttemptStarted) if e.workstream == "core_logic"]
    assert [(e.model, e.attempt_no) for e in core] == [("gpt-6.2-astra", 1), ("sonnet-5.5", 2)]
    replaced = next(e for e in watch.of(AttemptFinished) if e.workstream == "core_logic")
    assert (replaced.model, replaced.error_kind) == ("gpt-6.2-astra", "cancelled")
    ends = [e for e in watch.of(WorkstreamFinished) if e.workstream == "core_logic"]
    assert [(e.status, e.model) for e in ends] == [(WorkstreamStatus.DONE, "sonnet-5.5")]
    assert finished.status == "done"


async def test_prebuild_builds_keyed_sdk_clients_off_the_loop_and_get_reuses_them(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mao_tui.providers import factory

    settings = settings_for(sim)
    env = simulator_env(settings)
    del env["GEMINI_API_KEY"]
    pool = ProviderPool(settings, env)
    built: list[tuple[str, int]] = []
    real = factory.build_provider

    def spy(cfg: Any, key: str, **kwargs: Any) -> Any:
        built.append((cfg.kind, threading.get_ident()))
        return real(cfg, key, **kwargs)

    monkeypatch.setattr(factory, "build_provider", spy)
    await pool.prebuild(frozenset({"anthropic", "openai", "gemini"}))
    assert sorted(kind for kind, _ in built) == ["anthropic", "openai"]  # gemini has no key
    assert all(thread != threading.get_ident() for _, thread in built)
    client, _ = pool.get("anthropic")
    assert pool.get("anthropic")[0] is client
    assert len(built) == 2  # get() reused the prebuilt clients
    await pool.aclose()
