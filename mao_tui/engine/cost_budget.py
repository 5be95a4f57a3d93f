"""A session's cost budget, in US dollars: what the plan is expected to cost before it runs, and
the gate every attempt passes before it starts.

Not to be confused with ``engine/budget.py``, which checks that the input fits the context window.

The estimate of one call: input tokens are the prompt at 4 characters a token (as in
``engine/budget.py``); output tokens (thinking included) are the mean of that model's past
successful attempts in the database, else the model's ``max_output_tokens`` (an upper bound, far
above most answers). Both are priced like a real attempt (``engine/pricing.py``); a model with no
known price costs "unknown", never $0, and is not held by the budget.

The gate: an attempt starts when what is spent, plus the estimated cost of the attempts in flight
(committed), plus its own estimate stays within the budget. Otherwise the ``ask`` callback decides
(the dashboard asks the user: continue, raise, stop); without one (headless) the session stops:
a ``budget_exceeded`` event, and every later attempt is refused. Planning, workstreams, synthesis,
reruns and fix rounds all pass the same gate, so they count against the same budget.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from mao_tui.domain import (
    AttemptFinished,
    EngineEvent,
    EventSink,
    Plan,
    PlannedWorkstream,
    SessionReopened,
)
from mao_tui.domain.budget_events import (
    Ask,
    BudgetAnswer,
    BudgetChanged,
    BudgetExceeded,
    BudgetQuestion,
    CostEstimated,
    History,
    OutputSource,
    WorkstreamEstimate,
)
from mao_tui.engine.budget import CHARS_PER_TOKEN
from mao_tui.engine.price_sources import PriceBook, cost
from mao_tui.providers.base import Usage
from mao_tui.settings.schema import Settings


def prompt_tokens(system: str, prompt: str) -> int:
    return (len(system) + len(prompt)) // CHARS_PER_TOKEN


@dataclass(frozen=True)
class CallEstimate:
    input_tokens: int
    output_tokens: int
    text_tokens: int  # the answer without its thinking: what a later prompt quotes
    source: OutputSource
    history_attempts: int
    same_workstream: bool  # the history is of this workstream's answers
    cost_usd: float | None  # None: the price is unknown


class Estimator:
    """One call's expected tokens and cost, from the prompt and the model's history."""

    def __init__(self, settings: Settings, history: History | None = None) -> None:
        self._settings = settings
        self._prices = PriceBook(settings)
        self.history: History = history or {}

    def call(self, model_id: str, input_tokens: int, workstream: str | None = None) -> CallEstimate:
        """``workstream``: the same model's answers there are preferred when it has some."""
        past = self.history.get((model_id, workstream)) if workstream else None
        same = past is not None
        past = past or self.history.get((model_id, None))
        if past is not None and past.attempts > 0:
            output = round(past.mean_output_tokens)
            text = max(0, round(past.mean_output_tokens - past.mean_thinking_tokens))
            source: OutputSource = "history"
            attempts = past.attempts
        else:
            output = text = self._settings.model(model_id).max_output_tokens
            source, attempts = "max_output", 0
        quote = self._prices.quote(model_id)
        dollars: float | None = None
        if quote.kind != "unknown":
            usage = Usage(input_tokens=input_tokens, output_tokens=output)
            value, known = cost(usage, quote)
            dollars = value if known else None
        return CallEstimate(input_tokens, output, text, source, attempts, same, dollars)

    def row(self, ws: PlannedWorkstream, input_tokens: int) -> tuple[WorkstreamEstimate, int]:
        """The workstream's estimate on its primary model, and its answer's text tokens."""
        return self.race_row(ws, {ws.chain[0]: input_tokens})

    def race_row(
        self, ws: PlannedWorkstream, inputs: dict[str, int]
    ) -> tuple[WorkstreamEstimate, int]:
        """The workstream on each of ``inputs``' models (model -> prompt tokens; several: a
        candidate race, every candidate counted), and the first one's text tokens (what a
        later prompt quotes: one answer is kept)."""
        calls = [self.call(model, tokens, ws.key) for model, tokens in inputs.items()]
        first = calls[0]
        prices = [c.cost_usd for c in calls]
        row = WorkstreamEstimate(
            workstream=ws.key,
            title=ws.title,
            model=next(iter(inputs)),
            input_tokens=sum(c.input_tokens for c in calls),
            output_tokens=sum(c.output_tokens for c in calls),
            output_source=first.source,
            history_attempts=first.history_attempts,
            same_workstream=first.same_workstream,
            cost_usd=None if None in prices else sum(p or 0.0 for p in prices),
            candidates=list(inputs) if len(inputs) > 1 else [],
        )
        return row, first.text_tokens


# A workstream's prompts on a model, without the outputs it builds on (added as tokens).
PromptOf = Callable[[PlannedWorkstream, str], tuple[str, str]]
# The models a workstream runs on: its primary, or every candidate of its race.
ModelsOf = Callable[[PlannedWorkstream], list[str]]


def estimate_plan(
    estimator: Estimator,
    plan: Plan,
    prompt_of: PromptOf,
    synthesis_prompt: PromptOf,
    models_of: ModelsOf | None = None,
) -> list[WorkstreamEstimate]:
    """Every workstream of ``plan`` on its primary model (a raced one on each candidate's,
    from ``models_of``), then the synthesis; a prompt that quotes earlier answers counts their
    expected text."""
    rows: list[WorkstreamEstimate] = []
    text_of: dict[str, int] = {}
    pending = [ws for ws in plan.workstreams if ws.chain]
    while pending:
        ready = [ws for ws in pending if all(d in text_of for d in ws.depends_on)] or pending
        for ws in ready:
            quoted = sum(text_of.get(d, 0) for d in ws.depends_on)
            models = (models_of(ws) if models_of is not None else []) or ws.chain[:1]
            inputs = {m: prompt_tokens(*prompt_of(ws, m)) + quoted for m in models}
            row, text_of[ws.key] = estimator.race_row(ws, inputs)
            rows.append(row)
            pending.remove(ws)
    synthesis = plan.synthesis
    if synthesis.chain:
        quoted = sum(text_of.values())
        base = prompt_tokens(*synthesis_prompt(synthesis, synthesis.chain[0]))
        row, _ = estimator.row(synthesis, base + quoted)
        rows.append(row)
    return rows


STOPPED = "the cost budget was reached"


class BudgetStopError(Exception):
    """The attempt must not start: the session's budget is spent (the message says how)."""


class CostBudget:
    """What the session has spent and has committed, against its limit (None: no limit, only
    counted). ``observe`` is a sink: every finished attempt's cost is spent."""

    def __init__(self, settings: Settings) -> None:
        self.estimator = Estimator(settings)
        self.limit_usd: float | None = None
        self.ask: Ask | None = None
        self.spent_usd = 0.0
        self.spent_complete = True
        self.stopped: str | None = None  # why no attempt may start any more
        self._committed: dict[int, float] = {}
        self._tickets = itertools.count(1)
        self._lock = asyncio.Lock()
        self._emit: EventSink | None = None

    def configure(
        self,
        limit_usd: float | None,
        history: History,
        ask: Ask | None = None,
        spent_usd: float = 0.0,
    ) -> None:
        """Before the session runs (or is reviewed: ``spent_usd`` is what it has cost so far)."""
        self.limit_usd = limit_usd
        self.estimator.history = history
        self.ask = ask
        self.spent_usd = spent_usd

    def bind(self, emit: EventSink) -> None:
        self._emit = emit

    @property
    def committed_usd(self) -> float:
        return sum(self._committed.values())

    async def observe(self, event: EngineEvent) -> None:
        if isinstance(event, AttemptFinished):
            self.spent_usd += event.usage.cost_usd
            self.spent_complete = self.spent_complete and event.usage.cost_complete
        elif isinstance(event, SessionReopened):
            self.stopped = None  # the user asked for more work: the gate asks again

    def estimate(
        self,
        session_id: str,
        plan: Plan,
        prompt_of: PromptOf,
        synthesis_prompt: PromptOf,
        models_of: ModelsOf | None = None,
    ) -> CostEstimated:
        rows = estimate_plan(self.estimator, plan, prompt_of, synthesis_prompt, models_of)
        return CostEstimated(
            session_id=session_id, rows=rows, spent_usd=self.spent_usd, budget_usd=self.limit_usd
        )

    async def admit(
        self, session_id: str, workstream: str, model_id: str, system: str, prompt: str
    ) -> int:
        """A ticket for an attempt about to start (``release`` it when the attempt ends), or
        BudgetStopError. With no limit nothing is estimated."""
        if self.stopped is not None:
            raise BudgetStopError(STOPPED)
        if self.limit_usd is None:
            return self._hold(0.0)
        tokens = prompt_tokens(system, prompt)
        expected = self.estimator.call(model_id, tokens, workstream).cost_usd
        if expected is None:
            return self._hold(0.0)  # an unknown price cannot be held to a budget
        async with self._lock:
            while self.limit_usd is not None and self._over(expected):
                if self.stopped is not None:
                    raise BudgetStopError(STOPPED)
                await self._decide(session_id, workstream, model_id, expected)
            return self._hold(expected)

    def release(self, ticket: int) -> None:
        self._committed.pop(ticket, None)

    def _hold(self, expected: float) -> int:
        ticket = next(self._tickets)
        self._committed[ticket] = expected
        return ticket

    def _over(self, expected: float) -> bool:
        assert self.limit_usd is not None
        return self.spent_usd + self.committed_usd + expected > self.limit_usd

    async def _decide(
        self, session_id: str, workstream: str, model_id: str, next_usd: float
    ) -> None:
        """Ask (or, headless, stop); a stop raises BudgetStopError."""
        assert self.limit_usd is not None
        question = BudgetQuestion(
            self.limit_usd, self.spent_usd, self.committed_usd, next_usd, workstream, model_id
        )
        answer = await self.ask(question) if self.ask is not None else BudgetAnswer("stop")
        if answer.action == "stop":
            exceeded = BudgetExceeded(
                session_id=session_id,
                budget_usd=question.budget_usd,
                spent_usd=question.spent_usd,
                committed_usd=question.committed_usd,
                next_usd=next_usd,
                workstream=workstream,
                model=model_id,
            )
            self.stopped = exceeded.line
            await self._send(exceeded)
            raise BudgetStopError(STOPPED)
        previous = self.limit_usd
        self.limit_usd = answer.budget_usd if answer.action == "raise" else None
        await self._send(
            BudgetChanged(
                session_id=session_id,
                budget_usd=self.limit_usd,
                previous_usd=previous,
                spent_usd=self.spent_usd,
            )
        )

    async def _send(self, event: BudgetExceeded | BudgetChanged) -> None:
        if self._emit is not None:
            await self._emit(event)
