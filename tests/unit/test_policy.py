"""The retry policy's decisions, its backoff, the thinking ladder, and cost arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from mao_tui.engine.policy import (
    Action,
    Failure,
    backoff_delay,
    cooldown_seconds,
    decide,
    describe_change,
    lower_thinking,
    starts_cooldown,
    thinking_label,
)
from mao_tui.engine.price_sources import PriceBook, PriceQuote
from mao_tui.engine.pricing import totals_for
from mao_tui.providers.base import ErrorKind, Usage
from mao_tui.providers.errors import error, rejects_thinking
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import ModelConfig, Prices, RetryPolicy
from mao_tui.settings.thinking import ThinkingSettings

POLICY = RetryPolicy(backoff_initial_s=1.0, backoff_multiplier=2.0, backoff_max_s=5.0, jitter=0.5)
MAX = ThinkingSettings(effort="max")


def _decide(failure: Failure, *, retries: int = 0, lowered: bool = False) -> Action:
    return decide(
        failure,
        policy=POLICY,
        retries=retries,
        thinking=MAX,
        lowered=lowered,
        downgrade=None,
        random=lambda: 0.0,
    ).action


@pytest.mark.parametrize("kind", ["rate_limited", "overloaded", "server", "connection", "timeout"])
def test_transient_kinds_before_the_first_token_retry(kind: str) -> None:
    assert _decide(Failure(kind, "x")) is Action.RETRY
    assert _decide(Failure(kind, "x"), retries=2) is Action.FALL_BACK  # max_retries is 2


@pytest.mark.parametrize(
    "kind",
    ["auth", "not_found", "quota", "context_length", "content_policy", "bad_request", "internal"],
)
def test_other_kinds_fall_back_at_once(kind: str) -> None:
    assert _decide(Failure(kind, "x")) is Action.FALL_BACK


@pytest.mark.parametrize("kind", ["rate_limited", "server", "timeout", "connection", "auth"])
def test_any_failure_after_the_first_token_falls_back(kind: str) -> None:
    decision = decide(
        Failure(kind, "boom", retry_after=0.1, streamed=True),
        policy=POLICY,
        retries=0,
        thinking=MAX,
        lowered=False,
        downgrade=None,
        random=lambda: 0.0,
    )
    assert decision.action is Action.FALL_BACK
    assert decision.detail == "after the first token: boom"


def test_truncated_retries_only_when_configured() -> None:
    assert _decide(Failure("truncated", "x")) is Action.FALL_BACK
    policy = RetryPolicy(retry_on=["truncated"])
    decision = decide(
        Failure("truncated", "x"),
        policy=policy,
        retries=0,
        thinking=None,
        lowered=False,
        downgrade=None,
        random=lambda: 0.0,
    )
    assert decision.action is Action.RETRY


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_on_top() -> None:
    assert [backoff_delay(POLICY, n, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    assert backoff_delay(POLICY, 1, lambda: 1.0) == 1.5  # jitter 0.5: up to half again
    assert backoff_delay(POLICY, 4, lambda: 0.5) == 6.25


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    def delay(retry_after: float | None) -> tuple[Action, float, str]:
        d = decide(
            Failure("rate_limited", "429", retry_after=retry_after),
            policy=POLICY.model_copy(update={"retry_after_cap_s": 30.0}),
            retries=1,
            thinking=None,
            lowered=False,
            downgrade=None,
            random=lambda: 0.0,
        )
        return d.action, d.delay_s, d.detail

    assert delay(None) == (Action.RETRY, 2.0, "")  # the second retry's backoff
    assert delay(12.5) == (Action.RETRY, 12.5, "")  # the provider's word, not the backoff
    assert delay(30.0) == (Action.RETRY, 30.0, "")
    action, _, detail = delay(200.0)
    assert action is Action.FALL_BACK
    assert detail == "retry-after 200s is over the 30s cap: 429"


def test_a_429_cools_the_provider_down_for_at_least_the_retry_after() -> None:
    policy = RetryPolicy(cooldown_s=10.0)
    assert starts_cooldown(Failure("rate_limited", "x"))
    assert not starts_cooldown(Failure("quota", "x"))
    assert not starts_cooldown(Failure("overloaded", "x"))
    assert cooldown_seconds(Failure("rate_limited", "x"), policy) == 10.0
    assert cooldown_seconds(Failure("rate_limited", "x", retry_after=42.0), policy) == 42.0


def test_a_rejected_thinking_setting_is_lowered_once_then_falls_back() -> None:
    rejected = Failure("bad_request", "reasoning.effort 'max' unsupported", thinking_rejected=True)
    first = decide(
        rejected,
        policy=POLICY,
        retries=0,
        thinking=MAX,
        lowered=False,
        downgrade=None,
        random=lambda: 0.0,
    )
    assert first.action is Action.LOWER_THINKING and first.thinking == ThinkingSettings(
        effort="xhigh"
    )
    configured = decide(
        rejected,
        policy=POLICY,
        retries=0,
        thinking=MAX,
        lowered=False,
        downgrade=ThinkingSettings(effort="high"),
        random=lambda: 0.0,
    )
    assert configured.thinking == ThinkingSettings(effort="high")  # models.yaml wins
    again = _decide(rejected, lowered=True)
    assert again is Action.FALL_BACK
    lowest = decide(
        rejected,
        policy=POLICY,
        retries=0,
        thinking=ThinkingSettings(effort="minimal"),
        lowered=False,
        downgrade=None,
        random=lambda: 0.0,
    )
    assert lowest.action is Action.FALL_BACK  # never silently without thinking
    assert "no lower level" in lowest.detail


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (ThinkingSettings(effort="max"), ThinkingSettings(effort="xhigh"), ("max", "xhigh")),
        (ThinkingSettings(effort="xhigh"), ThinkingSettings(effort="high"), ("xhigh", "high")),
        (ThinkingSettings(level="HIGH"), ThinkingSettings(level="MEDIUM"), ("HIGH", "MEDIUM")),
        (
            ThinkingSettings(budget_tokens=48000),
            ThinkingSettings(budget_tokens=24000),
            ("budget 48000", "budget 24000"),
        ),
        (
            ThinkingSettings(budget_tokens=48000, effort="high"),
            ThinkingSettings(budget_tokens=24000, effort="medium"),
            ("effort high, budget 48000", "effort medium, budget 24000"),
        ),
        (ThinkingSettings(budget_tokens=1024), None, None),
        (ThinkingSettings(effort="minimal", level="MINIMAL"), None, None),
    ],
)
def test_one_step_down_the_ladder(
    before: ThinkingSettings, after: ThinkingSettings | None, shown: tuple[str, str] | None
) -> None:
    assert lower_thinking(before) == after
    if after is not None:
        assert describe_change(before, after) == shown


def test_thinking_labels() -> None:
    assert thinking_label(None) == "off"
    assert thinking_label(ThinkingSettings(effort="xhigh", summary="detailed")) == "effort xhigh"
    assert thinking_label(ThinkingSettings(budget_tokens=48000, effort="high")) == (
        "effort high, budget 48000"
    )
    assert thinking_label(ThinkingSettings(display="summarized")) == "adaptive"


# --- cost -----------------------------------------------------------------------------------------

PRICES = Prices.model_validate(
    {
        "input": 2.0,
        "cached_input": 0.2,
        "output": 12.0,
        "long_context": {
            "above_input_tokens": 200_000,
            "input": 4.0,
            "cached_input": 0.4,
            "output": 18.0,
        },
    }
)


UNKNOWN = PriceQuote("unknown")


def registry(prices: Prices) -> PriceQuote:
    return PriceQuote("registry", prices=prices)


def test_cost_bills_uncached_input_cached_input_and_output_with_thinking() -> None:
    usage = Usage(input_tokens=100_000, output_tokens=20_000, thinking_tokens=15_000,
                  cached_input_tokens=40_000)  # fmt: skip
    totals = totals_for(usage, registry(PRICES))
    # 60k uncached × $2 + 40k cached × $0.20 + 20k output (thinking included) × $12, per M
    assert totals.cost_usd == pytest.approx(0.12 + 0.008 + 0.24)
    assert totals.cost_complete
    assert (totals.input_tokens, totals.cached_input_tokens, totals.thinking_tokens) == (
        100_000, 40_000, 15_000,
    )  # fmt: skip


def test_a_long_prompt_bills_the_whole_request_at_the_long_context_tier() -> None:
    at_threshold = totals_for(Usage(input_tokens=200_000, output_tokens=1_000), registry(PRICES))
    above = totals_for(Usage(input_tokens=200_001, output_tokens=1_000), registry(PRICES))
    assert at_threshold.cost_usd == pytest.approx(0.4 + 0.012)
    assert above.cost_usd == pytest.approx((200_001 * 4.0 + 1_000 * 18.0) / 1e6)


def test_an_unknown_price_is_unknown_never_zero() -> None:
    unknown = totals_for(Usage(input_tokens=1_000, output_tokens=500), UNKNOWN)
    assert not unknown.cost_complete and unknown.cost_usd == 0
    no_cache_price = Prices(input=1.0, output=2.0)
    partly = totals_for(Usage(input_tokens=1_000, output_tokens=500, cached_input_tokens=400),
                        registry(no_cache_price))  # fmt: skip
    assert not partly.cost_complete  # the cached part has no price ...
    assert partly.cost_usd == pytest.approx((600 * 1.0 + 500 * 2.0) / 1e6)  # ... the rest does
    nothing_cached = totals_for(
        Usage(input_tokens=1_000, output_tokens=500), registry(no_cache_price)
    )
    assert nothing_cached.cost_complete


def test_a_cost_the_provider_reports_is_taken_as_it_is() -> None:
    totals = totals_for(Usage(input_tokens=1_000, output_tokens=500, cost_usd=0.0123), UNKNOWN)
    assert totals.cost_usd == 0.0123 and totals.cost_complete


def test_shipped_prices_cover_cached_input_and_long_context_tiers() -> None:
    # from the registry's overrides, or from genai-prices (which also knows gpt-5.3-codex)
    settings = load_settings([shipped_config_dir()])
    book = PriceBook(settings)
    for model_id in settings.registry.models:
        sheet = book.sheet(model_id)
        assert sheet is not None and sheet.cached_input is not None, model_id
    for model_id, above in (("gemini-3.1-pro", 200_000), ("haiku-5.5", 100_000),
                            ("gpt-6-astra", 272_000), ("gpt-6.2-sol", 272_000)):  # fmt: skip
        tier = book.sheet(model_id).long_context  # type: ignore[union-attr]
        assert tier is not None and tier.above_input_tokens == above


# --- lifecycle ------------------------------------------------------------------------------------


def test_retirement_dates() -> None:
    models = load_settings([shipped_config_dir()]).registry.models
    sonnet, opus = models["sonnet-4.5"], models["opus-4.5"]
    assert sonnet.retires == date(2026, 11, 30) and opus.retires == date(2027, 1, 22)
    assert not sonnet.retired(date(2026, 11, 29)) and sonnet.retired(date(2026, 11, 30))
    assert sonnet.lifecycle(date(2026, 11, 26)) == "retires 2026-11-30 (in 4 days)"
    assert sonnet.lifecycle(date(2026, 11, 29)) == "retires 2026-11-30 (in 1 day)"
    assert sonnet.lifecycle(date(2026, 12, 1)) == "retired 2026-11-30"
    plain = ModelConfig(provider="x", api_model="m", context_window=10, max_output_tokens=5)
    assert plain.lifecycle(date(2026, 11, 26)) == "active"
    assert plain.model_copy(update={"deprecated": True}).lifecycle(date(2026, 1, 1)) == "deprecated"


@pytest.mark.parametrize(
    ("kind", "message", "rejected"),
    [
        ("bad_request", "output_config.effort: Input should be 'low', 'medium' or 'high'", True),
        ("bad_request", "thinking.budget_tokens: must be less than max_tokens", True),
        ("bad_request", "Unsupported value: 'reasoning.effort' does not support 'xhigh'", True),
        (
            "bad_request",
            "Invalid value at 'generation_config.thinking_config.thinking_budget'",
            True,
        ),
        ("bad_request", "max_tokens: 70000 > 64000, the maximum allowed for this model", False),
        ("context_length", "prompt is too long while thinking", False),  # only bad requests
    ],
)
def test_a_bad_request_naming_the_thinking_parameter_is_flagged(
    kind: str, message: str, rejected: bool
) -> None:
    assert rejects_thinking(ErrorKind(kind), message) is rejected
    assert error(ErrorKind(kind), message).thinking_rejected is rejected
