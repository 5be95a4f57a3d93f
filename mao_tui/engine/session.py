"""Run one session: every workstream as its own asyncio task, each through its fallback chain,
then synthesis over the successful outputs. Everything that happens is an event to the sinks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EngineEvent,
    EventSink,
    FallbackEvent,
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
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.pricing import totals_for
from mao_tui.engine.prompts import render
from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    ModelRequest,
    ProviderError,
    TextDelta,
    ThinkingDelta,
    Usage,
)
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


@dataclass
class Outcome:
    """What a workstream ended with: the text used downstream and the model that wrote it."""

    status: WorkstreamStatus
    model: str | None = None
    text: str = ""
    usage: TokenTotals = field(default_factory=TokenTotals)


@dataclass(frozen=True)
class _AttemptResult:
    text: str
    usage: TokenTotals
    error: tuple[str, str] | None = None  # (kind, message) when the attempt failed


class _Fanout:
    def __init__(self, sinks: Sequence[EventSink]) -> None:
        self._sinks = list(sinks)

    async def __call__(self, event: EngineEvent) -> None:
        for sink in self._sinks:
            await sink(event)


class SessionEngine:
    def __init__(self, settings: Settings, pool: ProviderPool, sinks: Sequence[EventSink]) -> None:
        self._settings = settings
        self._pool = pool
        self._emit = _Fanout(sinks)

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
            return await self._run_chain(req, ws, self._prompt_for(req, plan, ws, inputs))

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
            outcome = await self._run_chain(req, ws, (system, prompt), announce=False)
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

    async def _run_chain(
        self,
        req: SessionRequest,
        ws: PlannedWorkstream,
        prompts: tuple[str, str],
        *,
        announce: bool = True,
    ) -> Outcome:
        """Try each model of the chain in turn; every failure becomes a fallback event."""
        usage = TokenTotals()
        attempt_no = 0
        outcome = Outcome(WorkstreamStatus.FAILED, usage=usage)
        for i, model_id in enumerate(ws.chain):
            nxt = ws.chain[i + 1] if i + 1 < len(ws.chain) else None
            provider_id = self._settings.model(model_id).provider
            if not self._pool.has_key(provider_id):
                await self._fallback(
                    req,
                    ws,
                    model_id,
                    nxt,
                    "no API key",
                    f"no key in {self._key_names(provider_id)}",
                )
                continue
            attempt_no += 1
            result = await self._attempt(req, ws, model_id, attempt_no, prompts)
            usage.add(result.usage)
            if result.error is None:
                outcome = Outcome(WorkstreamStatus.DONE, model_id, result.text, usage)
                break
            await self._fallback(req, ws, model_id, nxt, result.error[0], result.error[1])
        if announce:
            await self._emit(
                WorkstreamFinished(
                    session_id=req.session_id,
                    workstream=ws.key,
                    model=outcome.model,
                    status=outcome.status,
                    usage=usage,
                )
            )
        return outcome

    def _key_names(self, provider_id: str) -> str:
        return " or ".join(self._settings.registry.providers[provider_id].api_key_env)

    async def _fallback(
        self,
        req: SessionRequest,
        ws: PlannedWorkstream,
        from_model: str,
        to_model: str | None,
        reason: str,
        detail: str,
    ) -> None:
        await self._emit(
            FallbackEvent(
                session_id=req.session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                from_model=from_model,
                to_model=to_model,
                reason=reason,
                detail=detail,
            )
        )

    async def _attempt(
        self,
        req: SessionRequest,
        ws: PlannedWorkstream,
        model_id: str,
        attempt_no: int,
        prompts: tuple[str, str],
    ) -> _AttemptResult:
        """One model call, from AttemptStarted to AttemptFinished."""
        model = self._settings.model(model_id)
        provider, limit = self._pool.get(model.provider)
        cfg = self._settings.registry.providers[model.provider]
        request = ModelRequest(
            model_id=model_id,
            api_model=model.api_model,
            system=prompts[0],
            prompt=prompts[1],
            max_output_tokens=model.max_output_tokens,
            thinking=model.thinking,
            timeout_s=cfg.timeout_s,
        )
        attempt_id = new_id()
        sid = req.session_id
        await self._emit(
            AttemptStarted(
                session_id=sid,
                attempt_id=attempt_id,
                workstream=ws.key,
                model=model_id,
                provider=model.provider,
                api_model=model.api_model,
                attempt_no=attempt_no,
                thinking=model.thinking is not None,
            )
        )
        started = time.monotonic()
        text: list[str] = []
        usage = Usage()
        finished = False

        async def end(status: AttemptStatus, kind: str | None, message: str | None) -> None:
            totals = totals_for(usage, model.prices)
            await self._emit(
                AttemptFinished(
                    session_id=sid,
                    attempt_id=attempt_id,
                    workstream=ws.key,
                    model=model_id,
                    status=status,
                    error_kind=kind,
                    error_message=message,
                    usage=totals,
                    elapsed_s=time.monotonic() - started,
                )
            )

        try:
            async with limit:
                async for ev in provider.stream(request):
                    if isinstance(ev, ThinkingDelta):
                        await self._emit(
                            Delta(
                                session_id=sid,
                                attempt_id=attempt_id,
                                workstream=ws.key,
                                channel="thinking",
                                text=ev.text,
                            )
                        )
                    elif isinstance(ev, TextDelta):
                        text.append(ev.text)
                        await self._emit(
                            Delta(
                                session_id=sid,
                                attempt_id=attempt_id,
                                workstream=ws.key,
                                channel="text",
                                text=ev.text,
                            )
                        )
                    elif isinstance(ev, Usage):
                        usage = ev
                    elif isinstance(ev, Finished):
                        finished = True
            if not finished:
                raise ProviderError(ErrorKind.TRUNCATED, "stream ended without a finish event")
        except ProviderError as exc:
            await end(AttemptStatus.FAILED, exc.kind.value, exc.message)
            return _AttemptResult(
                "", totals_for(usage, model.prices), (exc.kind.value, exc.message)
            )
        except asyncio.CancelledError:
            await asyncio.shield(end(AttemptStatus.FAILED, ErrorKind.CANCELLED.value, "cancelled"))
            raise
        except Exception as exc:  # an unmapped failure must still end the attempt and fall back
            message = f"{type(exc).__name__}: {exc}"
            await end(AttemptStatus.FAILED, "internal", message)
            return _AttemptResult("", totals_for(usage, model.prices), ("internal", message))
        await end(AttemptStatus.OK, None, None)
        return _AttemptResult("".join(text), totals_for(usage, model.prices))


def _format_outputs(items: list[tuple[PlannedWorkstream, Outcome]], settings: Settings) -> str:
    parts = []
    for ws, outcome in items:
        name = outcome.model or "?"
        if outcome.model in settings.registry.models:
            name = settings.model(outcome.model).display_name or outcome.model
        parts.append(f"### {ws.title} (by {name})\n\n{outcome.text.strip()}\n")
    return "\n".join(parts) if parts else "(none)"
