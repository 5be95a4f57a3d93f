"""The count a live session keeps across its reruns: attempt numbers, usage and last model per
workstream, and the totals."""

from __future__ import annotations

from collections.abc import Sequence

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    EngineEvent,
    EventSink,
    Plan,
    PlanReady,
    TokenTotals,
)
from mao_tui.engine.chain import Fanout
from mao_tui.engine.resume import Resume


class RunTally:
    """The first sink of every event: numbers attempts per workstream across reruns, and keeps
    each workstream's usage and last model (what WorkstreamFinished and the totals report)."""

    def __init__(self, sinks: Sequence[EventSink]) -> None:
        self._fanout = Fanout(list(sinks))
        self.attempts: dict[str, int] = {}
        self.usage: dict[str, TokenTotals] = {}
        self.last_model: dict[str, str] = {}
        self.totals = TokenTotals()
        self.plan: Plan | None = None

    def load(self, resume: Resume) -> None:
        self.attempts = dict(resume.attempts)
        self.usage = {k: v.model_copy() for k, v in resume.usage.items()}
        self.last_model = dict(resume.last_model)
        self.totals = resume.totals.model_copy()
        self.plan = resume.plan

    async def __call__(self, event: EngineEvent) -> None:
        if isinstance(event, AttemptStarted):
            number = self.attempts.get(event.workstream, 0) + 1
            self.attempts[event.workstream] = number
            self.last_model[event.workstream] = event.model
            if event.attempt_no != number:  # a rerun: the chain counts from 1 again
                event = event.model_copy(update={"attempt_no": number})
        elif isinstance(event, AttemptFinished):
            self.usage.setdefault(event.workstream, TokenTotals()).add(event.usage)
            self.totals.add(event.usage)
        elif isinstance(event, PlanReady):
            self.plan = event.plan
        await self._fanout(event)

    def usage_of(self, key: str) -> TokenTotals:
        return self.usage.get(key, TokenTotals()).model_copy()
