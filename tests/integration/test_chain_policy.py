"""The engine's policy end to end, against the simulator through the real SDKs: thinking
downgrades, retired models, provider cooldowns shared across workstreams, the concurrency limit,
the three stream timeouts, and usage with cached tokens."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures.chains import API_MODEL, FALLBACK, KINDS, PRIMARY, Harness, run_chain

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    CooldownWait,
    FallbackEvent,
    ProviderCooldown,
    RetryScheduled,
    ThinkingDowngraded,
    WorkstreamStatus,
)
from mao_tui.engine.price_sources import PriceBook
from mao_tui.render.headless import ProgressSink
from mao_tui.render.session_markdown import session_markdown
from mao_tui.settings.schema import ProviderKind
from mao_tui.simulator.faults import FaultRule

SONNET = API_MODEL["anthropic"]
# Each primary's thinking value as sent, and one step lower (models.yaml, and the ladder).
THINKING_SENT: dict[ProviderKind, tuple[str, str, str]] = {
    # kind: (wire parameter, value sent first, value sent after the downgrade)
    "anthropic": ("output_config.effort", "max", "xhigh"),  # Claude 5.x: adaptive + effort
    "openai": ("reasoning.effort", "xhigh", "high"),
    "openai_chat": ("reasoning_effort", "high", "medium"),
    "gemini": ("generation_config.thinking_config.thinking_level", "HIGH", "MEDIUM"),
}
DOWNGRADE_LINE: dict[ProviderKind, str] = {
    "anthropic": "Schemas: sonnet-5.5 thinking downgraded: max → xhigh",
    "openai": "Schemas: gpt-5.2 thinking downgraded: xhigh → high",
    "openai_chat": "Schemas: qwen3-local thinking downgraded: high → medium",
    "gemini": "Schemas: gemini-4-argon thinking downgraded: HIGH → MEDIUM",
}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_rejected_thinking_level_is_retried_one_level_lower(
    kind: ProviderKind, tmp_path: Path
) -> None:
    param, first, lower = THINKING_SENT[kind]
    rule = FaultRule(kind="thinking_rejected", when_thinking=first, times=None)
    run = await run_chain(tmp_path / "mao.db", [PRIMARY[kind], FALLBACK[kind]], [rule])

    sent = [r.body for r in run.sim.requests]
    assert len(sent) == 2 and [r.fault for r in run.sim.requests] == ["thinking_rejected", None]
    values = [r.thinking_values for r in _calls(run.sim.requests)]
    assert values[0][param] == first and values[1][param] == lower
    (event,) = run.rec.of(ThinkingDowngraded)
    assert event.line == DOWNGRADE_LINE[kind]
    assert [e.line for e in run.detail.policy_events] == [event.line]
    assert run.outcome.status is WorkstreamStatus.DONE and run.outcome.model == PRIMARY[kind]
    first_attempt, second = run.detail.attempts
    assert first_attempt.error_kind == "bad_request" and second.status is AttemptStatus.OK
    assert run.rec.of(FallbackEvent) == []


def _calls(requests: list[Any]) -> list[Any]:
    """The simulator's parsed view of each recorded request (thinking values included)."""
    from mao_tui.simulator.routes import parse_call, route

    out = []
    for r in requests:
        found = route("POST", r.path)
        assert found is not None
        out.append(parse_call(found, r.body))
    return out


async def test_the_configured_downgrade_is_used_max_to_high(tmp_path: Path) -> None:
    extra = {
        "models": {
            "gpt-5.2": {"thinking": {"effort": "max"}, "thinking_downgrade": {"effort": "high"}}
        }
    }
    rule = FaultRule(kind="thinking_rejected", when_thinking="max", times=None)
    run = await run_chain(tmp_path / "mao.db", ["gpt-5.2", "sonnet-5.5"], [rule], extra=extra)
    (event,) = run.rec.of(ThinkingDowngraded)
    assert event.line == "Schemas: gpt-5.2 thinking downgraded: max → high"
    assert [c.thinking_values["reasoning.effort"] for c in _calls(run.sim.requests)] == [
        "max",
        "high",
    ]
    assert run.outcome.model == "gpt-5.2"


async def test_rejected_again_after_lowering_falls_back_never_without_thinking(
    tmp_path: Path,
) -> None:
    rule = FaultRule(kind="thinking_rejected", model="gpt-5.2", times=None)  # any thinking value
    run = await run_chain(tmp_path / "mao.db", ["gpt-5.2", "sonnet-5.5"], [rule])
    to_gpt = [c for c in _calls(run.sim.requests) if c.model == "gpt-5.2"]
    assert [c.thinking_values["reasoning.effort"] for c in to_gpt] == ["xhigh", "high"]
    assert all(c.thinking for c in _calls(run.sim.requests))  # every request asked to think
    (fb,) = run.rec.of(FallbackEvent)
    assert fb.line == "Schemas: fallback from gpt-5.2 to sonnet-5.5 (bad_request)"
    assert fb.detail.startswith("thinking setting rejected again after lowering it")
    assert run.outcome.model == "sonnet-5.5"


async def test_a_retired_model_runs_as_its_successor_before_any_request(tmp_path: Path) -> None:
    # A chain from an older plan still naming Sonnet 4.5, run on the day it retired
    options = {"runner_options": {"today": lambda: date(2026, 11, 30)}}
    run = await run_chain(tmp_path / "mao.db", ["sonnet-4.5", "gpt-5.2"], **options)
    (fb,) = run.rec.of(FallbackEvent)
    assert fb.line == "Schemas: fallback from sonnet-4.5 to sonnet-5.5 (successor)"
    assert fb.detail == (
        "claude-sonnet-4-5 retired on 2026-11-30; its successor sonnet-5.5 runs in its place"
    )
    assert [r.model for r in run.sim.requests] == ["claude-sonnet-5-5"]  # none to the old id
    assert run.outcome.model == "sonnet-5.5"


async def test_a_retired_model_without_successor_is_skipped_with_reason_retired(
    tmp_path: Path,
) -> None:
    options = {"runner_options": {"today": lambda: date(2026, 11, 30)}}
    extra = {"models": {"sonnet-5.5": {"retires": "2026-11-30"}}}
    run = await run_chain(tmp_path / "mao.db", ["sonnet-5.5", "gpt-5.2"], extra=extra, **options)
    (fb,) = run.rec.of(FallbackEvent)
    assert fb.line == "Schemas: fallback from sonnet-5.5 to gpt-5.2 (retired)"
    assert fb.detail == "claude-sonnet-5-5 retired on 2026-11-30; no successor"
    assert [r.model for r in run.sim.requests] == ["gpt-5.2"]  # no request to a retired model
    assert run.outcome.model == "gpt-5.2"


class Clock:
    """A monotonic clock that moves only when the engine sleeps: cooldowns stay exact."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def _cooldown_harness(tmp_path: Path, clock: Clock, faults: list[FaultRule], cap: float) -> Harness:
    return Harness(
        tmp_path / "mao.db",
        faults,
        extra={"global": {"retry": {"cooldown_s": 3.0, "retry_after_cap_s": cap}}},
        runner_options={"sleep": clock.sleep},
        pool_options={"monotonic": clock},
    )


async def test_a_429_cools_the_provider_down_for_its_other_workstreams(tmp_path: Path) -> None:
    clock = Clock()
    rule = FaultRule(kind="rate_limit", model="gpt-5.2", times=1, retry_after=0.5)
    async with _cooldown_harness(tmp_path, clock, [rule], cap=10.0) as h:
        first = h.workstream("schemas", ["gpt-5.2", "sonnet-5.5"])
        second = h.workstream("storage", ["gpt-6.2-sol", "sonnet-5.5"])
        await h.plan(first, second)
        assert (await h.run(first)).model == "gpt-5.2"
        clock.now -= 1.0  # the second workstream asks one second before the cooldown ends
        assert (await h.run(second)).model == "gpt-6.2-sol"
        detail = await h.detail()

    (cooldown,) = h.rec.of(ProviderCooldown)
    assert cooldown.line == "openai: cooldown 3.0s after a 429 on gpt-5.2 (Schemas)"
    (retry,) = h.rec.of(RetryScheduled)
    # the retry waits for the cooldown (3 s), not just the retry-after (0.5 s)
    assert retry.line == "Schemas: retrying gpt-5.2 in 3.0s (rate_limited, retry 1 of 2)"
    (wait,) = h.rec.of(CooldownWait)
    assert wait.line == "Storage: waiting 1.0s for openai's cooldown before gpt-6.2-sol"
    assert clock.sleeps == [3.0, 1.0]
    assert [e.type for e in detail.policy_events] == ["cooldown", "retry", "cooldown_wait"]
    assert h.rec.of(FallbackEvent) == []
    report = session_markdown(detail, "summary")  # mao sessions show
    assert "## Retries, cooldowns and thinking downgrades" in report
    for line in (cooldown.line, retry.line, wait.line):
        assert f"- {line}\n" in report


async def test_a_cooldown_over_the_cap_sends_other_workstreams_on_at_once(tmp_path: Path) -> None:
    clock = Clock()
    rule = FaultRule(kind="rate_limit", model="gpt-5.2", times=1, retry_after=120)
    async with _cooldown_harness(tmp_path, clock, [rule], cap=10.0) as h:
        first = h.workstream("schemas", ["gpt-5.2", "sonnet-5.5"])
        second = h.workstream("storage", ["gpt-6.2-sol", "sonnet-5.5"])
        await h.plan(first, second)
        assert (await h.run(first)).model == "sonnet-5.5"
        assert (await h.run(second)).model == "sonnet-5.5"

    lines = [e.line for e in h.rec.of(FallbackEvent)]
    assert lines == [
        "Schemas: fallback from gpt-5.2 to sonnet-5.5 (rate_limited)",
        "Storage: fallback from gpt-6.2-sol to sonnet-5.5 (cooldown)",
    ]
    assert clock.sleeps == []
    assert not any(r.model == "gpt-6.2-sol" for r in h.sim.requests)


async def test_requests_beyond_max_concurrency_queue(tmp_path: Path) -> None:
    extra = {"providers": {"openai": {"max_concurrency": 1}}}
    async with Harness(tmp_path / "mao.db", extra=extra) as h:
        keys = ("schemas", "storage", "tests")
        streams = [h.workstream(key, ["gpt-5.2", "sonnet-5.5"]) for key in keys]
        await h.plan(*streams)
        outcomes = await asyncio.gather(*(h.run(ws) for ws in streams))
    assert all(o.model == "gpt-5.2" for o in outcomes)
    order = [
        (type(e).__name__, e.workstream)
        for e in h.rec.events
        if isinstance(e, AttemptStarted | AttemptFinished)
    ]
    # one request at a time: each attempt starts only after the one before it finished
    assert [name for name, _ in order] == ["AttemptStarted", "AttemptFinished"] * 3


@pytest.mark.parametrize(
    ("fault", "timeouts", "message"),
    [
        (
            FaultRule(kind="stall_before_headers", model=SONNET, times=None),
            {},
            "no stream event within 0.5s of the request (first event)",
        ),
        (FaultRule(kind="stall", model=SONNET), {}, "no stream event for 0.5s (idle)"),
        (
            FaultRule(kind="slow", model=SONNET, pieces=30, gap_s=0.05),
            {"total_s": 0.5},
            "the call ran past its 0.5s total timeout",
        ),
    ],
    ids=["first event", "idle", "total"],
)
async def test_each_timeout_names_itself(
    fault: FaultRule, timeouts: dict[str, float], message: str, tmp_path: Path
) -> None:
    extra = {
        "providers": {"anthropic": {"timeouts": timeouts}},
        "global": {"retry": {"max_retries": 0}},
    }
    run = await run_chain(tmp_path / "mao.db", ["sonnet-5.5", "gpt-5.2"], [fault], extra=extra)
    failed = run.detail.attempts[0]
    assert (failed.error_kind, failed.error_message) == ("timeout", message)
    assert run.outcome.model == "gpt-5.2"


async def test_a_model_can_override_its_provider_timeouts(tmp_path: Path) -> None:
    extra = {"models": {"sonnet-5.5": {"timeouts": {"idle_s": 0.2}}}}
    run = await run_chain(
        tmp_path / "mao.db", ["sonnet-5.5", "gpt-5.2"], [FaultRule(kind="stall")], extra=extra
    )
    assert run.detail.attempts[0].error_message == "no stream event for 0.2s (idle)"


@pytest.mark.parametrize("kind", KINDS)
async def test_usage_reports_cached_input_tokens(kind: ProviderKind, tmp_path: Path) -> None:
    local_prices = {"input": 1.0, "cached_input": 0.1, "output": 2.0}
    extra = {"models": {"qwen3-local": {"prices": local_prices}}}
    async with Harness(tmp_path / "mao.db", extra=extra, cached_tokens=10) as h:
        ws = h.workstream("schemas", [PRIMARY[kind]])
        await h.plan(ws)
        outcome = await h.run(ws)
        detail = await h.detail()
    (finished,) = h.rec.of(AttemptFinished)
    usage = finished.usage
    assert usage.cached_input_tokens == 10 and usage.input_tokens > 10
    prices = PriceBook(h.settings).sheet(PRIMARY[kind])  # the override, or genai-prices'
    assert prices is not None and prices.cached_input is not None
    expected = (
        (usage.input_tokens - 10) * prices.input
        + 10 * prices.cached_input
        + usage.output_tokens * prices.output
    ) / 1e6
    assert usage.cost_usd == pytest.approx(expected) and usage.cost_complete
    assert outcome.usage.cached_input_tokens == 10
    (attempt,) = detail.attempts
    assert attempt.cached_input_tokens == 10 and attempt.cost_usd == pytest.approx(expected)
    assert API_MODEL[kind] in {r.model for r in h.sim.requests}


async def test_gemini_is_told_the_whole_calls_deadline_not_the_idle_gap(tmp_path: Path) -> None:
    # The SDK sends its one timeout as X-Server-Timeout; the idle gap (0.5 s) would cut streams.
    run = await run_chain(tmp_path / "mao.db", ["gemini-4-argon"])
    assert run.outcome.model == "gemini-4-argon"
    assert run.sim.requests[0].headers["x-server-timeout"] == "30"  # total_s in fast_settings


async def test_headless_progress_prints_retries_and_downgrades(tmp_path: Path) -> None:
    faults = [
        FaultRule(kind="rate_limit", model="gpt-5.2", times=1, retry_after=0.2),
        FaultRule(kind="thinking_rejected", when_thinking="xhigh", times=None),
    ]
    extra = {"global": {"retry": {"cooldown_s": 0.2}}}
    run = await run_chain(tmp_path / "mao.db", ["gpt-5.2", "sonnet-5.5"], faults, extra=extra)
    err = io.StringIO()
    sink = ProgressSink(err)
    for event in run.rec.events:
        await sink(event)
    lines = err.getvalue().splitlines()
    assert "↻ openai: cooldown 0.2s after a 429 on gpt-5.2 (Schemas)" in lines
    assert "↻ Schemas: retrying gpt-5.2 in 0.2s (rate_limited, retry 1 of 2)" in lines
    assert "↻ Schemas: gpt-5.2 thinking downgraded: xhigh → high" in lines
    assert run.outcome.model == "gpt-5.2"
