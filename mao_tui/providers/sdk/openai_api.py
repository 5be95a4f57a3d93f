"""GPT through the OpenAI Responses API, and OpenAI-compatible servers through Chat Completions."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, cast

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
)
from mao_tui.providers.errors import classified, error, from_error_fields
from mao_tui.providers.usage import count
from mao_tui.settings.thinking import ThinkingSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.responses import ResponseError
    from openai.types.shared_params import Reasoning, ReasoningEffort


# The Responses events this provider acts on; any other is only a sign of life.
_RESPONSE_EVENT_TYPES = frozenset(
    {
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.output_text.delta",
        "response.refusal.delta",
        "error",
        "response.failed",
        "response.completed",
        "response.incomplete",
    }
)


def reasoning_param(thinking: ThinkingSettings | None) -> Reasoning | None:
    """Responses ``reasoning``: the configured effort with the detailed summary streamed."""
    if thinking is None:
        return None
    reasoning: dict[str, Any] = {"summary": thinking.summary or "detailed"}
    if thinking.effort:
        reasoning["effort"] = thinking.effort
    return cast("Reasoning", reasoning)


def _client(api_key: str, base_url: str | None, timeout_s: float) -> AsyncOpenAI:
    from openai import AsyncOpenAI

    # base_url=None lets the SDK use $OPENAI_BASE_URL, then its default. It must end in /v1.
    return AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)


class _OpenAIClientProvider:
    """What both OpenAI APIs share: one SDK client, error classification with the key masked."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout_s: float,
        api_version: str | None = None,  # unused: the version is part of base_url (/v1)
    ) -> None:
        self._api_key = api_key
        self._client = _client(api_key, base_url, timeout_s)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return classified(self._events(request), secrets=(self._api_key,))

    async def aclose(self) -> None:
        await self._client.close()

    def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        raise NotImplementedError


class OpenAIResponsesProvider(_OpenAIClientProvider):
    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        from openai import omit
        from openai.types import responses as events

        reasoning = reasoning_param(request.thinking)
        raw = await self._client.responses.create(
            model=request.api_model,
            instructions=request.system,
            input=request.prompt,
            max_output_tokens=request.max_output_tokens,
            stream=True,
            timeout=request_timeout(request),
            reasoning=reasoning if reasoning is not None else omit,
        )
        summary_part: tuple[str, int] | None = None
        refusal = ""
        usage = Usage()
        ending: tuple[Finished, bool] | None = None  # the stop reason; whether incomplete
        try:
            async with raw:
                async for event in raw:
                    # The SDK builds an event of a type it does not know as the first class of its
                    # union (an audio delta today): only a known type string is dispatched on.
                    if event.type not in _RESPONSE_EVENT_TYPES:
                        yield Heartbeat()
                        continue
                    if isinstance(event, events.ResponseReasoningSummaryTextDeltaEvent):
                        part = (event.item_id, event.summary_index)
                        if summary_part is not None and part != summary_part:
                            yield ThinkingDelta("\n\n")  # summaries come in several parts
                        summary_part = part
                        if event.delta:
                            yield ThinkingDelta(event.delta)
                            continue
                    elif isinstance(event, events.ResponseReasoningTextDeltaEvent):
                        if event.delta:
                            yield ThinkingDelta(event.delta)
                            continue
                    elif isinstance(event, events.ResponseTextDeltaEvent):
                        if event.delta:
                            yield TextDelta(event.delta)
                            continue
                    elif isinstance(event, events.ResponseRefusalDeltaEvent):
                        refusal += event.delta
                    elif isinstance(event, events.ResponseErrorEvent):
                        # The SDK yields this instead of raising it.
                        kind = from_error_fields(code=event.code, message=event.message)
                        raise error(kind, f"in-stream {event.code or 'error'}: {event.message}")
                    elif isinstance(event, events.ResponseFailedEvent):
                        usage = _usage(event.response, "input", "output") or usage
                        raise _failed(event.response.error)
                    elif isinstance(
                        event, events.ResponseCompletedEvent | events.ResponseIncompleteEvent
                    ):
                        usage = _usage(event.response, "input", "output") or Usage()
                        ending = _ending(event.response, event.type == "response.incomplete")
                    yield Heartbeat()  # any other event only shows the stream is alive
        except Exception:
            if usage != Usage():
                yield usage  # a failed response is billed for what it used
            raise
        if ending is None:
            raise ProviderError(ErrorKind.TRUNCATED, "the stream ended without response.completed")
        # A cut-off or refused answer is billed too: its usage comes before the error.
        yield usage
        end = _responses_end(*ending, refusal, request.max_output_tokens)
        if isinstance(end, ProviderError):
            raise end
        yield end


def _usage(holder: object, input_name: str, output_name: str) -> Usage | None:
    """``holder.usage`` (a response, or a chat chunk with ``include_usage``); None when it has
    none. The two APIs name the same counts differently: input/output, prompt/completion."""
    u = getattr(holder, "usage", None)
    if u is None:
        return None
    return Usage(
        count(u, f"{input_name}_tokens"),
        count(u, f"{output_name}_tokens"),
        count(u, f"{output_name}_tokens_details", "reasoning_tokens"),
        count(u, f"{input_name}_tokens_details", "cached_tokens"),
    )


def _failed(failure: ResponseError | None) -> ProviderError:
    """The error a ``response.failed`` event stands for."""
    code = failure.code if failure else None
    message = failure.message if failure else "the response failed"
    kind = from_error_fields(code=code, message=message)
    return error(kind, f"response.failed {code or ''}: {message}".replace(" :", ":"))


def _ending(response: object, incomplete_event: bool) -> tuple[Finished, bool]:
    """How a completed (or incomplete) response ended, and whether it is incomplete."""
    details = getattr(response, "incomplete_details", None)
    reason = getattr(details, "reason", None)
    status = getattr(response, "status", None)
    incomplete = incomplete_event or status == "incomplete"
    return Finished(str(reason or status or "completed")), incomplete


def _responses_end(
    finished: Finished, incomplete: bool, refusal: str, max_output_tokens: int
) -> Finished | ProviderError:
    """How a response ended: a whole answer, or the error a refused or unfinished one raises."""
    limit = f"response.incomplete, max_output_tokens={max_output_tokens}"
    if problem := _stop_problem(refusal, finished.stop_reason, "max_output_tokens", limit):
        return problem
    if incomplete:  # for a reason this code does not know: still not a whole answer
        why = finished.stop_reason
        return error(ErrorKind.TRUNCATED, f"the response ended incomplete ({why})")
    return finished


def _stop_problem(refusal: str, stop_reason: str, cut_off: str, limit: str) -> ProviderError | None:
    """What a finished OpenAI answer that is not a whole answer raises: a refusal, a content
    filter, or the ``cut_off`` stop reason (``limit`` says which limit, for the message)."""
    if refusal:
        return error(ErrorKind.CONTENT_POLICY, f"refused: {refusal}")
    if stop_reason == "content_filter":
        return error(ErrorKind.CONTENT_POLICY, "response stopped by content filter")
    if stop_reason == cut_off:
        return error(ErrorKind.TRUNCATED, f"the answer was cut off at the output limit ({limit})")
    return None


def chat_messages(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": request.prompt}]
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    return messages


class OpenAIChatProvider(_OpenAIClientProvider):
    """Chat Completions for vLLM, Ollama and other OpenAI-compatible servers.

    Reasoning arrives in a field the SDK does not declare: ``reasoning`` (current vLLM, Ollama)
    or ``reasoning_content`` (older vLLM); some servers send both with the same text.
    """

    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        from openai import omit

        effort = request.thinking.effort if request.thinking is not None else None
        raw = await self._client.chat.completions.create(
            model=request.api_model,
            messages=chat_messages(request),
            max_completion_tokens=request.max_output_tokens,
            stream=True,
            stream_options={"include_usage": True},
            timeout=request_timeout(request),
            reasoning_effort=cast("ReasoningEffort", effort) if effort else omit,
        )
        finish_reason: str | None = None
        refusal = ""
        usage = Usage()
        try:
            async with raw:
                async for chunk in raw:
                    content = False
                    usage = _usage(chunk, "prompt", "completion") or usage
                    for choice in chunk.choices or []:
                        if choice.delta is None:
                            continue
                        extra_fields = choice.delta.model_extra or {}
                        reasoning = extra_fields.get("reasoning") or extra_fields.get(
                            "reasoning_content"
                        )
                        if isinstance(reasoning, str) and reasoning:
                            content = True
                            yield ThinkingDelta(reasoning)
                        if choice.delta.content:
                            content = True
                            yield TextDelta(choice.delta.content)
                        if isinstance(getattr(choice.delta, "refusal", None), str):
                            refusal += str(choice.delta.refusal)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                    if not content:
                        yield Heartbeat()
        except Exception:
            if usage != Usage():
                yield usage  # what the server reported before failing
            raise
        if finish_reason is None:
            raise ProviderError(ErrorKind.TRUNCATED, "the stream ended without a finish_reason")
        # A cut-off or refused answer is billed too: its usage comes before the error.
        yield usage
        limit = f"finish_reason=length, max_completion_tokens={request.max_output_tokens}"
        if problem := _stop_problem(refusal, finish_reason, "length", limit):
            raise problem
        yield Finished(finish_reason)
