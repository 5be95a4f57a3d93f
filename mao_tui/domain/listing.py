"""A session as a listing shows it, without pydantic: what ``mao sessions`` prints.

:class:`mao_tui.domain.stored.SessionSummary` carries the same fields as a pydantic model for
the History screen and the review; a listing needs neither validation nor the models' imports.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mao_tui.domain import SessionStatus


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    created_at: datetime
    finished_at: datetime | None
    command: str
    playbook: str
    task: str
    status: SessionStatus
    simulated: bool
    project_dir: str
    elapsed_s: float | None
    error: str | None
    budget_usd: float | None  # the cost budget (None: no limit)
    estimate_usd: float | None  # the plan's estimate before it ran (None: unknown)
    estimate_complete: bool  # False: some model's price was unknown
    input_tokens: int
    output_tokens: int
    thinking_tokens: int
    cost_usd: float
    cost_complete: bool
    cached_input_tokens: int
    models: list[str]  # distinct models that ran attempts, in first-use order

    def as_fields(self) -> dict[str, Any]:
        """The fields by name (lists shared, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
