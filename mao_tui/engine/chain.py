"""One workstream through its model chain: attempts, retries, fallbacks, and the events for each.

What to do after a failure is decided in :mod:`mao_tui.engine.policy`; this module carries it out:
it waits out backoffs and provider cooldowns, lowers the thinking once when a provider rejects
it, and moves on to the next model. Each single call (its stream under the first-event, idle and
total timeouts, inside its provider's concurrency limit) is engine/attempt.py's. The session only
asks for an :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from mao_tui.domain import (
    CooldownWait,
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
    now,
)
from mao_tui.engine import policy
from mao_tui.engine.attempt import AttemptResult, AttemptRunner, ChainRun, Prompts
from mao_tui.engine.continuity import CutOff
from mao_tui.engine.policy import Action, Failure
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.routing import unavailable_models
from mao_tui.engine.session_facts import SessionFacts
from mao_tui.settings import roster
from mao_tui.settings.schema import RetryPolicy, Settings
from mao_tui.settings.thinking import ThinkingSettings

__all__ = ["ChainRunner", "Fanout", "Outcome", "Prompts"]

NO_KEY_REASON = "no API key"
RETIRED_REASON = "retired"
COOLDOWN_REASON = "cooldown"


@dataclass
class Outcome:
    """What a workstream ended with: the text used downstream and the model that wrote it."""

    status: WorkstreamStatus
    model: str | None = None
    text: str = ""
    usage: TokenTotals = field(default_factory=TokenTotals)
    reason: str = ""  # a failed chain: why its last model was left (a fallback reason)

    def finished(self, session_id: str, workstream: str, detail: str = "") -> WorkstreamFinished:
        """The WorkstreamFinished event that announces this outcome."""
        return WorkstreamFinished(
            session_id=session_id,
            workstream=workstream,
            model=self.model,
            status=self.status,
            usage=self.usage,
            detail=detail,
        )


@dataclass
class _OnModel:
    """Where the attempts on one model stand."""

    thinking: ThinkingSettings | None
    retries: int = 0
    lowered: bool = False  # the thinking was lowered once already
    waited: bool = False  # the last retry's delay covered the provider's cooldown


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
    ) -> None:
        self._settings = settings
        self._facts = facts or SessionFacts()
        self._pool = pool
        self._emit = emit
        self._sleep = sleep
        self._today = today
        self._random = random
        self._attempts = AttemptRunner(settings, pool, emit)

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
        run = ChainRun(session_id, ws, prompts)
        outcome = await self._first_to_finish(run, await self._resolve(run))
        if announce:
            why = f"no model finished (the last: {outcome.reason})" if outcome.reason else ""
            await self._emit(outcome.finished(session_id, ws.key, why))
        return outcome

    async def _resolve(self, run: ChainRun) -> list[str]:
        """The chain as it stands today, with a fallback event for each model replaced.

        The plan resolved successors already; a chain from an older plan is resolved again
        here, so no request ever goes to a model that is gone today."""
        ws = run.ws
        chain, late = roster.resolve_chain(
            self._settings,
            ws.chain,
            (self._today or policy.today)(),
            unavailable_models(self._settings),
        )
        for note in [*ws.substitutions, *(n for n in late if n not in ws.substitutions)]:
            to_model = note.model if note.model is not None else next(iter(chain), None)
            await self._fallback(run, note.requested, to_model, note.reason, note.detail)
        return list(chain)

    async def _first_to_finish(self, run: ChainRun, chain: list[str]) -> Outcome:
        reason = ""  # why the last model that ran was left
        for i, model_id in enumerate(chain):
            nxt = chain[i + 1] if i + 1 < len(chain) else None
            refused = await self._admit(run, model_id)
            if refused is not None:
                await self._fallback(run, model_id, nxt, *refused)
                continue
            try:
                result, reason, detail = await self._run_model(run, model_id)
            finally:
                run.contact.answered()
            if result is not None and result.failure is None:
                return Outcome(WorkstreamStatus.DONE, model_id, result.text, run.usage)
            if result is not None and result.failure is not None and result.partial.strip():
                name = self._settings.model(model_id).display_name or model_id
                run.cut_off = CutOff(name, result.failure.kind, result.partial)
            await self._fallback(run, model_id, nxt, reason, detail)
        return Outcome(WorkstreamStatus.FAILED, usage=run.usage, reason=reason)

    async def _admit(self, run: ChainRun, model_id: str) -> tuple[str, str] | None:
        """Why ``model_id`` is skipped without a request (reason, detail), or None to try it."""
        provider_id = self._settings.model(model_id).provider
        if not self._pool.has_key(provider_id):
            return NO_KEY_REASON, f"no key in {self._key_names(provider_id)}"
        fact, run.contact = await self._facts.admit(
            model_id, provider_id, first_contact=self._pool.is_http_api(provider_id)
        )
        return None if fact is None else (fact.reason, fact.detail)

    def _key_names(self, provider_id: str) -> str:
        return " or ".join(self._settings.registry.providers[provider_id].api_key_env)

    async def _run_model(
        self, run: ChainRun, model_id: str
    ) -> tuple[AttemptResult | None, str, str]:
        """Attempts on one model until it succeeds or the policy moves on.

        Returns the last attempt (None when none was made) and, if the chain must move on,
        the fallback's reason and detail.
        """
        model = self._settings.model(model_id)
        rules = self._settings.retry_policy(model.provider)
        state = _OnModel(model.thinking)
        last: AttemptResult | None = None
        while True:
            over_cap = await self._wait_for_cooldown(run, model_id, rules, state)
            if over_cap:
                return last, COOLDOWN_REASON, over_cap
            run.attempt_no += 1
            last = await self._attempts.attempt(run, model_id, state.thinking)
            run.usage.add(last.usage)
            if last.failure is None:
                return last, "", ""
            moved_on = await self._after_failure(run, model_id, last.failure, rules, state)
            if moved_on is not None:
                return last, *moved_on

    async def _wait_for_cooldown(
        self, run: ChainRun, model_id: str, rules: RetryPolicy, state: _OnModel
    ) -> str:
        """Waits out the provider's cooldown; when it is longer than the cap, says so instead."""
        provider_id = self._settings.model(model_id).provider
        remaining = 0.0 if state.waited else self._pool.cooldown_remaining(provider_id)
        state.waited = False
        if remaining > rules.retry_after_cap_s:
            return (
                f"{provider_id} is cooling down for {remaining:.0f}s more, over the "
                f"{rules.retry_after_cap_s:g}s cap"
            )
        if remaining > 0:
            await self._emit(
                CooldownWait(**run.on(model_id), provider=provider_id, delay_s=remaining)
            )
            await self._sleep(remaining)
        return ""

    async def _after_failure(
        self, run: ChainRun, model_id: str, failure: Failure, rules: RetryPolicy, state: _OnModel
    ) -> tuple[str, str] | None:
        """Learns from a failed attempt and carries out the policy's decision: None to try the
        same model again, else the fallback's reason and detail."""
        model = self._settings.model(model_id)
        self._facts.learn(
            model_id, model.provider, model.api_model, failure.kind, failure.message, run.ws.title
        )
        run.contact.answered()
        if policy.starts_cooldown(failure):
            await self._cool_down(run, model_id, policy.cooldown_seconds(failure, rules))
        decision = policy.decide(
            failure,
            policy=rules,
            retries=state.retries,
            thinking=state.thinking,
            lowered=state.lowered,
            downgrade=model.thinking_downgrade,
            random=self._random,
        )
        if decision.action is Action.LOWER_THINKING:
            assert state.thinking is not None and decision.thinking is not None
            before, after = policy.describe_change(state.thinking, decision.thinking)
            await self._emit(
                ThinkingDowngraded(
                    **run.on(model_id),
                    from_setting=before,
                    to_setting=after,
                    detail=failure.message,
                )
            )
            state.thinking, state.lowered = decision.thinking, True
            return None
        if decision.action is Action.RETRY:
            return await self._retry(run, model_id, failure, decision.delay_s, rules, state)
        return failure.kind, decision.detail

    async def _retry(
        self,
        run: ChainRun,
        model_id: str,
        failure: Failure,
        delay_s: float,
        rules: RetryPolicy,
        state: _OnModel,
    ) -> tuple[str, str] | None:
        """Waits before the next attempt (None), unless the provider's cooldown is over the cap."""
        provider_id = self._settings.model(model_id).provider
        delay = max(delay_s, self._pool.cooldown_remaining(provider_id))
        if delay > rules.retry_after_cap_s:
            return (
                failure.kind,
                f"{provider_id} is cooling down for {delay:.0f}s: {failure.message}",
            )
        state.retries += 1
        await self._emit(
            RetryScheduled(
                **run.on(model_id),
                provider=provider_id,
                reason=failure.kind,
                retry_no=state.retries,
                max_retries=rules.max_retries,
                delay_s=delay,
                detail=failure.message,
            )
        )
        await self._sleep(delay)
        state.waited = True
        return None

    async def _cool_down(self, run: ChainRun, model_id: str, seconds: float) -> None:
        provider_id = self._settings.model(model_id).provider
        if not self._pool.start_cooldown(provider_id, seconds):
            return  # already held at least this long
        at = now()
        await self._emit(
            ProviderCooldown(
                **run.on(model_id),
                at=at,
                provider=provider_id,
                seconds=seconds,
                until=at + timedelta(seconds=seconds),
            )
        )

    async def _fallback(
        self, run: ChainRun, from_model: str, to_model: str | None, reason: str, detail: str
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
