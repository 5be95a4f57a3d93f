"""The fault matrix: every provider kind × every fault, through the real SDKs, the engine's
policy and the store. For each: the error kind, how many attempts the first model got, what the
engine did (retried / fell back / finished), the fallback log line, and the partial output kept.

The chain is the kind's model then a model of another provider (``fixtures.chains``); timeouts
are 0.5 s and backoffs a few milliseconds, so the whole matrix runs in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.chains import (
    API_MODEL,
    FALLBACK,
    IDLE_S,
    KINDS,
    PRIMARY,
    run_chain,
)

from mao_tui.domain import (
    AttemptStatus,
    Delta,
    FallbackEvent,
    ProviderCooldown,
    RetryScheduled,
    WorkstreamStatus,
)
from mao_tui.settings.schema import ProviderKind
from mao_tui.simulator.faults import FaultKind, FaultRule

AFTER_CHARS = 1000  # mid-stream faults stream this much (past the thinking) before failing

# The kind an in-stream error event maps to: each API's own error event (see the simulator).
IN_STREAM_KIND: dict[ProviderKind, str] = {
    "anthropic": "overloaded",  # event: error, overloaded_error, on an HTTP 200
    "openai": "server",  # a yielded `error` event with code server_error
    "openai_chat": "server",  # {"error": {"type": "server_error"}} inside the stream
    "gemini": "overloaded",  # {"error": {"code": 503, "status": "UNAVAILABLE"}}
}


@dataclass(frozen=True)
class Case:
    fault: FaultKind
    kind: str | None  # the error kind of the failed attempts; None when nothing failed
    attempts: int  # on the first model
    outcome: str  # "fell back", "retried", "done"
    partial: bool = False  # the failed attempt had streamed: its text must be kept
    times: int | None = 1
    retry_after: float = 0.05
    status: int | None = None
    after_chars: int = AFTER_CHARS


CASES: dict[str, Case] = {
    "401": Case("auth", "auth", 1, "fell back"),
    "404": Case("not_found", "not_found", 1, "fell back"),
    "429 then success": Case("rate_limit", "rate_limited", 2, "retried"),
    "429 beyond the cap": Case("rate_limit", "rate_limited", 1, "fell back", retry_after=200),
    "500": Case("server_error", "server", 3, "fell back", times=None),
    "503": Case("overloaded", "overloaded", 3, "fell back", times=None, status=503),
    "529": Case("overloaded", "overloaded", 3, "fell back", times=None, status=529),
    "in-stream error event": Case("in_stream_error", "*", 1, "fell back", partial=True),
    "connection drop mid-stream": Case("drop", "connection", 1, "fell back", partial=True),
    "clean early end": Case("truncate", "truncated", 1, "fell back", partial=True),
    "cut off at the output limit": Case("max_tokens", "truncated", 1, "fell back", partial=True),
    "stall before headers": Case("stall_before_headers", "timeout", 2, "retried"),
    "stall mid-stream": Case("stall", "timeout", 1, "fell back", partial=True),
    "slow but alive": Case("slow", None, 1, "done"),
    "malformed chunk": Case("malformed", "server", 1, "fell back", partial=True),
    "unknown event types": Case("unknown_events", None, 1, "done"),
    "usage without optional fields": Case("minimal_usage", None, 1, "done"),
}


def rule_for(case: Case, kind: ProviderKind) -> FaultRule:
    return FaultRule(
        kind=case.fault,
        model=API_MODEL[kind],
        times=case.times,
        retry_after=case.retry_after,
        status=case.status,
        after_chars=case.after_chars,
        gap_s=0.05,
        pieces=30,  # 30 gaps of 0.05 s: three times the idle timeout in all, never one gap
    )


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("kind", KINDS)
async def test_fault_matrix(kind: ProviderKind, name: str, tmp_path: Path) -> None:
    case = CASES[name]
    primary, fallback = PRIMARY[kind], FALLBACK[kind]
    run = await run_chain(tmp_path / "mao.db", [primary, fallback], [rule_for(case, kind)])
    expected_kind = IN_STREAM_KIND[kind] if case.kind == "*" else case.kind

    on_primary = [a for a in run.detail.attempts if a.model == primary]
    assert len(on_primary) == case.attempts, [(a.status, a.error_kind) for a in on_primary]
    assert len([r for r in run.sim.requests if r.model == API_MODEL[kind]]) == case.attempts
    failed = [a for a in on_primary if a.status is AttemptStatus.FAILED]
    assert {a.error_kind for a in failed} == ({expected_kind} if expected_kind else set())

    fallbacks = run.rec.of(FallbackEvent)
    retries = run.rec.of(RetryScheduled)
    if case.outcome == "fell back":
        (fb,) = fallbacks
        assert fb.line == f"Schemas: fallback from {primary} to {fallback} ({expected_kind})"
        assert [f.line for f in run.detail.fallbacks] == [fb.line]
        assert run.outcome.status is WorkstreamStatus.DONE and run.outcome.model == fallback
        assert len(retries) == case.attempts - 1
    else:
        assert fallbacks == [] and run.detail.fallbacks == []
        assert run.outcome.status is WorkstreamStatus.DONE and run.outcome.model == primary
        assert len(retries) == (1 if case.outcome == "retried" else 0)
    for retry in retries:
        assert retry.line.startswith(f"Schemas: retrying {primary} in ")
        assert f"({expected_kind}, retry {retry.retry_no} of 2)" in retry.line
    stored = [e.line for e in run.detail.policy_events if e.type == "retry"]
    assert stored == [r.line for r in retries]

    if case.fault == "rate_limit":  # a 429 pauses the provider for everyone
        (cooldown,) = run.rec.of(ProviderCooldown)
        provider = run.detail.attempts[0].provider
        assert cooldown.provider == provider and cooldown.seconds >= case.retry_after
        assert any(e.type == "cooldown" for e in run.detail.policy_events)

    for attempt in failed:
        streamed = {
            channel: "".join(
                d.text for d in run.rec.of(Delta)
                if d.attempt_id == attempt.id and d.channel == channel
            )
            for channel in ("thinking", "text")
        }  # fmt: skip
        assert attempt.thinking_text == streamed["thinking"]
        assert attempt.output_text == streamed["text"]
        if case.partial:
            assert attempt.thinking_text and attempt.output_text, "the partial output was lost"
            assert len(attempt.thinking_text + attempt.output_text) == AFTER_CHARS
        else:
            assert attempt.thinking_text == attempt.output_text == ""

    if case.fault == "slow":
        (attempt,) = on_primary
        assert attempt.elapsed_s is not None and attempt.elapsed_s > 2 * IDLE_S
