"""Today's model market, as the simulator imitates it: which ids exist, which are gone, and
which thinking parameters each model rejects.

The facts are those of the shared reference "models-2026-12" (the model market on 2026-12-04);
where the reference only infers a fact (e.g. ``gemini-4-carbon`` taking ``XHIGH``), the
simulator follows the inference, as the shipped registry does. A request for a gone id gets the
provider's 404; a thinking parameter the model rejects gets the provider's 400 naming it. Ids
the market does not know (a local server's model, a test's made-up name) are served as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from mao_tui.simulator.routes import Api

Vendor = Literal["anthropic", "openai", "gemini"]

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")


@dataclass(frozen=True)
class MarketModel:
    """One model id: until when it answers, and the thinking it accepts."""

    vendor: Vendor
    gone_from: date | None = None  # retired or shut down on this day: 404 from then on
    # anthropic: "adaptive" (5.x: enabled + budget_tokens → 400), "budget" (no adaptive, no
    # effort), "both"; gemini: "level" (thinking_budget → 400) or "both"
    thinking: Literal["adaptive", "budget", "both", "level", "effort"] = "both"
    efforts: tuple[str, ...] = ()  # accepted effort values (anthropic, openai); () = any
    levels: tuple[str, ...] = ()  # accepted thinking_level values (gemini); () = any


def _efforts(top: str, *, none: bool = True, minimal: bool = True) -> tuple[str, ...]:
    values = EFFORTS[: EFFORTS.index(top) + 1]
    return tuple(v for v in values if (none or v != "none") and (minimal or v != "minimal"))


def _levels(top: str, *, minimal: bool = True) -> tuple[str, ...]:
    values = LEVELS[: LEVELS.index(top) + 1]
    return tuple(v for v in values if minimal or v != "MINIMAL")


_CLAUDE_5 = MarketModel("anthropic", thinking="adaptive", efforts=_efforts("max")[2:])

TODAY: Mapping[str, MarketModel] = {
    # Anthropic
    "claude-opus-5-5": _CLAUDE_5,
    "claude-fable-5-2": _CLAUDE_5,
    "claude-sonnet-5-5": _CLAUDE_5,
    "claude-haiku-5-5": _CLAUDE_5,
    "claude-opus-5": _CLAUDE_5,
    "claude-sonnet-5": _CLAUDE_5,
    "claude-haiku-4-5": MarketModel("anthropic", thinking="budget"),
    "claude-opus-4-5": MarketModel("anthropic", gone_from=date(2027, 1, 22)),
    "claude-sonnet-4-5": MarketModel("anthropic", gone_from=date(2026, 11, 30)),
    # OpenAI
    "gpt-6.2-astra": MarketModel("openai", thinking="effort", efforts=_efforts("max", none=False)),
    "gpt-6.2-sol": MarketModel("openai", thinking="effort", efforts=_efforts("max")),
    "gpt-6-astra": MarketModel("openai", thinking="effort", efforts=_efforts("max")),
    "gpt-6.1-sol": MarketModel("openai", thinking="effort", efforts=_efforts("max")),
    "gpt-5.6-sol": MarketModel("openai", thinking="effort", efforts=_efforts("max")),
    "gpt-5.2": MarketModel("openai", thinking="effort", efforts=_efforts("xhigh")),
    "gpt-5.3-codex": MarketModel(
        "openai", gone_from=date(2027, 4, 1), thinking="effort", efforts=_efforts("xhigh")
    ),
    "gpt-5.2-codex": MarketModel("openai", gone_from=date(2026, 7, 23)),
    # Google
    "gemini-4-carbon": MarketModel("gemini", thinking="level", levels=_levels("XHIGH")),
    "gemini-4-argon": MarketModel("gemini", thinking="level", levels=_levels("HIGH")),
    "gemini-4-neon": MarketModel("gemini", thinking="level", levels=_levels("XHIGH")),
    "gemini-4-hydrogen": MarketModel("gemini", thinking="level", levels=_levels("XHIGH")),
    "gemini-3.8-flash": MarketModel(
        "gemini", thinking="level", levels=_levels("HIGH", minimal=False)
    ),
    "gemini-3.1-pro-preview": MarketModel("gemini", levels=_levels("HIGH")),
    "gemini-pro-latest": MarketModel("gemini", thinking="level", levels=_levels("XHIGH")),
    "gemini-flash-latest": MarketModel(
        "gemini", thinking="level", levels=_levels("HIGH", minimal=False)
    ),
    "gemini-3-pro-preview": MarketModel("gemini", gone_from=date(2026, 3, 9)),
}

_VENDOR: dict[Api, Vendor] = {
    "anthropic": "anthropic",
    "openai_responses": "openai",
    "openai_chat": "openai",
    "gemini": "gemini",
}


def today() -> date:
    """The day gone ids are judged on (tests pin it, as they pin the engine's)."""
    return date.today()


@dataclass(frozen=True)
class Rejection:
    """Why the market refuses a request: ``not_found`` (404) or ``thinking`` (400)."""

    kind: Literal["not_found", "thinking"]
    param: str = ""  # thinking: the wire path of the parameter it names
    value: str = ""
    message: str = ""


@dataclass(frozen=True)
class Market:
    """The ids a simulator knows, judged on ``today`` (None: :func:`today`)."""

    models: Mapping[str, MarketModel] = field(default_factory=lambda: dict(TODAY))
    today: date | None = None

    def day(self) -> date:
        return self.today or today()

    def listed(self, vendor: Vendor) -> list[str]:
        """The ids a provider's model list would show today (gone ones left out)."""
        return [mid for mid, m in self.models.items() if m.vendor == vendor and not self._gone(m)]

    def _gone(self, model: MarketModel) -> bool:
        return model.gone_from is not None and self.day() >= model.gone_from

    def judge(self, api: Api, model_id: str, thinking: Mapping[str, str]) -> Rejection | None:
        """The provider's refusal of this request, or None when it would be served."""
        model = self.models.get(model_id)
        if model is None or model.vendor != _VENDOR[api]:
            return None
        if self._gone(model):
            return Rejection("not_found")
        if model.vendor == "anthropic":
            return _anthropic(model, thinking)
        if model.vendor == "openai":
            return _openai(model, thinking)
        return _gemini(model, thinking)


def _anthropic(model: MarketModel, thinking: Mapping[str, str]) -> Rejection | None:
    budget = thinking.get("thinking.budget_tokens")
    effort = thinking.get("output_config.effort")
    if model.thinking == "adaptive" and budget is not None:
        return Rejection(
            "thinking",
            "thinking.type",
            "enabled",
            '"thinking.type.enabled" is not supported for this model. Use '
            '"thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
        )
    if model.thinking == "budget" and thinking.get("thinking.type") == "adaptive":
        return Rejection(
            "thinking",
            "thinking.type",
            "adaptive",
            '"thinking.type.adaptive" is not supported for this model. Use '
            '"thinking.type.enabled" with "thinking.budget_tokens".',
        )
    if model.thinking == "budget" and effort is not None:
        return Rejection(
            "thinking",
            "output_config.effort",
            effort,
            "output_config.effort: this model does not support the effort parameter.",
        )
    if effort is not None and model.efforts and effort not in model.efforts:
        allowed = ", ".join(repr(v) for v in model.efforts)
        return Rejection(
            "thinking",
            "output_config.effort",
            effort,
            f"output_config.effort: Input should be {allowed}",
        )
    return None


def _openai(model: MarketModel, thinking: Mapping[str, str]) -> Rejection | None:
    for param in ("reasoning.effort", "reasoning_effort"):
        effort = thinking.get(param)
        if effort is not None and model.efforts and effort not in model.efforts:
            allowed = ", ".join(f"'{v}'" for v in model.efforts)
            return Rejection(
                "thinking",
                param,
                effort,
                f"Unsupported value: '{param}' does not support '{effort}' with this model. "
                f"Supported values are: {allowed}.",
            )
    return None


def _gemini(model: MarketModel, thinking: Mapping[str, str]) -> Rejection | None:
    prefix = "generation_config.thinking_config."
    budget = thinking.get(prefix + "thinking_budget")
    level = thinking.get(prefix + "thinking_level")
    if model.thinking == "level" and budget is not None:
        return Rejection(
            "thinking",
            prefix + "thinking_budget",
            budget,
            "thinking_budget is not supported by this model. Use thinking_level instead.",
        )
    if level is not None and model.levels and level.upper() not in model.levels:
        allowed = ", ".join(model.levels)
        return Rejection(
            "thinking",
            prefix + "thinking_level",
            level,
            f"Invalid value at '{prefix}thinking_level' ({level}): this model supports "
            f"thinking levels {allowed}.",
        )
    return None
