"""models.yaml `models:` and `global:`: each model's prices, budget and lifecycle; the global
limits and retry policy."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from mao_tui.settings.base import Identifier, Strict
from mao_tui.settings.providers import RetryPolicy, Timeouts
from mao_tui.settings.thinking import ThinkingSettings

__all__ = [
    "Global",
    "Limits",
    "ModelConfig",
    "PriceTier",
    "Prices",
]


class PriceTier(Strict):
    """Prices for a request whose input is above ``above_input_tokens`` (the whole request)."""

    above_input_tokens: int = Field(gt=0)
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class Prices(Strict):
    """US dollars per million tokens. Thinking tokens are billed as output; ``cached_input``
    is the price of input read from the provider's cache, ``cache_write`` of input written to
    it (unset: those tokens cost unknown)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    long_context: PriceTier | None = None


class ModelConfig(Strict):
    provider: Identifier
    api_model: str = Field(min_length=1)
    display_name: str | None = None
    role: str = "worker"
    capabilities: list[str] = Field(default_factory=list)
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    # What playbook prompt variants are keyed by besides the model id: claude, gpt, codex, ...
    family: Identifier | None = None
    thinking: ThinkingSettings | None = None
    # The setting to retry with when the provider rejects ``thinking`` (a 400 naming it);
    # unset: one step down the effort/level ladder, or half the budget (engine/policy.py).
    thinking_downgrade: ThinkingSettings | None = None
    timeouts: Timeouts | None = None
    # Overrides the price database (genai-prices) for this model; unset: the database's price.
    prices: Prices | None = None
    # The name to look the model up by in the price database when ``api_model`` is an alias
    # it does not know (a CLI tool's ``sonnet``, an OpenRouter path); unset: ``api_model``.
    price_model: str | None = Field(default=None, min_length=1)
    deprecated: bool | date = False  # true, or the date the provider announced it
    # From this day on the model is gone (retired, or shut down: the API answers 404); a route
    # to it goes to its successor, or, without one, the model is skipped (reason `retired`).
    retires: date | None = None
    successor: Identifier | None = None  # the model id that replaces it once it retires
    # The line a route's ``latest:<series>`` alias picks from (opus, sonnet, gpt-sol, ...):
    # its newest active member by ``released``.
    series: Identifier | None = None
    released: date | None = None

    def retired(self, today: date) -> bool:
        return self.retires is not None and today >= self.retires

    def lifecycle(self, today: date) -> str:
        """``active``, ``deprecated``, ``retires YYYY-MM-DD (in N days)`` or ``retired``."""
        if self.retires is not None:
            if self.retired(today):
                return f"retired {self.retires.isoformat()}"
            days = (self.retires - today).days
            return f"retires {self.retires.isoformat()} (in {days} day{'s' if days != 1 else ''})"
        if self.deprecated:
            return "deprecated"
        return "active"

    @model_validator(mode="after")
    def _budget_below_max(self) -> ModelConfig:
        for name in ("thinking", "thinking_downgrade"):
            setting: ThinkingSettings | None = getattr(self, name)
            budget = setting.budget_tokens if setting else None
            if budget is not None and budget >= self.max_output_tokens:
                raise ValueError(
                    f"{name}.budget_tokens ({budget}) must be below max_output_tokens "
                    f"({self.max_output_tokens})"
                )
        return self


class Limits(Strict):
    """Bounds on input mao reads: a model's files manifest, the files a user hands it, and
    what one attempt may stream (its answer, its thinking)."""

    max_files: int = Field(default=500, ge=1)  # files in one synthesis's manifest
    max_file_bytes: int = Field(default=2_000_000, ge=1)  # one file of the manifest
    max_total_bytes: int = Field(default=20_000_000, ge=1)  # all files of one apply
    max_input_bytes: int = Field(default=10_000_000, ge=1)  # --spec, --plan, a context file
    # One attempt's streamed answer: past it the stream is closed and the attempt is truncated.
    # 4M characters is ~1M tokens, 8x the largest output limit (128K tokens ≈ 512K characters).
    max_answer_chars: int = Field(default=4_000_000, ge=1)
    # One attempt's thinking: past it the rest is dropped (a marker says so); the answer goes on.
    max_thinking_chars: int = Field(default=4_000_000, ge=1)


class Global(Strict):
    thinking_always_on: bool = True
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    limits: Limits = Field(default_factory=Limits)
