"""A session that stays alive after its first run: rerun one workstream (on the same model or
another), cancel one, synthesize again from the latest successful outputs.

Everything it does is engine events, so the store persists it and the dashboard renders it like
the first run: a rerun is a new attempt (``AttemptStarted`` … ``WorkstreamFinished``), a new
synthesis a new ``SynthesisFinished``. Work started after the session had finished is framed by
``SessionReopened`` and a fresh ``SessionFinished`` whose totals include everything.

:class:`LiveSessionController` is the :class:`~mao_tui.engine.session.SessionRun` whose
workstreams run in slots, one per workstream: each slot holds the task of the chain running for
it, which a cancel stops and a rerun replaces. It is the run plus what keeps it open (slots,
reruns, reopening and ending again), so headless runs keep the plain :class:`SessionRun`. For
review, :func:`mao_tui.engine.resume.resume_from` rebuilds the state of a stored session (its
latest successful outputs, usage and attempt counts) so that the same controller can rerun it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from mao_tui.domain import (
    SYNTHESIS_KEY,
    EngineEvent,
    EventSink,
    Plan,
    PlannedWorkstream,
    PlanReady,
    SessionFinished,
    SessionReopened,
    SessionStatus,
    TokenTotals,
    WorkstreamStatus,
)
from mao_tui.domain.errors import ControlError
from mao_tui.engine.candidates import CandidateVerifier
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.output import OutputKind
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.resume import Resume
from mao_tui.engine.run_tally import RunTally
from mao_tui.engine.session import SessionRequest, SessionRun
from mao_tui.engine.steering import EnsembleSteering
from mao_tui.settings.schema import Settings

log = logging.getLogger(__name__)

# The template_key of a workstream added after planning (a fix round): not rerun by ``r``.
FOLLOW_UP_TEMPLATE = "fix"


@dataclass
class _Slot:
    """The chain running for one workstream, and what the user asked of it meanwhile."""

    task: asyncio.Task[Outcome] | None = None
    replace_with: list[str | None] = field(default_factory=list)  # [model] when rerun while running


class LiveSessionController(EnsembleSteering, SessionRun):
    """A session the dashboard keeps open: its first run, then reruns until it is closed."""

    def __init__(
        self,
        settings: Settings,
        pool: ProviderPool,
        sinks: Sequence[EventSink],
        req: SessionRequest,
        *,
        max_parallel: int | None = None,
        resume: Resume | None = None,
        output: OutputKind | None = None,
        verifier: CandidateVerifier | None = None,
    ) -> None:
        self._ledger = RunTally(sinks)
        super().__init__(
            settings,
            pool,
            [self._ledger],
            max_parallel=max_parallel,
            output=output,
            verifier=verifier,
        )
        self.req = req
        self._slots: dict[str, _Slot] = {}
        self._latest: dict[str, Outcome] = {}
        self._status: dict[str, WorkstreamStatus] = {}
        self._model_for: dict[str, str] = {}  # the model the next run of a key must use
        self._picked: dict[str, Outcome] = {}  # engine/steering.py
        self._racing: set[str] = set()
        self._operations: set[asyncio.Task[None]] = set()
        self._first_run: asyncio.Task[SessionFinished] | None = None
        self._finished = False  # the session has reported its end (and not reopened since)
        self._elapsed_s = 0.0
        self._busy_since: float | None = None
        self._closed = False
        if resume is not None:
            self._ledger.load(resume)
            self._latest = dict(resume.latest)
            self._status = dict(resume.status)
            self._elapsed_s = resume.elapsed_s
            self._finished = True

    # -- what the UI asks -------------------------------------------------------------------

    @property
    def plan(self) -> Plan | None:
        return self._ledger.plan

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def busy(self) -> bool:
        first = self._first_run is not None and not self._first_run.done()
        return first or any(not t.done() for t in self._operations)

    def running(self, key: str) -> bool:
        slot = self._slots.get(key)
        return slot is not None and slot.task is not None and not slot.task.done()

    def last_model(self, key: str) -> str | None:
        return self._ledger.last_model.get(key)

    def has_key(self, model_id: str) -> bool:
        return self._pool.has_key(self._settings.model(model_id).provider)

    def unavailable(self, model_id: str) -> str | None:
        """Why ``model_id`` cannot run now (retired, tool not on PATH, no key), or None."""
        from mao_tui.engine import policy
        from mao_tui.engine.availability import unavailable_reason

        return unavailable_reason(self._settings, model_id, self._pool.env, policy.today())

    async def run_first(self, draft: Plan) -> SessionFinished:
        """The session's first run (planning, workstreams, synthesis), cancellable as a whole."""
        self._first_run = asyncio.create_task(self.run(self.req, draft), name="first-run")
        try:
            finished = await asyncio.shield(self._first_run)
        except asyncio.CancelledError:
            self._first_run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._first_run
            raise
        self._elapsed_s = finished.elapsed_s
        if any(not t.done() for t in self._operations):
            self._busy_since = time.monotonic()  # reruns still going: the last one reports
        else:
            self._finished = True
        return finished

    def rerun(self, key: str, model: str | None = None) -> None:
        """Run workstream ``key`` again on ``model`` (default: the model it last ran on)."""
        if key == SYNTHESIS_KEY:
            self.resynthesize(model)
            return
        plan = self._require_plan()
        ws = next((w for w in plan.workstreams if w.key == key), None)
        if ws is None:
            raise ControlError(f"no workstream {key!r} in this session's plan")
        if ws.template_key == FOLLOW_UP_TEMPLATE:
            raise ControlError(f"{ws.title} is not rerun: F runs another fix round")
        model = model or self.last_model(key) or ws.chain[0]
        self._check_model(model)
        if self._replaced(key, model):
            return
        if self._first_run_active and key not in self._status:
            raise ControlError(f"{ws.title} has not started yet: it waits for its inputs")
        inputs = self._inputs_for(ws)
        self._model_for[key] = model
        self._start(self._rerun(ws, inputs), f"rerun {key} on {model}")

    def cancel(self, key: str) -> bool:
        slot = self._slots.get(key)
        if slot is None or slot.task is None or slot.task.done():
            return False
        slot.task.cancel()
        return True

    def _replaced(self, key: str, model: str) -> bool:
        """When ``key``'s chain is running: stop it, and its slot starts again on ``model``."""
        slot = self._slots.get(key)
        if slot is None or slot.task is None or slot.task.done():
            return False
        slot.replace_with.append(model)
        slot.task.cancel()
        return True

    def resynthesize(self, model: str | None = None) -> None:
        """Synthesize again from the latest successful output of every workstream."""
        plan = self._require_plan()
        if self._first_run_active and SYNTHESIS_KEY not in self._status:
            raise ControlError("the workstreams are still running; the synthesis follows them")
        if not any(self._latest.get(ws.key) for ws in plan.workstreams):
            raise ControlError("no workstream has an output to synthesize yet")
        model = model or self.last_model(SYNTHESIS_KEY) or plan.synthesis.chain[0]
        self._check_model(model)
        if self._replaced(SYNTHESIS_KEY, model):
            return
        self._model_for[SYNTHESIS_KEY] = model
        self._start(self._resynthesize(plan), f"synthesis on {model}")

    # -- follow-up work: the fix loop (engine/fix_loop.py) ---------------------------------

    def latest_text(self, key: str) -> str | None:
        """The latest successful output of a workstream (or ``synthesis``)."""
        outcome = self._latest.get(key)
        return outcome.text if outcome is not None else None

    async def publish(self, event: EngineEvent) -> None:
        """An event of work done beside the models (files applied, verification), to every sink."""
        await self._emit(event)

    async def follow_up(self, ws: PlannedWorkstream, prompts: Prompts) -> Outcome:
        """Add ``ws`` to the plan (a fix round), run it, then synthesize again over the latest
        output of every workstream, its own included. Returns the new synthesis's outcome, or
        the workstream's when it did not finish. Framed like a rerun (``SessionReopened`` ...
        ``SessionFinished``); ``ws.template_key`` should be :data:`FOLLOW_UP_TEMPLATE`."""
        plan = self._require_plan()
        if self.busy:
            raise ControlError("models are still working; wait for them to finish")
        if any(w.key == ws.key for w in plan.workstreams):
            raise ControlError(f"the plan already has a workstream {ws.key!r}")
        grown = plan.model_copy(update={"workstreams": [*plan.workstreams, ws]})
        await self._emit(PlanReady(session_id=self.req.session_id, plan=grown))
        result: list[Outcome] = []

        async def work() -> None:
            outcome = await self.run_workstream(self.req.session_id, ws, prompts)
            if outcome.status is WorkstreamStatus.DONE:
                self._model_for.pop(SYNTHESIS_KEY, None)
                outcome = await self._synthesize(self.req, grown, self._latest_outcomes(grown))
            result.append(outcome)

        task = self._track(self._operation(work(), ws.title), f"op-{ws.key}")
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
        return result[0] if result else Outcome(WorkstreamStatus.FAILED)

    async def aclose(self) -> None:
        """Cancel everything still running and report the session's end if it had reopened."""
        self._closed = True
        tasks = [t for t in self._operations if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the seams of SessionRun ----------------------------------------------------------

    def _combined_usage(self, first: Outcome, second: Outcome) -> TokenTotals:
        return second.usage  # a workstream's usage here is every attempt's already

    async def _run_chain(
        self, session_id: str, ws: PlannedWorkstream, prompts: Prompts, *, announce: bool
    ) -> Outcome:
        key = ws.key
        slot = self._slots.setdefault(key, _Slot())
        model: str | None = self._model_for.pop(key, None)
        self._status[key] = WorkstreamStatus.RUNNING
        try:
            while True:
                chain = ws if model is None else ws.model_copy(update={"chain": [model]})
                task = asyncio.create_task(
                    self._chains.run_chain(session_id, chain, prompts, announce=False),
                    name=f"ws-{key}",
                )
                slot.task = task
                try:
                    await asyncio.wait({task})
                except asyncio.CancelledError:  # the whole session (or this operation) stops
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    raise
                if task.cancelled() and slot.replace_with:
                    model = slot.replace_with.pop()
                    slot.replace_with.clear()
                    continue
                break
        finally:
            slot.task = None
        outcome = Outcome(WorkstreamStatus.CANCELLED) if task.cancelled() else task.result()
        return await self._settle(session_id, ws, outcome, announce)

    async def _settle_race(
        self, session_id: str, ws: PlannedWorkstream, outcome: Outcome
    ) -> Outcome:
        return await self._settle(session_id, ws, outcome, True)

    async def _settle(
        self, session_id: str, ws: PlannedWorkstream, outcome: Outcome, announce: bool
    ) -> Outcome:
        key = ws.key
        detail = "cancelled" if outcome.status is WorkstreamStatus.CANCELLED else ""
        earlier = self._latest.get(key)
        if outcome.status is WorkstreamStatus.DONE:
            self._latest[key] = outcome
            self._picked.pop(key, None)  # a new answer: an earlier pick no longer holds
        elif earlier is not None and key != SYNTHESIS_KEY:
            # A rerun that failed (or was cancelled) does not undo the output the synthesis
            # uses: the workstream stays done on it, and says so.
            detail = (
                f"the rerun {outcome.status.value}; the earlier output of {earlier.model} stands"
            )
            outcome = earlier
        self._status[key] = outcome.status
        if key == SYNTHESIS_KEY:
            return outcome  # SessionRun reports it with SynthesisFinished, this run's usage
        settled = Outcome(outcome.status, outcome.model, outcome.text, self._ledger.usage_of(key))
        if announce:
            await self._emit(settled.finished(session_id, key, detail))
        return settled

    # -- operations after (or beside) the first run ---------------------------------------

    @property
    def _first_run_active(self) -> bool:
        return self._first_run is not None and not self._first_run.done()

    def _require_plan(self) -> Plan:
        if self._closed:
            raise ControlError("the session is closing")
        if self.plan is None:
            raise ControlError("the plan is not ready yet")
        return self.plan

    def _check_model(self, model: str) -> None:
        if model not in self._settings.registry.models:
            raise ControlError(f"unknown model {model!r}")
        reason = self.unavailable(model)
        if reason is not None:
            raise ControlError(f"{model} cannot run: {reason}")

    def _inputs_for(self, ws: PlannedWorkstream) -> list[tuple[PlannedWorkstream, Outcome]]:
        plan = self._require_plan()
        by_key = {w.key: w for w in plan.workstreams}
        inputs = []
        for dep in ws.depends_on:
            outcome = self._latest.get(dep)
            if outcome is None:
                title = by_key[dep].title if dep in by_key else dep
                raise ControlError(f"{ws.title} builds on {title}, which has no output yet")
            inputs.append((by_key[dep], outcome))
        return inputs

    def _start(self, work: Coroutine[Any, Any, None], reason: str) -> None:
        task = self._track(self._operation(work, reason), f"op-{reason}")
        # Cancelled before it awaited ``work`` (a dashboard closed right after a rerun): close
        # it, or Python warns that a coroutine was never awaited.
        task.add_done_callback(lambda _: work.close())

    def _track(self, operation: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(operation, name=name)
        self._operations.add(task)
        task.add_done_callback(self._operations.discard)
        return task

    async def _operation(self, work: Coroutine[Any, Any, None], reason: str) -> None:
        """One rerun or synthesis; the first that starts after the end reopens the session,
        the last that ends reports its end again."""
        if self._finished:
            self._finished = False
            self._busy_since = time.monotonic()
            await self._emit(SessionReopened(session_id=self.req.session_id, reason=reason))
        try:
            await work
        except Exception:  # a bug must not take the session down: it is logged, the end shown
            log.exception("%s failed", reason)
        finally:
            if not self._first_run_active and not any(
                not t.done() for t in self._operations if t is not asyncio.current_task()
            ):
                await asyncio.shield(self._report_end())

    async def _rerun(
        self, ws: PlannedWorkstream, inputs: list[tuple[PlannedWorkstream, Outcome]]
    ) -> None:
        prompts = self._prompt_for(self.req, self._require_plan(), ws, inputs)
        await self.run_workstream(self.req.session_id, ws, prompts)

    async def _synthesize(
        self, req: SessionRequest, plan: Plan, outcomes: dict[str, Outcome]
    ) -> Outcome:
        picked = {k: o for k, o in self._picked.items() if k in outcomes}  # the first run's too
        return await super()._synthesize(req, plan, outcomes | picked)

    async def _resynthesize(self, plan: Plan) -> None:
        await self._synthesize(self.req, plan, self._latest_outcomes(plan))

    def _latest_outcomes(self, plan: Plan) -> dict[str, Outcome]:
        """Each workstream's latest successful output, or how its latest run ended."""
        return {
            ws.key: self._latest.get(ws.key)
            or Outcome(self._status.get(ws.key, WorkstreamStatus.FAILED))
            for ws in plan.workstreams
        }

    async def _report_end(self) -> None:
        if self._finished or self._first_run_active:
            return
        if self._busy_since is not None:
            self._elapsed_s += time.monotonic() - self._busy_since
            self._busy_since = None
        self._finished = True
        plan = self.plan
        assert plan is not None  # operations start only once there is a plan
        missing = [ws.title for ws in plan.workstreams if ws.key not in self._latest]
        synthesized = SYNTHESIS_KEY in self._latest
        status, error = SessionStatus.DONE, None
        if missing:
            status, error = SessionStatus.FAILED, f"no output yet from: {', '.join(missing)}"
        elif not synthesized:
            status, error = SessionStatus.FAILED, "no synthesis yet"
        await self._emit(
            SessionFinished(
                session_id=self.req.session_id,
                status=status,
                totals=self._ledger.totals.model_copy(),
                elapsed_s=self._elapsed_s,
                error=error,
            )
        )
