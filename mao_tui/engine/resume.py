"""What a :class:`~mao_tui.engine.controller.LiveSessionController` needs to pick up a stored
session for review: its plan, the latest successful output of each workstream, usage and
attempt counts (:func:`resume_from`)."""

from __future__ import annotations

from dataclasses import dataclass

from mao_tui.domain import SYNTHESIS_KEY, AttemptStatus, Plan, TokenTotals, WorkstreamStatus
from mao_tui.domain.errors import ControlError
from mao_tui.domain.stored import SessionDetail
from mao_tui.engine.chain import Outcome


@dataclass
class Resume:
    """What a controller needs to pick up a stored session."""

    plan: Plan
    latest: dict[str, Outcome]  # per workstream (and synthesis): its latest successful output
    status: dict[str, WorkstreamStatus]  # per workstream: how its latest run ended
    usage: dict[str, TokenTotals]  # per workstream and synthesis: every attempt's usage
    attempts: dict[str, int]  # per workstream and synthesis: attempts so far
    last_model: dict[str, str]  # per workstream and synthesis: the model of its latest attempt
    totals: TokenTotals
    elapsed_s: float


def resume_from(detail: SessionDetail) -> Resume:
    """The controller state of a stored session: latest successful outputs, usage, attempts."""
    if detail.plan is None:
        raise ControlError(f"session {detail.id} has no plan: nothing to rerun")
    latest: dict[str, Outcome] = {}
    attempts: dict[str, int] = {}
    last_model: dict[str, str] = {}
    usage: dict[str, TokenTotals] = {}
    for attempt in detail.attempts:
        key = attempt.workstream
        attempts[key] = attempts.get(key, 0) + 1
        last_model[key] = attempt.model
        usage.setdefault(key, TokenTotals()).add(attempt.usage)
        if attempt.status is AttemptStatus.OK:
            latest[key] = Outcome(
                WorkstreamStatus.DONE, attempt.model, attempt.output_text, attempt.usage
            )
    done_synthesis = [s for s in detail.syntheses if s.status is WorkstreamStatus.DONE]
    if done_synthesis:
        last = done_synthesis[-1]
        latest[SYNTHESIS_KEY] = Outcome(WorkstreamStatus.DONE, last.model, last.text, last.usage)
    else:
        latest.pop(SYNTHESIS_KEY, None)
    status = {ws.key: ws.status for ws in detail.workstreams}
    if detail.syntheses:
        status[SYNTHESIS_KEY] = detail.syntheses[-1].status
    return Resume(
        plan=detail.plan,
        latest=latest,
        status=status,
        usage=usage,
        attempts=attempts,
        last_model=last_model,
        totals=detail.usage,
        elapsed_s=detail.elapsed_s or 0.0,
    )
