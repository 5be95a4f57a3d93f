"""Run one session: every workstream as its own asyncio task, each through its fallback chain,
then synthesis over the successful outputs. Everything that happens is an event to the sinks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    new_id,
)
from mao_tui.engine.chain import ChainRunner, Fanout, Outcome
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.prompts import render
from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class SessionRequest:
    command: str
    playbook: str
    task: str
    spec_text: str = ""
    simulated: bool = False
    project_dir: Path = field(default_factory=Path.cwd)
    session_id: str = field(default_factory=new_id)


class SessionEngine:
    def __init__(self, settings: Settings, pool: ProviderPool, sinks: Sequence[EventSink]) -> None:
        self._settings = settings
        self._emit = Fanout(list(sinks))
        self._chains = ChainRunner(settings, pool, self._emit)

    async def run(self, req: SessionRequest, plan: Plan) -> SessionFinished:
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
            )
        )
        await self._emit(PlanReady(session_id=sid, plan=plan))
        status, error = SessionStatus.FAILED, None
        try:
            outcomes = await self._run_workstreams(req, plan)
            for o in outcomes.values():
                totals.add(o.usage)
            failed = [k for k, o in outcomes.items() if o.status != WorkstreamStatus.DONE]
            synthesis = await self._synthesize(req, plan, outcomes)
            totals.add(synthesis.usage)
            if synthesis.status == WorkstreamStatus.DONE and not failed:
                status = SessionStatus.DONE
            elif failed:
                error = f"{len(failed)} workstream(s) failed: {', '.join(failed)}"
            else:
                error = "synthesis failed"
        except asyncio.CancelledError:
            status, error = SessionStatus.CANCELLED, "cancelled"
            raise
        finally:
            finished = SessionFinished(
                session_id=sid,
                status=status,
                totals=totals,
                elapsed_s=time.monotonic() - started,
                error=error,
            )
            await asyncio.shield(self._emit(finished))
        return finished

    async def _run_workstreams(self, req: SessionRequest, plan: Plan) -> dict[str, Outcome]:
        tasks: dict[str, asyncio.Task[Outcome]] = {}

        async def run_one(ws: PlannedWorkstream) -> Outcome:
            inputs: list[tuple[PlannedWorkstream, Outcome]] = []
            for dep in ws.depends_on:
                inputs.append((by_key[dep], await tasks[dep]))
            if any(o.status != WorkstreamStatus.DONE for _, o in inputs):
                outcome = Outcome(WorkstreamStatus.FAILED)
                await self._emit(
                    WorkstreamFinished(
                        session_id=req.session_id,
                        workstream=ws.key,
                        model=None,
                        status=outcome.status,
                    )
                )
                return outcome
            return await self._chains.run_chain(
                req.session_id, ws, self._prompt_for(req, plan, ws, inputs)
            )

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
    ) -> tuple[str, str]:
        pb = self._settings.playbooks[plan.playbook]
        template = next(w.prompt for w in pb.workstreams if w.key == ws.key)
        values = {
            "task": req.task,
            "spec": req.spec_text or "(no spec given)",
            "title": ws.title,
            "key": ws.key,
            "inputs": _format_outputs(inputs, self._settings),
        }
        return render(self._settings, pb.system_prompt, values), render(
            self._settings, template, values
        )

    async def _synthesize(
        self, req: SessionRequest, plan: Plan, outcomes: dict[str, Outcome]
    ) -> Outcome:
        ws = plan.synthesis
        done = [(w, outcomes[w.key]) for w in plan.workstreams]
        done = [(w, o) for w, o in done if o.status == WorkstreamStatus.DONE]
        if not done:
            outcome = Outcome(WorkstreamStatus.FAILED)
        else:
            pb = self._settings.playbooks[plan.playbook]
            values = {
                "task": req.task,
                "spec": req.spec_text or "(no spec given)",
                "title": ws.title,
                "key": ws.key,
                "outputs": _format_outputs(done, self._settings),
            }
            system = render(self._settings, pb.system_prompt, values)
            prompt = render(self._settings, pb.synthesis.prompt, values)
            outcome = await self._chains.run_chain(
                req.session_id, ws, (system, prompt), announce=False
            )
        await self._emit(
            SynthesisFinished(
                session_id=req.session_id,
                model=outcome.model,
                status=outcome.status,
                text=outcome.text,
                usage=outcome.usage,
            )
        )
        return outcome


def _format_outputs(items: list[tuple[PlannedWorkstream, Outcome]], settings: Settings) -> str:
    parts = []
    for ws, outcome in items:
        name = outcome.model or "?"
        if outcome.model in settings.registry.models:
            name = settings.model(outcome.model).display_name or outcome.model
        parts.append(f"### {ws.title} (by {name})\n\n{outcome.text.strip()}\n")
    return "\n".join(parts) if parts else "(none)"
