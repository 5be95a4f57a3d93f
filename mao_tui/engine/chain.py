"""One workstream through its model chain: attempts, retries, fallbacks, and the events for each.

What to do after a failure is decided in :mod:`mao_tui.engine.policy`; this module carries it out:
it waits out backoffs and provider cooldowns, lowers the thinking once when a provider rejects
it, watches every stream with the first-event, idle and total timeouts, and holds each request
to its provider's concurrency limit. The session only asks for an :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    CooldownWait,
    Delta,
    EngineEvent,
    EventSink,
    FallbackEvent,
    PlannedWorkstream,
    ProviderCooldown,
    RetryScheduled,
    ThinkingDowngraded,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
    new_id,
    now,
)
from mao_tui.domain.errors import StoreUnwritableError
from mao_tui.domain.sanitize import clean
from mao_tui.engine import continuity, policy
from mao_tui.engine.continuity import CutOff
from mao_tui.engine.cost_budget import BudgetStopError, CostBudget
from mao_tui.engine.policy import Action, Failure
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.price_sources import PriceBook
from mao_tui.engine.pricing import totals_for
from mao_tui.engine.routing import unavailable_models
from mao_tui.engine.session_facts import Contact, SessionFacts
from mao_tui.engine.stream_bounds import StreamBounds
from mao_tui.providers.base import (
    Continuation,
    ErrorKind,
    Finished,
    ModelRequest,
    Progress,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.settings import roster
from mao_tui.settings.schema import ResolvedTimeouts, Settings
from mao_tui.settings.thinking import ThinkingSettings

NO_KEY_REASON = "no API key"
RETIRED_REASON = "retired"
COOLDOWN_REASON = "cooldown"
BUDGET_REASON = "budget"

Channel = Literal["thinking", "text"]
# (system, prompt), or what each model of the chain gets: a playbook's prompt variants are
# chosen by the model that actually runs the attempt, a fallback model included.
Prompts = tuple[str, str] | Callable[[str], tuple[str, str]]


@dataclass
class Outcome:
    """What a workstream ended with: the text used downstream and the model that wrote it."""

    status: WorkstreamStatus
    model: str | None = None
    text: str = ""
    usage: TokenTotals = field(default_factory=TokenTotals)
    reason: str = ""  # a failed chain: why its last model was left (a fallback reason)


@dataclass(frozen=True)
class _AttemptResult:
    text: str
    usage: TokenTotals
    failure: Failure | None = None
    partial: str = ""  # a failed attempt: the answer text it had streamed


@dataclass
class _Chain:
    """One run of a chain: who it is for, and what it has spent so far."""

    session_id: str
    ws: PlannedWorkstream
    prompts: Prompts
    attempt_no: int = 0
    usage: TokenTotals = field(default_factory=TokenTotals)
    cut_off: CutOff | None = None  # the latest failed attempt's partial answer, for the next
    contact: Contact = field(default_factory=Contact)  # first requests held for the others


class Fanout:
    """Sends each event to every sink, in order."""

    def __init__(self, sinks: list[EventSink]) -> None:
        self._sinks = sinks

    async def __call__(self, event: EngineEvent) -> None:
        """Every sink gets the event even when one fails (a full disk must not hide the end of
        a session from the terminal); then the first failure is raised."""
        failure: Exception | None = None
        for sink in self._sinks:
            try:
                await sink(event)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure


class ChainRunner:
    """Runs one workstream's prompt through its chain until a model succeeds or none is left.

    ``sleep``, ``today`` and ``random`` are the policy's clock, calendar (default
    :func:`policy.today`) and jitter; tests replace them to check delays and retirement dates
    without waiting for either. ``facts`` (default: seeded from the stored model lists) is what
    the session knows about unavailable models and refused keys (engine/session_facts.py).
    """

    def __init__(
        self,
        settings: Settings,
        pool: ProviderPool,
        emit: EventSink,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        today: Callable[[], date] | None = None,
        random: Callable[[], float] = random.random,
        facts: SessionFacts | None = None,
        budget: CostBudget | None = None,
    ) -> None:
        self._settings = settings
        self._budget = budget
        self._facts = facts or SessionFacts()
        self._pool = pool
        self._emit = emit
        self._sleep = sleep
        self._today = today
        self._random = random
        self._prices = PriceBook(settings)
        # (session, workstream, model) -> the backend's thread (PAL's continuation_id), so a
        # rerun of the workstream on the same model continues the same conversation.
        self._threads: dict[tuple[str, str, str], str] = {}

    async def run_chain(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        *,
        announce: bool = True,
    ) -> Outcome:
        """Try each model of ``ws.chain`` in turn; every failure becomes a fallback event.
        ``announce`` emits WorkstreamFinished at the end (synthesis reports itself instead)."""
        run = _Chain(session_id, ws, prompts)
        outcome = Outcome(WorkstreamStatus.FAILED, usage=run.usage)
        reason = stopped = ""
        # The plan resolved successors already; a chain from an older plan is resolved again
        # here, so no request ever goes to a model that is gone today.
        chain, late = roster.resolve_chain(
            self._settings,
            ws.chain,
            (self._today or policy.today)(),
            unavailable_models(self._settings),
        )
        for note in [*ws.substitutions, *(n for n in late if n not in ws.substitutions)]:
            to_model = note.model if note.model is not None else next(iter(chain), None)
            await self._fallback(run, note.requested, to_model, note.reason, note.detail)
        for i, model_id in enumerate(chain):
            nxt = chain[i + 1] if i + 1 < len(chain) else None
            model = self._settings.model(model_id)
            if not self._pool.has_key(model.provider):
                detail = f"no key in {self._key_names(model.provider)}"
                await self._fallback(run, model_id, nxt, NO_KEY_REASON, detail)
                continue
            fact, run.contact = await self._facts.admit(
                model_id, model.provider, first_contact=self._pool.is_http_api(model.provider)
            )
            if fact is not None:
                await self._fallback(run, model_id, nxt, fact.reason, fact.detail)
                continue
            try:
                result, reason, detail = await self._run_model(run, model_id)
            except BudgetStopError as stop:  # no attempt may start: the budget is spent
                outcome = Outcome(WorkstreamStatus.CANCELLED, usage=run.usage)
                reason, stopped = BUDGET_REASON, str(stop)
                break
            finally:
                run.contact.answered()
            if result is not None and result.failure is None:
                outcome = Outcome(WorkstreamStatus.DONE, model_id, result.text, run.usage)
                break
            if result is not None and result.failure is not None and result.partial.strip():
                name = model.display_name or model_id
                run.cut_off = CutOff(name, result.failure.kind, result.partial)
            await self._fallback(run, model_id, nxt, reason, detail)
        detail = ""
        if outcome.status is not WorkstreamStatus.DONE:
            outcome.reason = reason
            detail = f"no model finished (the last: {reason})" if reason else ""
        if stopped:
            detail = f"not run: {stopped}"
        if announce:
            await self._emit(
                WorkstreamFinished(
                    session_id=session_id,
                    workstream=ws.key,
                    model=outcome.model,
                    status=outcome.status,
                    usage=run.usage,
                    detail=detail,
                )
            )
        return outcome

    def _key_names(self, provider_id: str) -> str:
        return " or ".join(self._settings.registry.providers[provider_id].api_key_env)

    async def _run_model(
        self, run: _Chain, model_id: str
    ) -> tuple[_AttemptResult | None, str, str]:
        """Attempts on one model until it succeeds or the policy moves on.

        Returns the last attempt (None when none was made) and, if the chain must move on,
        the fallback's reason and detail.
        """
        model = self._settings.model(model_id)
        provider_id = model.provider
        rules = self._settings.retry_policy(provider_id)
        thinking = model.thinking
        retries, lowered, waited = 0, False, False
        last: _AttemptResult | None = None
        while True:
            remaining = 0.0 if waited else self._pool.cooldown_remaining(provider_id)
            if remaining > rules.retry_after_cap_s:
                detail = (
                    f"{provider_id} is cooling down for {remaining:.0f}s more, over the "
                    f"{rules.retry_after_cap_s:g}s cap"
                )
                return last, COOLDOWN_REASON, detail
            if remaining > 0:
                await self._emit(
                    CooldownWait(
                        session_id=run.session_id,
                        workstream=run.ws.key,
                        workstream_title=run.ws.title,
                        model=model_id,
                        provider=provider_id,
                        delay_s=remaining,
                    )
                )
                await self._sleep(remaining)
            waited = False
            run.attempt_no += 1
            ticket = await self._admit(run, model_id)
            try:
                last = await self._attempt(run, model_id, thinking)
            finally:
                if self._budget is not None:
                    self._budget.release(ticket)
            run.usage.add(last.usage)
            failure = last.failure
            if failure is None:
                return last, "", ""
            self._facts.learn(
                model_id, provider_id, model.api_model, failure.kind, failure.message, run.ws.title
            )
            run.contact.answered()
            if policy.starts_cooldown(failure):
                await self._cool_down(run, model_id, policy.cooldown_seconds(failure, rules))
            decision = policy.decide(
                failure,
                policy=rules,
                retries=retries,
                thinking=thinking,
                lowered=lowered,
                downgrade=model.thinking_downgrade,
                random=self._random,
            )
            if decision.action is Action.LOWER_THINKING:
                assert thinking is not None and decision.thinking is not None
                before, after = policy.describe_change(thinking, decision.thinking)
                await self._emit(
                    ThinkingDowngraded(
                        session_id=run.session_id,
                        workstream=run.ws.key,
                        workstream_title=run.ws.title,
                        model=model_id,
                        from_setting=before,
                        to_setting=after,
                        detail=failure.message,
                    )
                )
                thinking, lowered = decision.thinking, True
                continue
            if decision.action is Action.RETRY:
                delay = max(decision.delay_s, self._pool.cooldown_remaining(provider_id))
                if delay > rules.retry_after_cap_s:
                    detail = f"{provider_id} is cooling down for {delay:.0f}s: {failure.message}"
                    return last, failure.kind, detail
                retries += 1
                await self._emit(
                    RetryScheduled(
                        session_id=run.session_id,
                        workstream=run.ws.key,
                        workstream_title=run.ws.title,
                        model=model_id,
                        provider=provider_id,
                        reason=failure.kind,
                        retry_no=retries,
                        max_retries=rules.max_retries,
                        delay_s=delay,
                        detail=failure.message,
                    )
                )
                await self._sleep(delay)
                waited = True
                continue
            return last, failure.kind, decision.detail

    async def _admit(self, run: _Chain, model_id: str) -> int:
        """The budget's ticket for the next attempt (BudgetStopError: it must not start)."""
        if self._budget is None:
            return 0
        system, prompt = run.prompts(model_id) if callable(run.prompts) else run.prompts
        return await self._budget.admit(run.session_id, run.ws.key, model_id, system, prompt)

    async def _cool_down(self, run: _Chain, model_id: str, seconds: float) -> None:
        provider_id = self._settings.model(model_id).provider
        if not self._pool.start_cooldown(provider_id, seconds):
            return  # already held at least this long
        at = now()
        await self._emit(
            ProviderCooldown(
                session_id=run.session_id,
                at=at,
                provider=provider_id,
                seconds=seconds,
                until=at + timedelta(seconds=seconds),
                workstream=run.ws.key,
                workstream_title=run.ws.title,
                model=model_id,
            )
        )

    async def _fallback(
        self, run: _Chain, from_model: str, to_model: str | None, reason: str, detail: str
    ) -> None:
        await self._emit(
            FallbackEvent(
                session_id=run.session_id,
                workstream=run.ws.key,
                workstream_title=run.ws.title,
                from_model=from_model,
                to_model=to_model,
                reason=reason,
                detail=detail,
            )
        )

    async def _attempt(
        self, run: _Chain, model_id: str, thinking: ThinkingSettings | None
    ) -> _AttemptResult:
        """One model call, from AttemptStarted to AttemptFinished, inside the provider's
        concurrency limit (the wait for a slot comes before the attempt starts)."""
        model = self._settings.model(model_id)
        provider, limit = self._pool.get(model.provider)
        timeouts = self._settings.timeouts_for(model_id)
        system, prompt = run.prompts(model_id) if callable(run.prompts) else run.prompts
        if run.cut_off is not None:
            prompt += continuity.section(run.cut_off)
        quote = self._prices.quote(model_id)
        request = ModelRequest(
            model_id=model_id,
            api_model=model.api_model,
            system=system,
            prompt=prompt,
            max_output_tokens=model.max_output_tokens,
            thinking=thinking,
            timeout_s=timeouts.read_s,
            connect_timeout_s=timeouts.connect_s,
            deadline_s=timeouts.total_s,
            continuation_id=self._threads.get((run.session_id, run.ws.key, model_id)),
        )
        attempt_id = new_id()
        sid, key = run.session_id, run.ws.key
        thread: str | None = None
        text: list[str] = []
        bounds = StreamBounds(self._settings.registry.global_.limits)
        usage = Usage()
        streamed = False

        async def end(status: AttemptStatus, kind: str | None, message: str | None) -> None:
            await self._emit(
                AttemptFinished(
                    session_id=sid,
                    attempt_id=attempt_id,
                    workstream=key,
                    model=model_id,
                    status=status,
                    error_kind=kind,
                    error_message=message,
                    usage=totals_for(usage, quote),
                    elapsed_s=time.monotonic() - started,
                    continuation_id=thread,
                )
            )

        async with limit:
            await self._emit(
                AttemptStarted(
                    session_id=sid,
                    attempt_id=attempt_id,
                    workstream=key,
                    model=model_id,
                    provider=model.provider,
                    api_model=model.api_model,
                    attempt_no=run.attempt_no,
                    thinking=thinking is not None,
                )
            )
            started = time.monotonic()
            finished = False
            try:
                watch = watched(provider.stream(request), timeouts)
                async with contextlib.aclosing(watch) as events:
                    async for ev in events:
                        run.contact.answered()  # the provider took the request
                        if isinstance(ev, ThinkingDelta | TextDelta | Progress):
                            streamed = streamed or not isinstance(ev, Progress)
                            channel: Channel = "text" if isinstance(ev, TextDelta) else "thinking"
                            piece, over = bounds.take(channel, ev.text)
                            if channel == "text":
                                text.append(piece)
                            if piece:
                                await self._emit(
                                    Delta(
                                        session_id=sid,
                                        attempt_id=attempt_id,
                                        workstream=key,
                                        channel=channel,
                                        text=piece,
                                    )
                                )
                            if over is not None:  # the answer passed its bound: stop reading
                                raise ProviderError(ErrorKind.TRUNCATED, over)
                        elif isinstance(ev, Usage):
                            usage = ev
                        elif isinstance(ev, Continuation):
                            thread = ev.continuation_id
                            self._threads[(sid, key, model_id)] = thread
                        elif isinstance(ev, Finished):
                            finished = True
                if not finished:
                    raise ProviderError(ErrorKind.TRUNCATED, "stream ended without a finish event")
            except ProviderError as exc:
                message = clean(exc.message)
                await end(AttemptStatus.FAILED, exc.kind.value, message)
                failure = Failure(
                    exc.kind.value,
                    message,
                    retry_after=exc.retry_after,
                    thinking_rejected=exc.thinking_rejected,
                    streamed=streamed,
                )
                return _AttemptResult("", totals_for(usage, quote), failure, partial="".join(text))
            except asyncio.CancelledError:
                await asyncio.shield(
                    end(AttemptStatus.FAILED, ErrorKind.CANCELLED.value, "cancelled")
                )
                raise
            except StoreUnwritableError:
                raise  # the session's record cannot be written: the session stops
            except Exception as exc:  # an unmapped failure must still end the attempt
                message = clean(f"{type(exc).__name__}: {exc}")
                await end(AttemptStatus.FAILED, "internal", message)
                failure = Failure("internal", message, streamed=streamed)
                return _AttemptResult("", totals_for(usage, quote), failure, partial="".join(text))
            await end(AttemptStatus.OK, None, None)
        return _AttemptResult("".join(text), totals_for(usage, quote))


async def watched(
    stream: AsyncIterator[StreamEvent], timeouts: ResolvedTimeouts
) -> AsyncGenerator[StreamEvent, None]:
    """``stream`` under the first-event, idle-gap and total timeouts (a TIMEOUT error).

    Every event counts as a sign of life, heartbeats included; the SDK's own read timeout
    sits just behind these as a safety net.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeouts.total_s
    first = True
    try:
        while True:
            gap = timeouts.first_event_s if first else timeouts.idle_s
            left = deadline - loop.time()
            budget = min(gap, left)
            waiting = asyncio.timeout(budget)
            try:
                async with waiting:
                    event = await anext(stream)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if not waiting.expired():
                    raise
                if left <= gap:
                    message = f"the call ran past its {timeouts.total_s:g}s total timeout"
                elif first:
                    message = f"no stream event within {gap:g}s of the request (first event)"
                else:
                    message = f"no stream event for {gap:g}s (idle)"
                raise ProviderError(ErrorKind.TIMEOUT, message) from None
            first = False
            yield event
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
