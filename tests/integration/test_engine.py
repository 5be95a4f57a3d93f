"""The engine against the simulator through the real SDKs: overlap, fallback, persistence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fixtures.engine import run_engine, settings_for, start_sim

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    Delta,
    FallbackEvent,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SynthesisFinished,
    WorkstreamFinished,
)
from mao_tui.service.launch import simulator_env
from mao_tui.simulator.faults import FaultRule
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = await start_sim()
    yield simulator
    await simulator.stop()


async def test_workstreams_run_in_parallel_and_synthesis_merges_them(sim: Simulator) -> None:
    settings = settings_for(sim)
    rec, finished = await run_engine(settings)

    assert finished.status == "done"
    kinds = [type(e) for e in rec.events]
    assert kinds[0] is SessionStarted and kinds[1] is PlanReady and kinds[-1] is SessionFinished
    starts: dict[str, int] = {}
    for e in rec.of(AttemptStarted):  # a retried workstream counts from its first attempt
        starts.setdefault(e.workstream, rec.events.index(e))
    ends = {e.workstream: rec.events.index(e) for e in rec.of(WorkstreamFinished)}
    assert set(ends) == {"schemas", "storage", "core_logic", "implementation", "tests"}
    # Every workstream started before any finished: their lifetimes all overlap.
    assert max(starts[k] for k in ends) < min(ends.values())
    # Synthesis starts only after every workstream has finished.
    assert starts["synthesis"] > max(ends.values())
    used = {e.workstream: e.model for e in rec.of(WorkstreamFinished)}
    assert used == {
        "schemas": "gemini-4-argon", "storage": "gpt-6.2-sol", "core_logic": "gpt-6.2-astra",
        "implementation": "sonnet-5.5", "tests": "gpt-6.2-sol",
    }  # fmt: skip
    deltas = rec.of(Delta)
    for key in [*used, "synthesis"]:
        assert any(d.workstream == key and d.channel == "thinking" for d in deltas), key
        assert any(d.workstream == key and d.channel == "text" for d in deltas), key
    (synth,) = rec.of(SynthesisFinished)
    assert synth.model == "opus-5.5" and len(synth.text) > 200
    assert finished.totals.output_tokens > 0 and finished.totals.thinking_tokens > 0
    assert finished.totals.cost_complete and finished.totals.cost_usd > 0
    # The synthesis prompt carried every workstream's output, attributed to its model.
    (synth_req,) = [r for r in sim.requests if r.workstream == "synthesis"]
    body = str(synth_req.body)
    titles = ("Schemas (by Gemini 4 Argon)", "Storage (by GPT-6.2 Sol)", "Tests (by GPT-6.2 Sol")
    for title in titles:
        assert title in body


async def test_a_failing_primary_falls_back_and_its_output_is_used() -> None:
    # not_found falls back at once (a 500 would be retried first: see test_fault_matrix.py)
    sim = await start_sim([FaultRule(kind="not_found", model="gemini-4-argon")])
    try:
        settings = settings_for(sim)
        rec, finished = await run_engine(settings)
    finally:
        await sim.stop()
    assert finished.status == "done"
    (fb,) = rec.of(FallbackEvent)
    assert (fb.workstream, fb.from_model, fb.to_model, fb.reason) == (
        "schemas", "gemini-4-argon", "sonnet-5.5", "not_found",
    )  # fmt: skip
    assert fb.line == "Schemas: fallback from gemini-4-argon to sonnet-5.5 (not_found)"
    failed = [e for e in rec.of(AttemptFinished) if e.status == "failed"]
    assert [(e.workstream, e.model, e.error_kind) for e in failed] == [
        ("schemas", "gemini-4-argon", "not_found")
    ]
    (schemas,) = [e for e in rec.of(WorkstreamFinished) if e.workstream == "schemas"]
    assert schemas.model == "sonnet-5.5"
    sonnet_text = "".join(
        d.text for d in rec.of(Delta)
        if d.workstream == "schemas" and d.channel == "text"
    )  # fmt: skip
    (synth_req,) = [r for r in sim.requests if r.workstream == "synthesis"]
    assert "Schemas (by Claude Sonnet 5.5)" in str(synth_req.body)
    assert sonnet_text.strip()[:80] in str(synth_req.body).replace("\\n", "\n")


async def test_a_provider_without_a_key_is_skipped_and_logged(sim: Simulator) -> None:
    settings = settings_for(sim)
    env = simulator_env(settings)
    del env["OPENAI_API_KEY"]
    rec, finished = await run_engine(settings, env)
    assert finished.status == "done"
    skips = [e for e in rec.of(FallbackEvent) if e.reason == "no API key"]
    assert {(e.workstream, e.from_model, e.to_model) for e in skips} == {
        ("storage", "gpt-6.2-sol", "sonnet-5.5"),
        ("core_logic", "gpt-6.2-astra", "opus-5.5"),
        ("tests", "gpt-6.2-sol", "sonnet-5.5"),
    }
    assert all("OPENAI_API_KEY" in e.detail for e in skips)
    assert not any(r.api == "openai_responses" for r in sim.requests)


async def test_when_every_model_fails_the_session_fails() -> None:
    sim = await start_sim([FaultRule(kind="auth", times=None)])
    try:
        settings = settings_for(sim)
        rec, finished = await run_engine(settings)
    finally:
        await sim.stop()
    assert finished.status == "failed"
    assert all(e.status == "failed" for e in rec.of(WorkstreamFinished))
    (synth,) = rec.of(SynthesisFinished)
    assert synth.status == "failed" and synth.model is None
    exhausted = [e for e in rec.of(FallbackEvent) if e.to_model is None]
    assert len(exhausted) == 5  # one per workstream; synthesis never ran without inputs


async def test_a_finished_session_reads_back_from_the_store(sim: Simulator, db_path: Path) -> None:
    settings = settings_for(sim)
    store = await Store.open(db_path)
    sink = store.sink()
    try:
        rec, finished = await run_engine(settings, None, sink)
        await sink.aclose()
        detail = await store.get_session(finished.session_id)
    finally:
        await store.close()
    assert detail is not None
    assert detail.status == "done" and detail.simulated
    assert [w.key for w in detail.workstreams] == [
        "schemas", "storage", "core_logic", "implementation", "tests",
    ]  # fmt: skip
    assert len(detail.attempts) == 6
    for attempt in detail.attempts:
        streamed = "".join(
            d.text for d in rec.of(Delta)
            if d.attempt_id == attempt.id and d.channel == "text"
        )  # fmt: skip
        assert attempt.output_text == streamed and streamed
        assert attempt.thinking_text
    assert detail.synthesis is not None and detail.synthesis.model == "opus-5.5"
    assert detail.output_tokens == finished.totals.output_tokens
