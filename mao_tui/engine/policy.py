"""The engine's retry policy: after each failed attempt, retry, lower the thinking, or fall back.

Decisions depend on the failure's kind, whether any token had streamed, and the provider's
:class:`~mao_tui.settings.schema.RetryPolicy` (``global.retry`` in models.yaml, overridable per
provider); the policy's data lives with the rest of the registry's schema, in settings.

- After the first token, any failure falls back: the partial output stays in the attempt.
- A bad request naming the thinking parameter retries once, one level lower (never without
  thinking: when there is no lower level, the chain moves on).
- A kind in ``retry_on`` retries the same model with exponential backoff and jitter, or after
  the provider's retry-after when it gave one; a retry-after over the cap, or retries used up,
  falls back.
- Everything else (auth, not_found, quota, context_length, content_policy, bad_request, a
  truncated stream unless configured, an unexpected error) falls back at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mao_tui.providers.base import ErrorKind
from mao_tui.settings.schema import RetryPolicy
from mao_tui.settings.thinking import ThinkingSettings

EFFORT_LADDER = ("max", "xhigh", "high", "medium", "low", "minimal")
LEVEL_LADDER = ("XHIGH", "HIGH", "MEDIUM", "LOW", "MINIMAL")
MIN_BUDGET_TOKENS = 1024  # Anthropic's minimum; Gemini 2.5 accepts less


def today() -> date:
    """The day retirement dates are checked against (tests pin it)."""
    return date.today()


class Action(StrEnum):
    RETRY = "retry"
    LOWER_THINKING = "lower_thinking"
    FALL_BACK = "fall_back"


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the policy sees it."""

    kind: str  # an ErrorKind value, or "internal" for an unexpected exception
    message: str
    retry_after: float | None = None
    thinking_rejected: bool = False
    streamed: bool = False  # some thinking or text had arrived before the failure


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: float = 0.0  # RETRY: wait this long first
    thinking: ThinkingSettings | None = None  # LOWER_THINKING: the setting to use
    detail: str = ""  # FALL_BACK: why, for the fallback log


def backoff_delay(policy: RetryPolicy, retry_no: int, random: Callable[[], float]) -> float:
    """Seconds before retry ``retry_no`` (1-based): exponential, capped, plus jitter."""
    base = policy.backoff_initial_s * policy.backoff_multiplier ** max(retry_no - 1, 0)
    base = min(base, policy.backoff_max_s)
    return base * (1 + policy.jitter * random())


def decide(
    failure: Failure,
    *,
    policy: RetryPolicy,
    retries: int,
    thinking: ThinkingSettings | None,
    lowered: bool,
    downgrade: ThinkingSettings | None,
    random: Callable[[], float],
) -> Decision:
    """What to do after ``failure``. ``retries`` were already spent on this model; ``lowered``
    says the thinking was already lowered once; ``downgrade`` is the model's configured lower
    setting, if any (else one step down the ladder)."""
    if failure.streamed:
        return Decision(Action.FALL_BACK, detail=f"after the first token: {failure.message}")
    if failure.thinking_rejected and thinking is not None:
        lower = None if lowered else (downgrade or lower_thinking(thinking))
        if lower is not None:
            return Decision(Action.LOWER_THINKING, thinking=lower)
        why = "again after lowering it" if lowered else "and there is no lower level"
        return Decision(
            Action.FALL_BACK, detail=f"thinking setting rejected {why}: {failure.message}"
        )
    if failure.kind not in policy.retry_on:
        return Decision(Action.FALL_BACK, detail=failure.message)
    if retries >= policy.max_retries:
        tries = f"{retries} retr{'y' if retries == 1 else 'ies'}"
        return Decision(Action.FALL_BACK, detail=f"still failing after {tries}: {failure.message}")
    wait = failure.retry_after
    if wait is not None and wait > policy.retry_after_cap_s:
        return Decision(
            Action.FALL_BACK,
            detail=f"retry-after {wait:g}s is over the {policy.retry_after_cap_s:g}s cap: "
            + failure.message,
        )
    delay = wait if wait is not None else backoff_delay(policy, retries + 1, random)
    return Decision(Action.RETRY, delay_s=delay)


def starts_cooldown(failure: Failure) -> bool:
    """A 429 that retrying can help pauses the whole provider (quota errors do not)."""
    return failure.kind == ErrorKind.RATE_LIMITED.value


def cooldown_seconds(failure: Failure, policy: RetryPolicy) -> float:
    return max(policy.cooldown_s, failure.retry_after or 0.0)


# --- thinking levels -----------------------------------------------------------------------------


def _one_lower(ladder: tuple[str, ...], value: str) -> str | None:
    try:
        index = ladder.index(value)
    except ValueError:
        return None
    return ladder[index + 1] if index + 1 < len(ladder) else None


def lower_thinking(thinking: ThinkingSettings) -> ThinkingSettings | None:
    """One step down for every level the setting names; None when nothing can go lower."""
    update: dict[str, object] = {}
    if thinking.effort:
        effort = _one_lower(EFFORT_LADDER, thinking.effort.lower())
        if effort is not None:
            update["effort"] = effort
    if thinking.level:
        level = _one_lower(LEVEL_LADDER, thinking.level.upper())
        if level is not None:
            update["level"] = level
    if thinking.budget_tokens and thinking.budget_tokens > MIN_BUDGET_TOKENS:
        update["budget_tokens"] = max(thinking.budget_tokens // 2, MIN_BUDGET_TOKENS)
    return thinking.model_copy(update=update) if update else None


def _parts(thinking: ThinkingSettings) -> dict[str, str]:
    parts: dict[str, str] = {}
    if thinking.effort:
        parts["effort"] = f"effort {thinking.effort}"
    if thinking.level:
        parts["level"] = f"level {thinking.level}"
    if thinking.budget_tokens:
        parts["budget"] = f"budget {thinking.budget_tokens}"
    return parts


def thinking_label(thinking: ThinkingSettings | None) -> str:
    """``effort max``, ``level HIGH``, ``budget 48000, effort high``; ``off`` for none."""
    if thinking is None:
        return "off"
    parts = _parts(thinking)
    if not parts:
        return "adaptive" if thinking.display else "default"
    return ", ".join(parts.values())


def describe_change(before: ThinkingSettings, after: ThinkingSettings) -> tuple[str, str]:
    """The two sides of ``thinking downgraded: max → high``: only what changed; a lone effort
    or level shows as its bare value."""
    old, new = _parts(before), _parts(after)
    changed = [key for key in {**old, **new} if old.get(key) != new.get(key)]
    if len(changed) == 1 and changed[0] in ("effort", "level"):
        key = changed[0]
        return str(getattr(before, key)), str(getattr(after, key))
    left = ", ".join(old[k] for k in changed if k in old) or "default"
    right = ", ".join(new[k] for k in changed if k in new) or "default"
    return left, right
