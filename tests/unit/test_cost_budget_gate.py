"""The cost budget's gate and estimator without a session: prices from the registry, history
handed in, the answer at the limit scripted. Every attempt passes ``admit`` before it starts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mao_tui.domain import AttemptFinished, AttemptStatus, SessionReopened, TokenTotals
from mao_tui.domain.budget_events import (
    BudgetAnswer,
    BudgetChanged,
    BudgetExceeded,
    BudgetQuestion,
    ModelHistory,
    usd,
)
from mao_tui.engine.cost_budget import BudgetStopError, CostBudget, Estimator
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings

# $1 per million input tokens, $10 per million output: easy numbers.
PRICED = {"input": 1.0, "output": 10.0}
PROMPT = "x" * 4_000  # 1,000 tokens: $0.001 of input


def _settings() -> Settings:
    base = {"context_window": 1_000_000, "max_output_tokens": 10_000, "provider": "openai"}
    return load_settings(
        [shipped_config_dir()],
        {
            "models": {
                "cheap": {**base, "api_model": "mao-cheap", "prices": PRICED},
                "unpriced": {**base, "provider": "google", "api_model": "gemini-0-mao-unpriced"},
            }
        },
    )


SETTINGS = _settings()
# cheap answers 1,000 tokens: $0.011 an attempt with the prompt above
HISTORY = {
    ("cheap", None): ModelHistory(attempts=3, mean_output_tokens=1_000, mean_thinking_tokens=0)
}


class _Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def __call__(self, event: Any) -> None:
        self.events.append(event)


def _budget(
    limit: float | None, answers: list[BudgetAnswer] | None = None
) -> tuple[CostBudget, _Recorder, list[BudgetQuestion]]:
    budget = CostBudget(SETTINGS)
    asked: list[BudgetQuestion] = []

    async def ask(question: BudgetQuestion) -> BudgetAnswer:
        asked.append(question)
        return answers.pop(0) if answers else BudgetAnswer("stop")

    budget.configure(limit, HISTORY, ask if answers is not None else None)
    recorder = _Recorder()
    budget.bind(recorder)
    return budget, recorder, asked


def _finished(cost: float) -> AttemptFinished:
    return AttemptFinished(
        session_id="S", attempt_id="A", workstream="w", model="cheap", status=AttemptStatus.OK,
        usage=TokenTotals(cost_usd=cost),
    )  # fmt: skip


def test_one_call_is_priced_from_history_else_from_max_output_and_unknown_is_none() -> None:
    estimator = Estimator(SETTINGS, HISTORY)
    known = estimator.call("cheap", 1_000)
    assert (known.output_tokens, known.source, known.history_attempts) == (1_000, "history", 3)
    assert known.cost_usd == pytest.approx(0.011)
    fresh = Estimator(SETTINGS).call("cheap", 1_000)
    assert (fresh.output_tokens, fresh.source) == (10_000, "max_output")
    assert fresh.cost_usd == pytest.approx(0.101)
    assert estimator.call("unpriced", 1_000).cost_usd is None
    assert usd(None) == "unknown" and usd(0.011) == "$0.0110" and usd(12.5) == "$12.50"


async def test_attempts_in_flight_count_until_they_end() -> None:
    budget, recorder, _ = _budget(0.03)
    first = await budget.admit("S", "a", "cheap", "", PROMPT)
    second = await budget.admit("S", "b", "cheap", "", PROMPT)
    assert budget.committed_usd == pytest.approx(0.022)
    with pytest.raises(BudgetStopError):  # 0.022 in flight + 0.011 > 0.03
        await budget.admit("S", "c", "cheap", "", PROMPT)
    (exceeded,) = recorder.events
    assert isinstance(exceeded, BudgetExceeded)
    assert (exceeded.workstream, exceeded.committed_usd) == ("c", pytest.approx(0.022))
    assert "remaining work stopped" in exceeded.line
    budget.release(first)
    budget.release(second)
    with pytest.raises(BudgetStopError):  # stopped: nothing starts any more, no second event
        await budget.admit("S", "d", "cheap", "", PROMPT)
    assert len(recorder.events) == 1
    await budget.observe(SessionReopened(session_id="S", reason="rerun a"))
    ticket = await budget.admit("S", "a", "cheap", "", PROMPT)  # asked again: room now
    assert budget.committed_usd == pytest.approx(0.011) and ticket


async def test_spent_comes_from_finished_attempts() -> None:
    budget, _, _ = _budget(0.02)
    await budget.observe(_finished(0.015))
    assert budget.spent_usd == pytest.approx(0.015)
    with pytest.raises(BudgetStopError):
        await budget.admit("S", "a", "cheap", "", PROMPT)


async def test_raise_and_continue_are_answers_and_events() -> None:
    answers = [BudgetAnswer("raise", 0.015), BudgetAnswer("raise", 0.05), BudgetAnswer("continue")]
    budget, recorder, asked = _budget(0.01, answers)
    await budget.admit("S", "a", "cheap", "", PROMPT)  # 0.011 > 0.01: raised to 0.015, it fits
    assert [q.budget_usd for q in asked] == [0.01]
    assert budget.limit_usd == 0.015
    await budget.admit("S", "b", "cheap", "", PROMPT)  # 0.022 > 0.015: raised to 0.05
    assert budget.limit_usd == 0.05
    for key in "cde":
        await budget.admit("S", key, "cheap", "", PROMPT)  # the 5th passes 0.05: continue
    assert budget.limit_usd is None
    changes = [e for e in recorder.events if isinstance(e, BudgetChanged)]
    assert [c.budget_usd for c in changes] == [0.015, 0.05, None]
    assert "continuing without a limit" in changes[-1].line


async def test_one_question_at_a_time_and_an_unknown_price_is_not_held() -> None:
    gate, asking = asyncio.Event(), asyncio.Event()
    budget = CostBudget(SETTINGS)
    asked: list[BudgetQuestion] = []

    async def ask(question: BudgetQuestion) -> BudgetAnswer:
        asked.append(question)
        asking.set()
        await gate.wait()
        return BudgetAnswer("raise", 1.0)

    budget.configure(0.005, HISTORY, ask)
    waiting = [asyncio.create_task(budget.admit("S", k, "cheap", "", PROMPT)) for k in "ab"]
    await asking.wait()
    assert await budget.admit("S", "u", "unpriced", "", PROMPT)  # no price: not held, no question
    gate.set()
    await asyncio.gather(*waiting)
    # The second waited for the first answer, then fitted the new limit without a question.
    assert len(asked) == 1 and budget.committed_usd == pytest.approx(0.022)


async def test_without_a_limit_nothing_is_estimated_or_asked() -> None:
    budget, recorder, asked = _budget(None, [])
    for key in "abcdefgh":
        await budget.admit("S", key, "cheap", "", PROMPT)
    assert budget.committed_usd == 0 and not asked and not recorder.events


def test_the_dashboard_state_keeps_the_budget_and_the_estimate() -> None:
    from mao_tui.domain.budget_events import CostEstimated
    from mao_tui.tui.reducer import DashboardState

    state = DashboardState()
    estimate = CostEstimated(session_id="S", rows=[], spent_usd=0.01, budget_usd=2.5)
    change = state.apply(estimate)
    assert change.budget is estimate and change.status
    assert state.session.budget_usd == 2.5 and state.session.estimate is estimate
    lifted = BudgetChanged(session_id="S", budget_usd=None, previous_usd=2.5, spent_usd=2.4)
    assert state.apply(lifted).budget is lifted
    assert state.session.budget_usd is None
