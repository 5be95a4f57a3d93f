"""The cost budget's events: the estimate shown with the plan, a stop at the limit, and the
user's answer when asked (continue past it, or a raised limit).

Kept apart from the other events (they are added to the event union in ``domain``); the estimate
and the gate that emits them are in ``engine/cost_budget.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

OutputSource = Literal["history", "max_output"]

__all__ = [
    "BudgetAnswer",
    "BudgetChanged",
    "BudgetEvent",
    "BudgetExceeded",
    "BudgetQuestion",
    "CostEstimated",
]


def _now() -> datetime:
    return datetime.now(UTC)


def usd(value: float | None) -> str:
    """$0.1234 under a dollar, $12.34 above; "unknown" for a price nobody knows (never $0)."""
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


class ModelHistory(BaseModel):
    """A model's latest successful attempts, as the store reports them: what its next answer
    is expected to be."""

    model_config = ConfigDict(frozen=True)

    attempts: int
    mean_output_tokens: float  # thinking included
    mean_thinking_tokens: float


# (model, None): a model's attempts in every workstream; (model, key): in workstream ``key``.
History = Mapping[tuple[str, str | None], ModelHistory]


class WorkstreamEstimate(BaseModel):
    """One call's expected cost: its primary model, the prompt's tokens and the answer's."""

    model_config = ConfigDict(frozen=True)

    workstream: str
    title: str
    model: str
    input_tokens: int  # the prompt at 4 characters a token, the inputs it builds on included
    output_tokens: int  # thinking included
    output_source: OutputSource  # the model's past answers, else its max output
    history_attempts: int = 0  # how many past successful attempts the mean is of
    same_workstream: bool = False  # of this model in this workstream (else in any workstream)
    cost_usd: float | None = None  # None: the model's price is unknown
    # A candidate race: every candidate's model (``model`` is the first); the tokens and cost
    # are all of them together, the output source and history the first one's.
    candidates: list[str] = Field(default_factory=list)

    @property
    def line(self) -> str:
        source = (
            f"mean of {self.history_attempts} past answer"
            f"{'' if self.history_attempts == 1 else 's'}"
            + ("" if self.same_workstream else " in any workstream")
            if self.output_source == "history"
            else "max output, no history"
        )
        on = self.model
        if self.candidates:
            on = f"{len(self.candidates)} candidates ({', '.join(self.candidates)})"
        return (
            f"{self.title} on {on}: {usd(self.cost_usd)} "
            f"(in ~{self.input_tokens:,}, out ~{self.output_tokens:,}: {source})"
        )


class _BudgetEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    at: datetime = Field(default_factory=_now)


class CostEstimated(_BudgetEvent):
    """The plan's expected cost before any workstream runs, against the budget (if any)."""

    type: Literal["cost_estimate"] = "cost_estimate"
    rows: list[WorkstreamEstimate]  # every workstream, then the synthesis
    spent_usd: float = 0.0  # already spent before the workstreams (planning, pre-flight)
    budget_usd: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_usd(self) -> float | None:
        """Spent plus every row; None when no row has a known price."""
        known = [r.cost_usd for r in self.rows if r.cost_usd is not None]
        return self.spent_usd + sum(known) if known or not self.rows else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        return all(r.cost_usd is not None for r in self.rows)

    @property
    def line(self) -> str:
        unknown = [r.model for r in self.rows if r.cost_usd is None]
        total = usd(self.total_usd)
        if unknown and self.total_usd is not None:
            total += f" + unknown ({', '.join(sorted(set(unknown)))}: no price)"
        text = f"estimate: {total} for the plan"
        if self.spent_usd:
            text += f" ({usd(self.spent_usd)} of it spent on planning)"
        if self.budget_usd is not None:
            total_usd = self.total_usd
            over = total_usd is not None and total_usd > self.budget_usd
            text += f"; budget {usd(self.budget_usd)}" + (" — over budget" if over else "")
        return text


class BudgetExceeded(_BudgetEvent):
    """The next attempt would pass the budget and the answer was stop: no attempt starts
    after this one; attempts in flight finish and their outputs are kept."""

    type: Literal["budget_exceeded"] = "budget_exceeded"
    budget_usd: float
    spent_usd: float
    committed_usd: float  # the estimated cost of the attempts in flight
    next_usd: float  # the estimated cost of the attempt that was not started
    workstream: str
    model: str

    @property
    def line(self) -> str:
        return (
            f"budget {usd(self.budget_usd)} reached: spent {usd(self.spent_usd)} + in flight "
            f"~{usd(self.committed_usd)} + next ({self.workstream} on {self.model}) "
            f"~{usd(self.next_usd)}; remaining work stopped"
        )


class BudgetChanged(_BudgetEvent):
    """The user's answer at the limit: a raised budget, or continue without one."""

    type: Literal["budget_changed"] = "budget_changed"
    budget_usd: float | None  # None: continue, no limit for the rest of the session
    previous_usd: float
    spent_usd: float

    @property
    def line(self) -> str:
        if self.budget_usd is None:
            return (
                f"budget {usd(self.previous_usd)} passed by choice: continuing without a limit "
                f"(spent {usd(self.spent_usd)})"
            )
        return f"budget raised from {usd(self.previous_usd)} to {usd(self.budget_usd)}"


@dataclass(frozen=True)
class BudgetQuestion:
    """What the dashboard shows when the next attempt would pass the budget."""

    budget_usd: float
    spent_usd: float
    committed_usd: float
    next_usd: float
    workstream: str
    model: str

    @property
    def needed_usd(self) -> float:
        return self.spent_usd + self.committed_usd + self.next_usd


@dataclass(frozen=True)
class BudgetAnswer:
    action: Literal["continue", "raise", "stop"]
    budget_usd: float | None = None  # the new limit, for "raise"


Ask = Callable[[BudgetQuestion], Awaitable[BudgetAnswer]]


BudgetEvent = CostEstimated | BudgetExceeded | BudgetChanged
