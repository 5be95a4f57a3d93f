"""One workstream through its model chain: attempts, fallbacks, and the events for each.

The policy (what to do after each kind of failure) lives here; the session only asks for an
:class:`Outcome` per workstream.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EngineEvent,
    EventSink,
    FallbackEvent,
    PlannedWorkstream,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
    new_id,
)
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.pricing import totals_for
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


class Fanout:
    """Sends each event to every sink, in order."""

    def __init__(self, sinks: list[EventSink]) -> None:
        self._sinks = sinks

    async def __call__(self, event: EngineEvent) -> None:
        for sink in self._sinks:
            await sink(event)


class ChainRunner:
    """Runs one workstream's prompt through its chain until a model succeeds or none is left."""

    def __init__(self, settings: Settings, pool: ProviderPool, emit: EventSink) -> None:
        self._settings = settings
        self._pool = pool
        self._emit = emit

    async def run_chain(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: tuple[str, str],
        *,
        announce: bool = True,
    ) -> Outcome:
        """Try each model of ``ws.chain`` in turn; every failure becomes a fallback event.
        ``announce`` emits WorkstreamFinished at the end (synthesis reports itself instead)."""
        usage = TokenTotals()
        attempt_no = 0
        outcome = Outcome(WorkstreamStatus.FAILED, usage=usage)
        for i, model_id in enumerate(ws.chain):
            nxt = ws.chain[i + 1] if i + 1 < len(ws.chain) else None
            provider_id = self._settings.model(model_id).provider
            if not self._pool.has_key(provider_id):
                await self._fallback(
                    session_id,
                    ws,
                    model_id,
                    nxt,
                    "no API key",
                    f"no key in {self._key_names(provider_id)}",
                )
                continue
            attempt_no += 1
            result = await self._attempt(session_id, ws, model_id, attempt_no, prompts)
            usage.add(result.usage)
            if result.error is None:
                outcome = Outcome(WorkstreamStatus.DONE, model_id, result.text, usage)
                break
            await self._fallback(session_id, ws, model_id, nxt, result.error[0], result.error[1])
        if announce:
            await self._emit(
                WorkstreamFinished(
                    session_id=session_id,
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
        session_id: str,
        ws: PlannedWorkstream,
        from_model: str,
        to_model: str | None,
        reason: str,
        detail: str,
    ) -> None:
        await self._emit(
            FallbackEvent(
                session_id=session_id,
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
        session_id: str,
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
        sid = session_id
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
