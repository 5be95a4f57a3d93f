"""Gemini through google-genai's streaming generateContent."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
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
    thinking_control,
)
from mao_tui.providers.errors import classified, error
from mao_tui.providers.usage import count
from mao_tui.settings.thinking import ThinkingSettings

if TYPE_CHECKING:
    from google.genai import Client
    from google.genai.types import GenerateContentResponse, ThinkingConfig

# Finish reasons that mean the answer was withheld by a safety or policy filter.
POLICY_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


def thinking_config(thinking: ThinkingSettings | None) -> ThinkingConfig | None:
    """Gemini 3 and 4 take a level (Gemini 4 answers a budget with 400), Gemini 2.5 a token
    budget; thoughts are always streamed."""
    if thinking is None:
        return None
    from google.genai import types

    control = thinking_control(thinking, "gemini")
    if control == "gemini_level" and thinking.level:
        return types.ThinkingConfig(
            thinking_level=types.ThinkingLevel(thinking.level.upper()), include_thoughts=True
        )
    if control == "gemini_budget" and thinking.budget_tokens:
        return types.ThinkingConfig(thinking_budget=thinking.budget_tokens, include_thoughts=True)
    return types.ThinkingConfig(include_thoughts=True)


def _name(value: object) -> str:
    """An SDK enum's wire value; values newer than the SDK may arrive as plain strings."""
    return str(getattr(value, "value", value))


def _usage(meta: object) -> Usage:
    """Usage from ``usage_metadata``, any of whose counts may be missing."""
    prompt = count(meta, "prompt_token_count")
    thoughts = count(meta, "thoughts_token_count")
    # candidates exclude thoughts here; Usage.output_tokens includes them
    output = count(meta, "candidates_token_count") + thoughts
    if getattr(meta, "candidates_token_count", None) is None:
        # Only the total given: the rest of it is output (tool-use prompts aside).
        rest = (
            count(meta, "total_token_count") - prompt - count(meta, "tool_use_prompt_token_count")
        )
        output = max(output, rest)
    return Usage(prompt, output, thoughts, count(meta, "cached_content_token_count"))


# The HTTP responses the current stream opened. google-genai nests several async generators
# and closes only the outermost: the one holding the response is left to the garbage collector,
# so an abandoned stream (a timeout, a bound passed, a cancel) would keep its connection open
# and the server writing into it. The stream closes its responses itself (see _events).
_opened: ContextVar[list[Any] | None] = ContextVar("mao_gemini_opened", default=None)


async def _track(response: Any) -> None:
    """An httpx response hook: note the response for the stream that asked for it."""
    opened = _opened.get()
    if opened is not None:
        opened.append(response)


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


async def _close(responses: list[Any]) -> None:
    """Close the stream's HTTP responses (a no-op for one read to its end)."""
    for response in responses:
        await response.aclose()
    responses.clear()


class GeminiProvider:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        timeout_s: float,
        api_version: str | None = None,
    ) -> None:
        from google import genai
        from google.genai import types

        self._api_key = api_key
        # No retry_options: the SDK then makes exactly one attempt. The timeout is in
        # milliseconds and has no default (a stalled stream would hang forever without it).
        # base_url=None lets the SDK use $GOOGLE_GEMINI_BASE_URL, then its default.
        options = types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            timeout=_milliseconds(timeout_s),
            async_client_args={"event_hooks": {"response": [_track]}},
        )
        self._client: Client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return classified(self._events(request), secrets=(self._api_key,))

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        self._client.close()

    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        from google.genai import types

        config = types.GenerateContentConfig(
            system_instruction=request.system or None,
            max_output_tokens=request.max_output_tokens,
            thinking_config=thinking_config(request.thinking),
            # One number here is both the per-read timeout and the X-Server-Timeout deadline
            # sent to Google: the deadline must not cut a long stream, and stalls are the
            # engine's watchdog's job (see engine/attempt.py).
            http_options=types.HttpOptions(
                timeout=_milliseconds(max(request.deadline_s or 0.0, request.timeout_s))
            ),
        )
        opened: list[Any] = []
        _opened.set(opened)
        try:
            chunks = await self._client.aio.models.generate_content_stream(
                model=request.api_model, contents=request.prompt, config=config
            )
        except BaseException:
            await _close(opened)
            raise
        finish_reason: str | None = None
        usage = Usage()
        try:
            async for chunk in chunks:
                meta = getattr(chunk, "usage_metadata", None)
                if meta is not None:
                    usage = _usage(meta)
                deltas, finish_reason = _read(chunk, finish_reason)
                for delta in deltas:
                    yield delta
                if not deltas:
                    yield Heartbeat()
        except Exception:
            if usage != Usage():
                yield usage  # a blocked prompt or a failed stream is billed for what it used
            raise
        finally:
            # The responses first: closing the SDK's generator does not free the connection.
            _opened.set(None)
            try:
                await _close(opened)
            finally:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
        if finish_reason is None:
            raise ProviderError(ErrorKind.TRUNCATED, "the stream ended without a finishReason")
        # A cut-off or withheld answer is billed too: its usage comes before the error.
        yield usage
        if finish_reason in POLICY_FINISH_REASONS:
            raise error(ErrorKind.CONTENT_POLICY, f"answer withheld (finishReason={finish_reason})")
        if finish_reason == "MAX_TOKENS":
            raise error(
                ErrorKind.TRUNCATED,
                "the answer was cut off at the output limit (finishReason=MAX_TOKENS, "
                f"maxOutputTokens={request.max_output_tokens})",
            )
        yield Finished(finish_reason)


def _read(
    chunk: GenerateContentResponse, finish_reason: str | None
) -> tuple[list[TextDelta | ThinkingDelta], str | None]:
    """The answer and thought deltas in one chunk, and the stream's finish reason so far; a
    blocked prompt raises."""
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        why = feedback.block_reason_message or _name(feedback.block_reason)
        raise error(ErrorKind.CONTENT_POLICY, f"prompt blocked: {why}")
    deltas: list[TextDelta | ThinkingDelta] = []
    for candidate in chunk.candidates or []:
        parts = candidate.content.parts if candidate.content else None
        for part in parts or []:
            if part.text:
                deltas.append(ThinkingDelta(part.text) if part.thought else TextDelta(part.text))
        if candidate.finish_reason is not None:
            finish_reason = _name(candidate.finish_reason)
    return deltas, finish_reason
