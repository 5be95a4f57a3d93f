"""Token and cost totals, per attempt, workstream and session."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["TokenTotals"]


class TokenTotals(BaseModel):
    input_tokens: int = 0  # cached input included
    output_tokens: int = 0  # thinking included
    thinking_tokens: int = 0
    cost_usd: float = 0.0
    cost_complete: bool = True  # False when some model's price is unknown
    cached_input_tokens: int = 0  # the part of input_tokens read from a provider's cache

    def add(self, other: TokenTotals) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.thinking_tokens += other.thinking_tokens
        self.cost_usd += other.cost_usd
        self.cost_complete = self.cost_complete and other.cost_complete
        self.cached_input_tokens += other.cached_input_tokens
