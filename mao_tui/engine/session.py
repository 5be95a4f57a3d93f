"""Run one session: every workstream as its own asyncio task, each through its fallback chain,
then synthesis over the successful outputs. Everything that happens is an event to the sinks.

:class:`SessionRun` is one run, start to end (what headless sessions use). The dashboard's
session stays open for reruns after that run: the
:class:`~mao_tui.engine.controller.LiveSessionController` is a :class:`SessionRun` whose
workstreams run in slots it can cancel and replace. Two classes because a headless run needs
none of the slots, reruns and reopening, and the controller needs all of the run. The
playbook's output kind (:mod:`mao_tui.engine.output`) is a piece either of them is given, not a
subclass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

from mao_tui.domain import (
    EventSink,
    Plan,
    PlannedWorkstream,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.budget_events import CostEstimated
from mao_tui.domain.errors import StoreUnwritableError
from mao_tui.engine.candidates import (
    CandidateRace,
    CandidateVerifier,
    candidate_models,
    with_candidates,
)
from mao_tui.engine.chain import ChainRunner, Fanout, Outcome, Prompts
from mao_tui.engine.cost_budget import CostBudget
from mao_tui.engine.ledger import ProvenanceKeeper
from mao_tui.engine.orchestrator_plan import Planner
from mao_tui.engine.output import EngineHooks, OutputKind
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.repo_context import (
    RepoContext,
    RepoFile,
    answer_section,
    load_context,
    map_finding,
    repo_findings,
    requested_files,
    synthesis_section,
)
from mao_tui.engine.request import SessionRequest as SessionRequest
from mao_tui.engine.session_prompts import (
    synthesis_outputs,
    synthesis_prompts,
    workstream_prompts,
)
from mao_tui.settings.schema import Settings


class SessionRun:
    """One session, start to end: pre-flight, planning, workstreams, synthesis."""

    def __init__(
        self,
        settings: Settings,
        pool: ProviderPool,
        sinks: Sequence[EventSink],
        *,
        max_parallel: int | None = None,
        output: OutputKind | None = None,
        verifier: CandidateVerifier | None = None,
    ) -> None:
        self._output = output or OutputKind()
        self._settings = settings
        self._pool = pool
        self.budget = CostBudget(settings)  # no limit until configured (service/budget_setup.py)
        self._emit = Fanout([*sinks, self.budget.observe])
        self.budget.bind(self._emit)
        self._chains = ChainRunner(settings, pool, self._emit, budget=self.budget)
        self._planner = Planner(settings, pool, self._chains, self._emit)
        self._race = CandidateRace(
            settings, self._emit, self._race_chain, pool.has_key, verifier, self._review_chain
        )  # workstreams whose plan row asks for candidates (engine/candidates.py)
        self._limit = asyncio.Semaphore(max_parallel) if max_parallel else None
        self._undelivered: str | None = None  # why the last synthesis's output was not written
        self._repo_files: dict[str, list[RepoFile]] = {}  # per workstream, in a git repository
        self._repo_context: RepoContext | None = None

    async def run(self, req: SessionRequest, draft: Plan) -> SessionFinished:
        """Pre-flight, planning (unless the request fixes the plan), workstreams, synthesis."""
        sid = req.session_id
        started = time.monotonic()
        totals = TokenTotals()
        await self._emit(
            SessionStarted(
                session_id=sid,
                command=req.command,
                playbook=req.playbook,
                task=req.task,
                simulated=req.simulated,
                project_dir=str(req.project_dir),
                spec_text=req.spec_text,
            )
        )
        status, error = SessionStatus.FAILED, None
        try:
            await self._pool.warm()
            plan = await self._make_plan(req, draft)
            totals.add(self._planner.usage)
            await self._emit(PlanReady(session_id=sid, plan=plan))
            await self._emit(self.estimate(req, plan))
            blocking = [f.message for f in plan.findings if f.severity == "blocking"]
            if blocking:
                error = "pre-flight: " + "; ".join(blocking)
                return await self._finish(sid, SessionStatus.FAILED, totals, started, error)
            outcomes = await self._run_workstreams(req, plan)
            for o in outcomes.values():
                totals.add(o.usage)
            failed = [k for k, o in outcomes.items() if o.status != WorkstreamStatus.DONE]
            synthesis = await self._synthesize(req, plan, outcomes)
            totals.add(synthesis.usage)
            if synthesis.status == WorkstreamStatus.DONE and not failed:
                status = SessionStatus.DONE
            elif self.budget.stopped is not None:
                error = self.budget.stopped
            elif failed:
                error = f"{len(failed)} workstream(s) did not finish: {', '.join(failed)}"
            else:
                error = self._undelivered or "synthesis failed"
        except asyncio.CancelledError:
            status, error = SessionStatus.CANCELLED, "cancelled"
            await asyncio.shield(self._finish(sid, status, totals, started, error))
            raise
        except BaseException as exc:
            why = str(exc) if isinstance(exc, StoreUnwritableError) else f"internal error: {exc}"
            await asyncio.shield(self._finish(sid, SessionStatus.FAILED, totals, started, why))
            raise
        return await self._finish(sid, status, totals, started, error)

    async def run_workstream(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        *,
        announce: bool = True,
    ) -> Outcome:
        """Where every workstream and the synthesis run (a controller steers them from
        :meth:`_run_chain`); the output kind checks the answers it checks."""
        check = self._output.check
        if check is None or not check.checks(ws):
            return await self._run_chain(session_id, ws, prompts, announce=announce)
        first = await self._run_chain(session_id, ws, prompts, announce=False)
        final, detail = await check.settle(self._hooks, session_id, ws, prompts, first)
        if announce:
            await self._emit(final.finished(session_id, ws.key, detail))
        return final

    async def _run_chain(
        self, session_id: str, ws: PlannedWorkstream, prompts: Prompts, *, announce: bool
    ) -> Outcome:
        return await self._chains.run_chain(session_id, ws, prompts, announce=announce)

    @property
    def provenance(self) -> ProvenanceKeeper:
        """The races' answers, for the ledger's file provenance (the apply adds to it)."""
        return self._race.ledger

    def estimate(self, req: SessionRequest, plan: Plan) -> CostEstimated:
        """The plan's expected cost, from the prompts its primary models will be sent."""

        def prompt_of(ws: PlannedWorkstream, model_id: str) -> tuple[str, str]:
            prompts = self._prompt_for(req, plan, ws, [])
            return prompts(model_id) if callable(prompts) else prompts

        def synthesis_prompt(ws: PlannedWorkstream, model_id: str) -> tuple[str, str]:
            del ws  # the plan's synthesis, as _synthesize sends it, with no outputs yet
            extra = self._synthesis_extra()
            prompts = synthesis_prompts(self._settings, req, plan, "", {}, extra)
            return prompts(model_id)

        def models_of(ws: PlannedWorkstream) -> list[str]:  # a race: every candidate counts
            return candidate_models(self._settings, ws, self._pool.has_key) if ws.candidates else []

        return self.budget.estimate(req.session_id, plan, prompt_of, synthesis_prompt, models_of)

    @property
    def _hooks(self) -> EngineHooks:
        async def run_once(session_id: str, ws: PlannedWorkstream, prompts: Prompts) -> Outcome:
            return await self._run_chain(session_id, ws, prompts, announce=False)

        return EngineHooks(self._emit, run_once, self._combined_usage)

    def _combined_usage(self, first: Outcome, second: Outcome) -> TokenTotals:
        return _both_usages(first, second)

    async def _finish(
        self,
        sid: str,
        status: SessionStatus,
        totals: TokenTotals,
        started: float,
        error: str | None,
    ) -> SessionFinished:
        finished = SessionFinished(
            session_id=sid,
            status=status,
            totals=totals,
            elapsed_s=time.monotonic() - started,
            error=error,
        )
        await self._emit(finished)
        return finished

    async def _make_plan(self, req: SessionRequest, draft: Plan) -> Plan:
        if req.fixed_plan is not None:
            context = await load_context(req.repository, req.task) if req.repository else None
            fixed = with_candidates(
                self._settings, req.fixed_plan, req.candidates, req.cross_review
            )
            return self._with_repository(req, fixed, context)
        planner = self._planner
        playbook = self._settings.playbooks.get(req.playbook)
        use_planner = req.use_planner and (playbook is None or playbook.planner)
        findings = await planner.preflight(
            req.session_id,
            req.task,
            req.spec_text,
            req.sections,
            req.project_dir,
            use_model=use_planner,
        )
        plan = draft
        blocked = any(f.severity == "blocking" for f in findings)
        context = await load_context(req.repository, req.task) if req.repository else None
        if use_planner and not blocked:
            repo_map = context.map_section() if context else ""
            plan = await planner.plan(req.session_id, req.task, req.spec_text, draft, repo_map)
        plan = self._with_repository(req, plan.model_copy(update={"findings": findings}), context)
        # Races asked for are shown in review, where they can be changed: its answer is final.
        plan = with_candidates(self._settings, plan, req.candidates, req.cross_review)
        if req.review is not None and not blocked:
            await self._emit(self.estimate(req, plan))  # shown while the plan is reviewed
            reviewed = await req.review(plan)
            if reviewed is None:
                raise asyncio.CancelledError("the plan was not accepted")
            plan = reviewed
        return plan

    async def _run_answering(self, sid: str, ws: PlannedWorkstream, prompts: Prompts) -> Outcome:
        """Run ``ws``; in a git repository, when it asks for files (once), run it again with
        them. The outcome is the second run's, with both runs' usage."""
        if ws.candidates:
            return await self._settle_race(sid, ws, await self._race.run(sid, ws, prompts))
        outcome = await self.run_workstream(sid, ws, prompts)
        context = self._repo_context
        if context is None or not self._repo_files.get(ws.key):  # it was not told it may ask
            return outcome
        if outcome.status is not WorkstreamStatus.DONE:
            return outcome
        asked = requested_files(outcome.text)
        if not asked:
            return outcome
        reply = answer_section(*context.read(asked))

        def answered(model_id: str) -> tuple[str, str]:
            system, prompt = prompts(model_id) if callable(prompts) else prompts
            return system, f"{prompt}\n\n{reply}"

        again = await self.run_workstream(sid, ws, answered)
        usage = TokenTotals()
        usage.add(outcome.usage)
        usage.add(again.usage)
        return replace(again, usage=usage)

    async def _race_chain(
        self, session_id: str, ws: PlannedWorkstream, prompts: Prompts
    ) -> Outcome:
        """A candidate: its model alone, its answer checked as the output kind checks the
        workstream's (qa: validated, repaired once on the same model)."""
        first = await self._review_chain(session_id, ws, prompts)
        check = self._output.check
        if check is None or not check.checks(ws):
            return first
        hooks = EngineHooks(self._emit, self._review_chain, _both_usages)
        final, _ = await check.settle(hooks, session_id, ws, prompts, first)
        return final

    async def _review_chain(
        self, session_id: str, ws: PlannedWorkstream, prompts: Prompts
    ) -> Outcome:
        """One call of a race (a candidate's, a cross-review's) on its chain, unannounced."""
        return await self._chains.run_chain(session_id, ws, prompts, announce=False)

    async def _settle_race(
        self, session_id: str, ws: PlannedWorkstream, outcome: Outcome
    ) -> Outcome:
        """A race's selected outcome, announced (the controller keeps it for reruns too)."""
        detail = "" if outcome.status is WorkstreamStatus.DONE else outcome.reason
        await self._emit(outcome.finished(session_id, ws.key, detail))
        return outcome

    def _with_repository(
        self, req: SessionRequest, plan: Plan, context: RepoContext | None
    ) -> Plan:
        """``plan`` with the repository's findings; for a playbook that writes files, each
        workstream's files chosen."""
        if context is None:
            return plan
        self._repo_context = context
        playbook = self._settings.playbooks.get(req.playbook)
        if playbook is None or playbook.output != "files":  # qa: the map for the plan only
            return plan.model_copy(update={"findings": [*plan.findings, map_finding(context)]})
        self._repo_files, found = repo_findings(context, req.task, plan)
        return plan.model_copy(update={"findings": [*plan.findings, *found]})

    async def _run_workstreams(self, req: SessionRequest, plan: Plan) -> dict[str, Outcome]:
        tasks: dict[str, asyncio.Task[Outcome]] = {}

        async def run_one(ws: PlannedWorkstream) -> Outcome:
            inputs: list[tuple[PlannedWorkstream, Outcome]] = []
            for dep in ws.depends_on:
                inputs.append((by_key[dep], await tasks[dep]))
            missing = [d.title for d, o in inputs if o.status != WorkstreamStatus.DONE]
            if missing:
                outcome = Outcome(WorkstreamStatus.BLOCKED)
                await self._emit(
                    WorkstreamFinished(
                        session_id=req.session_id,
                        workstream=ws.key,
                        model=None,
                        status=outcome.status,
                        detail=f"blocked: {', '.join(missing)} did not finish",
                    )
                )
                return outcome
            prompts = self._prompt_for(req, plan, ws, inputs)
            if self._limit is None:
                return await self._run_answering(req.session_id, ws, prompts)
            async with self._limit:
                return await self._run_answering(req.session_id, ws, prompts)

        by_key = {ws.key: ws for ws in plan.workstreams}
        for ws in plan.workstreams:
            tasks[ws.key] = asyncio.create_task(run_one(ws), name=f"ws-{ws.key}")
        try:
            await asyncio.gather(*tasks.values())
        except BaseException:
            for t in tasks.values():
                t.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise
        return {k: t.result() for k, t in tasks.items()}

    def _prompt_for(
        self,
        req: SessionRequest,
        plan: Plan,
        ws: PlannedWorkstream,
        inputs: list[tuple[PlannedWorkstream, Outcome]],
    ) -> Prompts:
        """The workstream's prompts for whichever model of its chain runs the attempt."""
        files = self._repo_files.get(ws.key)
        return workstream_prompts(self._settings, req, plan, ws, inputs, files)

    def _synthesis_extra(self) -> str:
        """In a git repository: the workstreams' files, and how to edit them by hunks."""
        return synthesis_section(self._repo_files) if self._repo_files else ""

    async def _synthesize(
        self, req: SessionRequest, plan: Plan, outcomes: dict[str, Outcome]
    ) -> Outcome:
        ws = plan.synthesis
        values_of = self._output.prompt_values
        extra = values_of(req, plan, outcomes) if values_of is not None else {}
        done = [(w, outcomes[w.key]) for w in plan.workstreams]
        missing = [(w, o) for w, o in done if o.status != WorkstreamStatus.DONE]
        done = [(w, o) for w, o in done if o.status == WorkstreamStatus.DONE]
        if not done:
            outcome = Outcome(WorkstreamStatus.FAILED)
        else:
            prompts = synthesis_prompts(
                self._settings,
                req,
                plan,
                synthesis_outputs(done, missing, self._settings),
                extra,
                self._synthesis_extra(),
            )
            outcome = await self.run_workstream(req.session_id, ws, prompts, announce=False)
        await self._emit(
            SynthesisFinished(
                session_id=req.session_id,
                model=outcome.model,
                status=outcome.status,
                text=outcome.text,
                usage=outcome.usage,
            )
        )
        if outcome.status is WorkstreamStatus.DONE:  # the ledger: where its files came from
            verifier = self._race.verifier
            root = verifier.workspace if verifier is not None else req.project_dir
            await self._race.ledger.after_synthesis(
                req.session_id, root, outcome.text, outcome.model
            )
        self._undelivered = None
        if self._output.deliver is not None:
            outcome, self._undelivered = await self._output.deliver(self._hooks, req, outcome)
        return outcome


def _both_usages(first: Outcome, second: Outcome) -> TokenTotals:
    usage = first.usage.model_copy()
    usage.add(second.usage)
    return usage
