"""What the dashboard's compare view and race key ask of a live session (issue 19), as a mixin
of :class:`~mao_tui.engine.controller.LiveSessionController`: pick which attempt's (or race
candidate's) answer a workstream's output is, and race a workstream again on N candidates.

A pick replaces the workstream's latest output, the one every synthesis from then on is given
(the first run's too, when the pick comes before it starts); it is an ``output_picked`` event,
so the store keeps it. A synthesis that has already run is not redone here: the event says so
and the dashboard offers to synthesize again. A race rerun is the candidate race of
``engine/candidates.py`` on the workstream's inputs as they stand, settled like a rerun.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mao_tui.domain import SYNTHESIS_KEY, PlannedWorkstream, WorkstreamStatus
from mao_tui.domain.errors import ControlError
from mao_tui.domain.pick_events import OutputPicked
from mao_tui.engine.chain import Outcome

if TYPE_CHECKING:
    from mao_tui.domain import Plan
    from mao_tui.engine.candidates import CandidateRace
    from mao_tui.engine.chain import Fanout, Prompts
    from mao_tui.engine.request import SessionRequest

MAX_CANDIDATES = 6


class EnsembleSteering:
    """Picks and race reruns; the controller holds the state they change."""

    if TYPE_CHECKING:  # the controller's
        req: SessionRequest
        _latest: dict[str, Outcome]
        _status: dict[str, WorkstreamStatus]
        _race: CandidateRace

        _emit: Fanout

        def _require_plan(self) -> Plan: ...

        def running(self, key: str) -> bool: ...

        @property
        def _first_run_active(self) -> bool: ...

        def _inputs_for(self, ws: PlannedWorkstream) -> list[tuple[PlannedWorkstream, Outcome]]: ...

        def _start(self, work: Coroutine[Any, Any, None], reason: str) -> None: ...

        def _prompt_for(
            self,
            req: SessionRequest,
            plan: Plan,
            ws: PlannedWorkstream,
            inputs: list[tuple[PlannedWorkstream, Outcome]],
        ) -> Prompts: ...

        async def _settle_race(
            self, session_id: str, ws: PlannedWorkstream, outcome: Outcome
        ) -> Outcome: ...

    _picked: dict[str, Outcome]  # per workstream: the output picked since its latest run
    _racing: set[str]  # workstreams racing again

    def _steerable(self, key: str) -> PlannedWorkstream:
        if key == SYNTHESIS_KEY:
            raise ControlError("the synthesis is not picked nor raced: s synthesizes again")
        ws = next((w for w in self._require_plan().workstreams if w.key == key), None)
        if ws is None:
            raise ControlError(f"no workstream {key!r} in this session's plan")
        if self.running(key) or key in self._racing:
            raise ControlError(f"{ws.title} is running; wait for it (or x cancels it)")
        return ws

    async def pick(
        self,
        key: str,
        attempt_id: str,
        attempt_no: int,
        model: str,
        text: str,
        candidate: int | None = None,
    ) -> OutputPicked:
        """Make ``attempt_id``'s answer (``text``, by ``model``) ``key``'s output."""
        ws = self._steerable(key)
        if not text.strip():
            raise ControlError(f"attempt {attempt_no} of {ws.title} has no answer to pick")
        self.adopt(key, model, text)
        event = OutputPicked(
            session_id=self.req.session_id,
            workstream=key,
            workstream_title=ws.title,
            attempt_id=attempt_id,
            attempt_no=attempt_no,
            model=model,
            candidate=candidate,
            synthesized=SYNTHESIS_KEY in self._status,
        )
        await self._emit(event)
        return event

    def adopt(self, key: str, model: str, text: str) -> None:
        """``text`` is ``key``'s output from now on (a pick, or a stored one on review)."""
        earlier = self._latest.get(key)
        usage = earlier.usage if earlier is not None else None
        picked = Outcome(WorkstreamStatus.DONE, model, text)
        if usage is not None:
            picked.usage = usage
        self._latest[key] = self._picked[key] = picked
        self._status[key] = WorkstreamStatus.DONE

    def race(self, key: str, count: int) -> None:
        """Run ``key`` again as a race of ``count`` candidates."""
        ws = self._steerable(key)
        if not 2 <= count <= MAX_CANDIDATES:
            raise ControlError(f"a race has 2 to {MAX_CANDIDATES} candidates (got {count})")
        if self._first_run_active and key not in self._status:
            raise ControlError(f"{ws.title} has not started yet: it waits for its inputs")
        inputs = self._inputs_for(ws)
        self._racing.add(key)
        raced = ws.model_copy(update={"candidates": count})
        self._start(self._race_again(raced, inputs), f"race {key} on {count} candidates")

    async def _race_again(
        self, ws: PlannedWorkstream, inputs: list[tuple[PlannedWorkstream, Outcome]]
    ) -> None:
        try:
            prompts = self._prompt_for(self.req, self._require_plan(), ws, inputs)
            outcome = await self._race.run(self.req.session_id, ws, prompts)
            await self._settle_race(self.req.session_id, ws, outcome)
        finally:
            self._racing.discard(ws.key)
