"""One model call of a chain, from AttemptStarted to AttemptFinished, and the watchdog on it.

:class:`AttemptRunner` builds the request, holds the provider's concurrency limit, streams the
answer within its bounds (engine/stream_bounds.py) and turns whatever stopped it into a
:class:`~mao_tui.engine.policy.Failure` for the chain (engine/chain.py) to act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EventSink,
    PlannedWorkstream,
    TokenTotals,
    new_id,
)
from mao_tui.domain.errors import StoreUnwritableError
from mao_tui.domain.sanitize import clean
from mao_tui.engine import continuity
from mao_tui.engine.continuity import CutOff
from mao_tui.engine.policy import Failure
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.price_sources import PriceBook, PriceQuote
from mao_tui.engine.pricing import totals_for
from mao_tui.engine.session_facts import Contact
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
from mao_tui.settings.schema import ModelConfig, ResolvedTimeouts, Settings
from mao_tui.settings.thinking import ThinkingSettings

Channel = Literal["thinking", "text"]
# (system, prompt), or what each model of the chain gets: a playbook's prompt variants are
# chosen by the model that actually runs the attempt, a fallback model included.
Prompts = tuple[str, str] | Callable[[str], tuple[str, str]]


class ModelOfWorkstream(TypedDict):
    """The fields every policy event shares: whose workstream, on which model."""

    session_id: str
    workstream: str
    workstream_title: str
    model: str


@dataclass
class ChainRun:
    """One run of a chain: who it is for, and what it has spent so far."""

    session_id: str
    ws: PlannedWorkstream
    prompts: Prompts
    attempt_no: int = 0
    usage: TokenTotals = field(default_factory=TokenTotals)
    cut_off: CutOff | None = None  # the latest failed attempt's partial answer, for the next
    contact: Contact = field(default_factory=Contact)  # first requests held for the others

    def on(self, model_id: str) -> ModelOfWorkstream:
        return ModelOfWorkstream(
            session_id=self.session_id,
            workstream=self.ws.key,
            workstream_title=self.ws.title,
            model=model_id,
        )


@dataclass(frozen=True)
class AttemptResult:
    text: str
    usage: TokenTotals
    failure: Failure | None = None
    partial: str = ""  # a failed attempt: the answer text it had streamed


class AttemptRunner:
    """Runs single attempts; remembers each backend thread (PAL's continuation_id) by
    (session, workstream, model), so a rerun on the same model continues the conversation."""

    def __init__(self, settings: Settings, pool: ProviderPool, emit: EventSink) -> None:
        self._settings = settings
        self._pool = pool
        self._emit = emit
        self._prices = PriceBook(settings)
        self._threads: dict[tuple[str, str, str], str] = {}

    async def attempt(
        self, run: ChainRun, model_id: str, thinking: ThinkingSettings | None
    ) -> AttemptResult:
        """One model call, inside the provider's concurrency limit (the wait for a slot comes
        before the attempt starts)."""
        provider, limit = self._pool.get(self._settings.model(model_id).provider)
        timeouts = self._settings.timeouts_for(model_id)
        request = self._request(run, model_id, thinking, timeouts)
        one = _Attempt(self._emit, run, model_id, self._prices.quote(model_id), self._threads)
        bounds = StreamBounds(self._settings.registry.global_.limits)
        async with limit:
            await one.start(self._settings.model(model_id), thinking is not None)
            try:
                await one.read(watched(provider.stream(request), timeouts), bounds)
            except ProviderError as exc:
                return await one.failed(
                    exc.kind.value,
                    clean(exc.message),
                    retry_after=exc.retry_after,
                    thinking_rejected=exc.thinking_rejected,
                )
            except asyncio.CancelledError:
                await asyncio.shield(
                    one.end(AttemptStatus.FAILED, ErrorKind.CANCELLED.value, "cancelled")
                )
                raise
            except StoreUnwritableError:
                raise  # the session's record cannot be written: the session stops
            except Exception as exc:  # an unmapped failure must still end the attempt
                return await one.failed("internal", clean(f"{type(exc).__name__}: {exc}"))
            await one.end(AttemptStatus.OK, None, None)
        return AttemptResult("".join(one.text), one.totals())

    def _request(
        self,
        run: ChainRun,
        model_id: str,
        thinking: ThinkingSettings | None,
        timeouts: ResolvedTimeouts,
    ) -> ModelRequest:
        model = self._settings.model(model_id)
        system, prompt = run.prompts(model_id) if callable(run.prompts) else run.prompts
        if run.cut_off is not None:
            prompt += continuity.section(run.cut_off)
        return ModelRequest(
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


class _Attempt:
    """What one attempt has read so far, and the events that open and close it."""

    def __init__(
        self,
        emit: EventSink,
        run: ChainRun,
        model_id: str,
        quote: PriceQuote,
        threads: dict[tuple[str, str, str], str],
    ) -> None:
        self._emit = emit
        self._run = run
        self._model_id = model_id
        self._quote = quote
        self._threads = threads
        self._id = new_id()
        self._started = time.monotonic()
        self.text: list[str] = []
        self.usage = Usage()
        self.thread: str | None = None
        self.streamed = False  # an answer or thinking token arrived (not just progress)

    def totals(self) -> TokenTotals:
        return totals_for(self.usage, self._quote)

    async def start(self, model: ModelConfig, thinking: bool) -> None:
        await self._emit(
            AttemptStarted(
                session_id=self._run.session_id,
                attempt_id=self._id,
                workstream=self._run.ws.key,
                model=self._model_id,
                provider=model.provider,
                api_model=model.api_model,
                attempt_no=self._run.attempt_no,
                thinking=thinking,
            )
        )
        self._started = time.monotonic()

    async def read(self, watch: AsyncGenerator[StreamEvent, None], bounds: StreamBounds) -> None:
        """Every event of the stream; a stream that ends without a finish was cut short."""
        finished = False
        async with contextlib.aclosing(watch) as events:
            async for ev in events:
                self._run.contact.answered()  # the provider took the request
                if isinstance(ev, ThinkingDelta | TextDelta | Progress):
                    await self._delta(ev, bounds)
                elif isinstance(ev, Usage):
                    self.usage = ev
                elif isinstance(ev, Continuation):
                    self.thread = ev.continuation_id
                    key = (self._run.session_id, self._run.ws.key, self._model_id)
                    self._threads[key] = self.thread
                elif isinstance(ev, Finished):
                    finished = True
        if not finished:
            raise ProviderError(ErrorKind.TRUNCATED, "stream ended without a finish event")

    async def _delta(self, ev: ThinkingDelta | TextDelta | Progress, bounds: StreamBounds) -> None:
        self.streamed = self.streamed or not isinstance(ev, Progress)
        channel: Channel = "text" if isinstance(ev, TextDelta) else "thinking"
        piece, over = bounds.take(channel, ev.text)
        if channel == "text":
            self.text.append(piece)
        if piece:
            await self._emit(
                Delta(
                    session_id=self._run.session_id,
                    attempt_id=self._id,
                    workstream=self._run.ws.key,
                    channel=channel,
                    text=piece,
                )
            )
        if over is not None:  # the answer passed its bound: stop reading
            raise ProviderError(ErrorKind.TRUNCATED, over)

    async def failed(
        self,
        kind: str,
        message: str,
        *,
        retry_after: float | None = None,
        thinking_rejected: bool = False,
    ) -> AttemptResult:
        await self.end(AttemptStatus.FAILED, kind, message)
        failure = Failure(
            kind,
            message,
            retry_after=retry_after,
            thinking_rejected=thinking_rejected,
            streamed=self.streamed,
        )
        return AttemptResult("", self.totals(), failure, partial="".join(self.text))

    async def end(self, status: AttemptStatus, kind: str | None, message: str | None) -> None:
        await self._emit(
            AttemptFinished(
                session_id=self._run.session_id,
                attempt_id=self._id,
                workstream=self._run.ws.key,
                model=self._model_id,
                status=status,
                error_kind=kind,
                error_message=message,
                usage=self.totals(),
                elapsed_s=time.monotonic() - self._started,
                continuation_id=self.thread,
            )
        )


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
