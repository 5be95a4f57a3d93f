"""How a model's thinking is requested at its maximum: the models.yaml section, per control."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, model_validator

# How a model's thinking is requested on the wire; each model family takes exactly one:
#   anthropic_budget    thinking {type: enabled, budget_tokens} (+ output_config.effort if set)
#   anthropic_adaptive  thinking {type: adaptive} + output_config.effort (Claude 5.x: budget → 400)
#   openai_effort       reasoning.effort (+ reasoning.summary)
#   gemini_level        thinking_config.thinking_level (Gemini 3 and 4: budget → 400 on Gemini 4)
#   gemini_budget       thinking_config.thinking_budget (Gemini 2.5)
ThinkingControl = Literal[
    "anthropic_budget", "anthropic_adaptive", "openai_effort", "gemini_level", "gemini_budget"
]
THINKING_CONTROLS: tuple[ThinkingControl, ...] = get_args(ThinkingControl)
# What each control needs (n) and must not set (x).
_CONTROL_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anthropic_budget": (("budget_tokens",), ("level",)),
    "anthropic_adaptive": (("effort",), ("budget_tokens", "level")),
    "openai_effort": (("effort",), ("budget_tokens", "level", "display")),
    "gemini_level": (("level",), ("budget_tokens", "effort", "display", "summary")),
    "gemini_budget": (("budget_tokens",), ("level", "effort", "display", "summary")),
}


class ThinkingSettings(BaseModel):
    """Thinking at the model's maximum, as its provider expects it (models.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Unset: read from the fields below (a budget means a budget control, and so on).
    control: ThinkingControl | None = None
    effort: str | None = None  # anthropic output_config.effort; openai reasoning.effort
    budget_tokens: int | None = None  # anthropic enabled budget; gemini 2.5 thinking_budget
    level: str | None = None  # gemini 3/4 thinking_level
    summary: str | None = None  # openai reasoning.summary
    display: str | None = None  # anthropic thinking.display
    # The highest setting is inferred, not confirmed by the provider (reference mark I): a 400
    # naming it costs one request, then the engine retries one step lower.
    max_inferred: bool = False

    @model_validator(mode="after")
    def _fields_match_control(self) -> ThinkingSettings:
        if self.control is None:
            return self
        needs, forbids = _CONTROL_FIELDS[self.control]
        missing = [f for f in needs if getattr(self, f) is None]
        stray = [f for f in forbids if getattr(self, f) is not None]
        if missing:
            raise ValueError(f"control {self.control} needs {', '.join(missing)}")
        if stray:
            raise ValueError(f"control {self.control} takes no {', '.join(stray)}")
        return self
