"""Claude through the Anthropic Messages API, streamed raw so the end marker can be checked."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    Heartbeat,
    ModelRequest,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
    request_timeout,
    thinking_control,
)
from mao_tui.providers.errors import classified, error
from mao_tui.providers.usage import count
from mao_tui.settings.thinking import ThinkingSettings

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


# Stop reasons of an answer that did not end on its own: the output or context limit hit it.
CUT_OFF_STOP_REASONS = frozenset({"max_tokens", "model_context_window_exceeded"})


def thinking_params(thinking: ThinkingSettings | None) -> dict[str, Any]:
    """``thinking`` and ``output_config`` for the setting; nothing when thinking is off.

    A budget control sends ``{type: enabled, budget_tokens}``; the adaptive control (the only
    one Claude 5.x accepts) sends ``{type: adaptive}`` with the effort in ``output_config``.
    """
    if thinking is None:
        return {}
    params: dict[str, Any] = {}
    if thinking_control(thinking, "anthropic") == "anthropic_budget":
        params["thinking"] = {"type": "enabled", "budget_tokens": thinking.budget_tokens}
        if thinking.display:
            params["thinking"]["display"] = thinking.display
    else:
        params["thinking"] = {"type": "adaptive", "display": thinking.display or "summarized"}
    if thinking.effort:
        params["output_config"] = {"effort": thinking.effort}
    return params


def _input_total(usage: object) -> int:
    return (
        count(usage, "input_tokens")
        + count(usage, "cache_creation_input_tokens")
        + count(usage, "cache_read_input_tokens")
    )


class AnthropicProvider:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout_s: float,
        api_version: str | None = None,  # unused: the SDK pins its own anthropic-version
    ) -> None:
        from anthropic import AsyncAnthropic

        self._api_key = api_key
        # base_url=None lets the SDK use $ANTHROPIC_BASE_URL, then its default. No /v1 here.
        self._client: AsyncAnthropic = AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return classified(self._events(request), secrets=(self._api_key,))

    async def aclose(self) -> None:
        await self._client.close()

    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        from anthropic.types import (
            RawContentBlockDeltaEvent,
            RawMessageDeltaEvent,
            RawMessageStartEvent,
            RawMessageStopEvent,
        )

        raw = await self._client.messages.create(
            model=request.api_model,
            max_tokens=request.max_output_tokens,
            system=request.system,
            messages=[{"role": "user", "content": request.prompt}],
            stream=True,
            timeout=request_timeout(request),
            **thinking_params(request.thinking),
        )
        tally = _Tally()
        stop_reason: str | None = None
        stopped = False
        try:
            async with raw:
                async for event in raw:
                    # The SDK builds an event of a type it does not know as RawMessageStartEvent
                    # (the first of its union), so the type string decides, never the class.
                    if (
                        isinstance(event, RawContentBlockDeltaEvent)
                        and event.type == "content_block_delta"
                    ):
                        delta = event.delta
                        if delta.type == "thinking_delta" and delta.thinking:
                            yield ThinkingDelta(delta.thinking)
                            continue
                        if delta.type == "text_delta" and delta.text:
                            yield TextDelta(delta.text)
                            continue
                    elif isinstance(event, RawMessageStartEvent) and event.type == "message_start":
                        tally.started(getattr(event.message, "usage", None))
                    elif isinstance(event, RawMessageDeltaEvent) and event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        tally.went_on(getattr(event, "usage", None))
                    elif isinstance(event, RawMessageStopEvent) and event.type == "message_stop":
                        stopped = True
                    yield Heartbeat()  # any other event only shows the stream is alive
        except Exception:
            if tally.input or tally.output:
                yield tally.usage()  # billed all the same: the attempt records what was reported
            raise
        # A cut-off, declined or unfinished answer is billed too: its usage comes before the error.
        yield tally.usage()
        ending = _ending(stopped, stop_reason, request.max_output_tokens)
        if isinstance(ending, ProviderError):
            raise ending
        yield ending


@dataclass
class _Tally:
    """The usage the stream reports: the input at message_start, then the output (cumulative,
    thinking included) at each message_delta, which may restate the input too."""

    input: int = 0
    output: int = 0
    thinking: int = 0
    cached: int = 0  # cache reads and writes are input too; they are billed at other rates
    written: int = 0

    def started(self, u: object) -> None:
        self.input = _input_total(u) or self.input
        self.cached = count(u, "cache_read_input_tokens")
        self.written = count(u, "cache_creation_input_tokens")

    def went_on(self, u: object) -> None:
        self.output = count(u, "output_tokens") or self.output
        details = getattr(u, "output_tokens_details", None)
        self.thinking = count(details, "thinking_tokens") or self.thinking
        if count(u, "input_tokens"):
            self.input = _input_total(u)
            self.cached = count(u, "cache_read_input_tokens") or self.cached
            self.written = count(u, "cache_creation_input_tokens") or self.written

    def usage(self) -> Usage:
        return Usage(self.input, self.output, self.thinking, self.cached, self.written)


def _ending(stopped: bool, stop_reason: str | None, max_tokens: int) -> Finished | ProviderError:
    """How the stream ended: a whole answer, or the error an unfinished one raises."""
    if not stopped or stop_reason is None:
        return ProviderError(
            ErrorKind.TRUNCATED,
            "the stream ended without message_stop"
            if not stopped
            else "the stream ended without a stop_reason",
        )
    if stop_reason in CUT_OFF_STOP_REASONS:
        return error(
            ErrorKind.TRUNCATED,
            f"the answer was cut off at the output limit (stop_reason={stop_reason}, "
            f"max_tokens={max_tokens})",
        )
    if stop_reason == "refusal":
        return error(ErrorKind.CONTENT_POLICY, "Claude declined to answer (stop_reason=refusal)")
    return Finished(stop_reason)
