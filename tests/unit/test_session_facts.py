"""Session-wide facts: a 404 rules the model out and a 401/403 rules the provider's key out
for every other workstream and rerun of the session, each skipped at once with the reason;
concurrent first requests wait for the first one's answer instead of repeating it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fixtures.chains import Harness

from mao_tui.domain import AttemptFinished, FallbackEvent, WorkstreamStatus
from mao_tui.engine.session_facts import (
    BAD_KEY_REASON,
    NOT_FOUND_REASON,
    SessionFacts,
)
from mao_tui.simulator.faults import FaultRule

_LIMITS = {"context_window": 1_000_000, "max_output_tokens": 128_000}
EXTRA: dict[str, Any] = {
    "models": {
        "t-sol": {"provider": "openai", "api_model": "gpt-6.2-sol", **_LIMITS},
        "t-sonnet": {"provider": "anthropic", "api_model": "claude-sonnet-5-5", **_LIMITS},
        "t-opus": {"provider": "anthropic", "api_model": "claude-opus-5-5", **_LIMITS},
        "t-carbon": {"provider": "google", "api_model": "gemini-4-carbon", **_LIMITS},
    }
}


def requests_to(h: Harness, api_model: str) -> int:
    return sum(r.model == api_model for r in h.sim.requests)


async def test_two_workstreams_routed_to_a_404_model_make_exactly_one_request(
    tmp_path: Path,
) -> None:
    faults = [FaultRule(kind="not_found", model="gpt-6.2-sol", times=None)]
    async with Harness(tmp_path / "mao.db", faults, extra=EXTRA) as h:
        storage = h.workstream("storage", ["t-sol", "t-sonnet"])
        tests = h.workstream("tests", ["t-sol", "t-carbon"])
        await h.plan(storage, tests)
        outcomes = await asyncio.gather(h.run(storage), h.run(tests))
        assert requests_to(h, "gpt-6.2-sol") == 1
        # a rerun in the same session skips it too, without a request
        again = await h.run(h.workstream("storage", ["t-sol", "t-sonnet"]))
        assert requests_to(h, "gpt-6.2-sol") == 1
    assert [o.status for o in (*outcomes, again)] == [WorkstreamStatus.DONE] * 3
    assert [o.model for o in (*outcomes, again)] == ["t-sonnet", "t-carbon", "t-sonnet"]
    reasons = sorted(e.reason for e in h.rec.of(FallbackEvent) if e.from_model == "t-sol")
    assert reasons == sorted(["not_found", NOT_FOUND_REASON, NOT_FOUND_REASON])
    skipped = [e for e in h.rec.of(FallbackEvent) if e.reason == NOT_FOUND_REASON]
    assert "gpt-6.2-sol answered not found to" in skipped[0].detail
    assert "skipped without a request" in skipped[0].detail
    failed = [e for e in h.rec.of(AttemptFinished) if e.model == "t-sol"]
    assert len(failed) == 1 and failed[0].error_kind == "not_found"


async def test_a_refused_key_rules_out_every_model_of_that_provider(tmp_path: Path) -> None:
    faults = [FaultRule(kind="auth", model="claude-opus-5-5", times=None)]
    async with Harness(tmp_path / "mao.db", faults, extra=EXTRA) as h:
        first = h.workstream("core_logic", ["t-opus", "t-sol"])
        await h.plan(first)
        assert (await h.run(first)).model == "t-sol"
        other = h.workstream("implementation", ["t-sonnet", "t-carbon"])
        assert (await h.run(other)).model == "t-carbon"
    anthropic = [r for r in h.sim.requests if r.api == "anthropic"]
    assert [r.model for r in anthropic] == ["claude-opus-5-5"], "Sonnet was never asked"
    (skip,) = [e for e in h.rec.of(FallbackEvent) if e.from_model == "t-sonnet"]
    assert skip.reason == BAD_KEY_REASON
    assert skip.detail.startswith("anthropic refused its key to Core_Logic earlier")


async def test_others_wait_for_a_first_request_at_most_the_first_contact_wait(
    tmp_path: Path,
) -> None:
    """A first request that never answers does not hold the others longer than the wait."""
    faults = [FaultRule(kind="stall_before_headers", model="gpt-6.2-sol", times=1)]
    options = {"runner_options": {"facts": SessionFacts(wait_s=0.2)}}
    async with Harness(tmp_path / "mao.db", faults, extra=EXTRA, **options) as h:
        one = h.workstream("storage", ["t-sol", "t-sonnet"])
        two = h.workstream("tests", ["t-sol", "t-sonnet"])
        await h.plan(one, two)
        outcomes = await asyncio.gather(h.run(one), h.run(two))
    assert requests_to(h, "gpt-6.2-sol") >= 2, "the second went ahead after the wait"
    assert {o.status for o in outcomes} == {WorkstreamStatus.DONE}


async def test_concurrent_workstreams_on_a_healthy_model_all_run_it(tmp_path: Path) -> None:
    async with Harness(tmp_path / "mao.db", extra=EXTRA) as h:
        chains = [h.workstream(k, ["t-sol"]) for k in ("storage", "tests", "schemas")]
        await h.plan(*chains)
        outcomes = await asyncio.gather(*(h.run(ws) for ws in chains))
    assert [o.model for o in outcomes] == ["t-sol"] * 3
    assert requests_to(h, "gpt-6.2-sol") == 3
    assert not h.rec.of(FallbackEvent)
