"""The bytes each imitated API streams: SSE events, one per HTTP chunk.

Formats follow ``reference/providers.md`` section 3, as the SDKs accepted them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mao_tui.simulator.faults import REFUSAL_TEXT
from mao_tui.simulator.pacing import Channel, tokens
from mao_tui.simulator.routes import Api

CREATED_AT = 1760000000
# How a stream ends: a whole answer, one cut off at the output limit, or a refusal.
Ending = Literal["stop", "max_tokens", "refusal"]


@dataclass(frozen=True, slots=True)
class StreamContext:
    model: str
    input_tokens: int  # all of the prompt, cached included
    request_number: int  # makes ids unique per simulator
    cached_tokens: int = 0  # the part of input_tokens served from the provider's cache
    minimal_usage: bool = False  # usage with only the fields every API requires


@dataclass(frozen=True, slots=True)
class TokenCounts:
    input: int
    thinking: int
    text: int

    @property
    def output(self) -> int:
        return self.thinking + self.text


class StreamEncoder(Protocol):
    media_type: str

    def opening(self) -> list[bytes]: ...

    def delta(self, channel: Channel, text: str) -> list[bytes]: ...

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        """The end of the stream; a refusal also sends its text (``REFUSAL_TEXT``)."""
        ...

    def error(self) -> list[bytes]: ...

    def unknown(self) -> list[bytes]:
        """Events of a type the SDKs do not know (a newer API version): to be ignored."""
        ...

    def malformed(self) -> bytes:
        """One event whose data is not valid JSON."""
        ...


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _sse(event: str | None, data: object, newline: str = "\n") -> bytes:
    payload = data if isinstance(data, str) else dumps(data)
    head = f"event: {event}{newline}" if event else ""
    return f"{head}data: {payload}{newline}{newline}".encode()


def _signature(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest() * 2).decode()


class AnthropicEncoder:
    """``event:`` lines are required: the SDK skips events without one."""

    media_type = "text/event-stream; charset=utf-8"

    def __init__(self, ctx: StreamContext) -> None:
        self._ctx = ctx
        self._block: Channel | None = None
        self._index = -1

    def _event(self, data: dict[str, Any]) -> bytes:
        return _sse(str(data["type"]), data)

    def opening(self) -> list[bytes]:
        message: dict[str, Any] = {
            "id": f"msg_sim_{self._ctx.request_number:04d}",
            "type": "message",
            "role": "assistant",
            "model": self._ctx.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                # Anthropic counts cache reads apart from input_tokens.
                "input_tokens": self._ctx.input_tokens - self._ctx.cached_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": self._ctx.cached_tokens,
                "output_tokens": 1,
            },
        }
        if self._ctx.minimal_usage:
            message["usage"] = {"input_tokens": self._ctx.input_tokens, "output_tokens": 1}
        return [
            self._event({"type": "message_start", "message": message}),
            self._event({"type": "ping"}),
        ]

    def _close_block(self) -> list[bytes]:
        if self._block is None:
            return []
        out = []
        if self._block == "thinking":
            signature = _signature(f"anthropic-{self._ctx.request_number}")
            delta = {"type": "signature_delta", "signature": signature}
            out.append(self._delta_event(delta))
        out.append(self._event({"type": "content_block_stop", "index": self._index}))
        self._block = None
        return out

    def _delta_event(self, delta: dict[str, Any]) -> bytes:
        return self._event({"type": "content_block_delta", "index": self._index, "delta": delta})

    def delta(self, channel: Channel, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._block != channel:
            out += self._close_block()
            self._index += 1
            self._block = channel
            block = (
                {"type": "thinking", "thinking": "", "signature": ""}
                if channel == "thinking"
                else {"type": "text", "text": ""}
            )
            out.append(
                self._event(
                    {"type": "content_block_start", "index": self._index, "content_block": block}
                )
            )
        if channel == "thinking":
            out.append(self._delta_event({"type": "thinking_delta", "thinking": text}))
        else:
            out.append(self._delta_event({"type": "text_delta", "text": text}))
        return out

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        out = self._close_block()  # a refusal sends no text of its own: the stop_reason says it
        stop_reason = {"stop": "end_turn", "max_tokens": "max_tokens", "refusal": "refusal"}
        totals: dict[str, Any] = {"output_tokens": usage.output}
        if not self._ctx.minimal_usage:
            totals["output_tokens_details"] = {"thinking_tokens": usage.thinking}
        message_delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason[ending], "stop_sequence": None},
            "usage": totals,
        }
        return [
            *out,
            self._event(message_delta),
            self._event({"type": "message_stop"}),
        ]

    def error(self) -> list[bytes]:
        body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        return [_sse("error", body)]

    def unknown(self) -> list[bytes]:
        return [
            self._event({"type": "content_block_annotation", "index": self._index, "note": "x"}),
            self._event({"type": "message_progress", "progress": {"phase": "thinking"}}),
        ]

    def malformed(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'


class ResponsesEncoder:
    """OpenAI Responses: a reasoning summary item, then a message item, then ``completed``."""

    media_type = "text/event-stream; charset=utf-8"

    def __init__(self, ctx: StreamContext, reasoning: dict[str, Any] | None) -> None:
        self._ctx = ctx
        self._reasoning = reasoning
        self._seq = 0
        self._item: Channel | None = None
        self._output: list[dict[str, Any]] = []
        self._text = ""
        n = ctx.request_number
        self._ids = {"thinking": f"rs_sim_{n:04d}", "text": f"msg_sim_{n:04d}"}

    def _event(self, data: dict[str, Any]) -> bytes:
        data = {"type": data["type"], "sequence_number": self._seq, **data}
        self._seq += 1
        return _sse(str(data["type"]), data)

    def _response(self, status: str, usage: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "id": f"resp_sim_{self._ctx.request_number:04d}",
            "object": "response",
            "created_at": CREATED_AT,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": self._ctx.model,
            "output": list(self._output),
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": self._reasoning,
            "service_tier": "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "metadata": {},
        }

    def opening(self) -> list[bytes]:
        return [
            self._event(
                {"type": "response.created", "response": self._response("in_progress", None)}
            ),
            self._event(
                {"type": "response.in_progress", "response": self._response("in_progress", None)}
            ),
        ]

    def _open_item(self, channel: Channel) -> list[bytes]:
        index = len(self._output)
        item_id = self._ids[channel]
        self._item, self._text = channel, ""
        if channel == "thinking":
            item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
            part: dict[str, Any] = {"type": "summary_text", "text": ""}
            part_event = "response.reasoning_summary_part.added"
            where: dict[str, Any] = {"summary_index": 0}
        else:
            item = {
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            part = {"type": "output_text", "text": "", "annotations": []}
            part_event = "response.content_part.added"
            where = {"content_index": 0}
        return [
            self._event(
                {"type": "response.output_item.added", "output_index": index, "item": item}
            ),
            self._event(
                {
                    "type": part_event,
                    "item_id": item_id,
                    "output_index": index,
                    **where,
                    "part": part,
                }
            ),
        ]

    def _close_item(self, status: str = "completed") -> list[bytes]:
        if self._item is None:
            return []
        index = len(self._output)
        item_id = self._ids[self._item]
        text = self._text
        ids = {"item_id": item_id, "output_index": index}
        if self._item == "thinking":
            part: dict[str, Any] = {"type": "summary_text", "text": text}
            item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": [part]}
            events = [
                self._event(
                    {
                        "type": "response.reasoning_summary_text.done",
                        **ids,
                        "summary_index": 0,
                        "text": text,
                    }
                ),
                self._event(
                    {
                        "type": "response.reasoning_summary_part.done",
                        **ids,
                        "summary_index": 0,
                        "part": part,
                    }
                ),
            ]
        else:
            part = {"type": "output_text", "text": text, "annotations": []}
            item = {
                "id": item_id,
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [part],
            }
            events = [
                self._event(
                    {
                        "type": "response.output_text.done",
                        **ids,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    }
                ),
                self._event(
                    {"type": "response.content_part.done", **ids, "content_index": 0, "part": part}
                ),
            ]
        events.append(
            self._event({"type": "response.output_item.done", "output_index": index, "item": item})
        )
        self._output.append(item)
        self._item = None
        return events

    def delta(self, channel: Channel, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._item != channel:
            out += self._close_item()
            out += self._open_item(channel)
        self._text += text
        ids = {"item_id": self._ids[channel], "output_index": len(self._output)}
        if channel == "thinking":
            event = {
                "type": "response.reasoning_summary_text.delta",
                **ids,
                "summary_index": 0,
                "delta": text,
            }
        else:
            event = {
                "type": "response.output_text.delta",
                **ids,
                "content_index": 0,
                "delta": text,
                "logprobs": [],
            }
        out.append(self._event(event))
        return out

    def _refusal_item(self) -> list[bytes]:
        """A message item whose one content part is a refusal, as the API streams it."""
        index = len(self._output)
        item_id = self._ids["text"]
        ids = {"item_id": item_id, "output_index": index, "content_index": 0}
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        part = {"type": "refusal", "refusal": REFUSAL_TEXT}
        events = [
            self._event(
                {"type": "response.output_item.added", "output_index": index, "item": item}
            ),
            self._event(
                {"type": "response.content_part.added", **ids, "part": {**part, "refusal": ""}}
            ),
            self._event({"type": "response.refusal.delta", **ids, "delta": REFUSAL_TEXT}),
            self._event({"type": "response.refusal.done", **ids, "refusal": REFUSAL_TEXT}),
            self._event({"type": "response.content_part.done", **ids, "part": part}),
        ]
        item = {**item, "status": "completed", "content": [part]}
        events.append(
            self._event({"type": "response.output_item.done", "output_index": index, "item": item})
        )
        self._output.append(item)
        return events

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        out = self._close_item("incomplete" if ending == "max_tokens" else "completed")
        if ending == "refusal":
            out += self._refusal_item()
            usage = TokenCounts(usage.input, usage.thinking, usage.text + tokens(REFUSAL_TEXT))
        totals: dict[str, Any] = {
            "input_tokens": usage.input,
            "input_tokens_details": {"cached_tokens": self._ctx.cached_tokens},
            "output_tokens": usage.output,
            "output_tokens_details": {"reasoning_tokens": usage.thinking},
            "total_tokens": usage.input + usage.output,
        }
        if self._ctx.minimal_usage:
            del totals["input_tokens_details"], totals["output_tokens_details"]
        if ending == "max_tokens":
            response = self._response("incomplete", totals)
            response["incomplete_details"] = {"reason": "max_output_tokens"}
            return [*out, self._event({"type": "response.incomplete", "response": response})]
        done = {"type": "response.completed", "response": self._response("completed", totals)}
        return [*out, self._event(done)]

    def error(self) -> list[bytes]:
        return [
            self._event(
                {
                    "type": "error",
                    "code": "server_error",
                    "message": "The server had an error while processing your request.",
                    "param": None,
                }
            )
        ]

    def unknown(self) -> list[bytes]:
        return [
            self._event({"type": "response.progress", "output_index": 0, "phase": "reasoning"}),
            self._event({"type": "response.audit_note.added", "note": {"id": "n1"}}),
        ]

    def malformed(self) -> bytes:
        return b'event: response.output_text.delta\ndata: {"type": "response.output_te\n\n'


class ChatEncoder:
    """OpenAI-compatible chat completions, as vLLM and Ollama stream them."""

    media_type = "text/event-stream; charset=utf-8"

    def __init__(self, ctx: StreamContext, include_usage: bool) -> None:
        self._ctx = ctx
        self._include_usage = include_usage
        self._reasoning_deltas = 0

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": f"chatcmpl-sim{self._ctx.request_number:04d}",
            "object": "chat.completion.chunk",
            "created": CREATED_AT,
            "model": self._ctx.model,
            "choices": choices,
            **extra,
        }
        return _sse(None, chunk)

    def _choice(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish_reason}

    def opening(self) -> list[bytes]:
        return [self._chunk([self._choice({"role": "assistant", "content": ""})])]

    def delta(self, channel: Channel, text: str) -> list[bytes]:
        if channel == "text":
            return [self._chunk([self._choice({"content": text})])]
        # Servers differ: older vLLM sends reasoning_content, newer vLLM and Ollama send reasoning.
        field = "reasoning_content" if self._reasoning_deltas % 2 == 0 else "reasoning"
        self._reasoning_deltas += 1
        return [self._chunk([self._choice({field: text})])]

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        out: list[bytes] = []
        if ending == "refusal":
            out.append(self._chunk([self._choice({"content": None, "refusal": REFUSAL_TEXT})]))
            usage = TokenCounts(usage.input, usage.thinking, usage.text + tokens(REFUSAL_TEXT))
        out.append(self._chunk([self._choice({}, "length" if ending == "max_tokens" else "stop")]))
        if self._include_usage:
            totals: dict[str, Any] = {
                "prompt_tokens": usage.input,
                "completion_tokens": usage.output,
                "total_tokens": usage.input + usage.output,
                "completion_tokens_details": {"reasoning_tokens": usage.thinking},
                "prompt_tokens_details": {"cached_tokens": self._ctx.cached_tokens},
            }
            if self._ctx.minimal_usage:
                del totals["completion_tokens_details"], totals["prompt_tokens_details"]
            out.append(self._chunk([], usage=totals))
        out.append(_sse(None, "[DONE]"))
        return out

    def error(self) -> list[bytes]:
        body = {
            "error": {
                "message": "The server had an error while streaming.",
                "type": "server_error",
                "code": None,
            }
        }
        return [_sse(None, body)]

    def unknown(self) -> list[bytes]:
        # A server extension: an unknown delta field and an unknown top-level field.
        return [self._chunk([self._choice({"annotations": [{"kind": "x"}]})], x_progress=0.5)]

    def malformed(self) -> bytes:
        return b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"cont\n\n'


class GeminiEncoder:
    """``data: `` with a space (the SDK requires it), CRLF lines, no event names, no [DONE]."""

    media_type = "text/event-stream"

    def __init__(self, ctx: StreamContext) -> None:
        self._ctx = ctx
        self._thought = False
        self._signed = False

    def _chunk(
        self, part: dict[str, Any] | None, finish: str | None, usage: dict[str, int] | None
    ) -> bytes:
        candidate: dict[str, Any] = {"index": 0}
        if part is not None:
            candidate["content"] = {"parts": [part], "role": "model"}
        if finish:
            candidate["finishReason"] = finish
        if finish == "SAFETY":  # the candidate is withheld: no content, the blocking rating
            candidate["safetyRatings"] = [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
                 "blocked": True},
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
            ]  # fmt: skip
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            chunk["usageMetadata"] = usage
        chunk["modelVersion"] = self._ctx.model
        chunk["responseId"] = f"sim-resp-{self._ctx.request_number:04d}"
        return _sse(None, chunk, "\r\n")

    def _prompt_usage(self) -> dict[str, int] | None:
        if self._ctx.minimal_usage:
            return None  # usageMetadata is optional on every chunk but the last
        n = self._ctx.input_tokens
        return {"promptTokenCount": n, "totalTokenCount": n}

    def opening(self) -> list[bytes]:
        return []

    def delta(self, channel: Channel, text: str) -> list[bytes]:
        part: dict[str, Any] = {"text": text}
        if channel == "thinking":
            part["thought"] = True
            self._thought = True
        elif self._thought and not self._signed:
            part["thoughtSignature"] = _signature(f"gemini-{self._ctx.request_number}")
            self._signed = True
        return [self._chunk(part, None, self._prompt_usage())]

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        totals = {
            "promptTokenCount": usage.input,
            "candidatesTokenCount": usage.text,
            "totalTokenCount": usage.input + usage.output,
        }
        if usage.thinking:
            totals["thoughtsTokenCount"] = usage.thinking
        if self._ctx.cached_tokens:
            totals["cachedContentTokenCount"] = self._ctx.cached_tokens
        if self._ctx.minimal_usage:
            totals = {"promptTokenCount": usage.input, "totalTokenCount": totals["totalTokenCount"]}
        if ending == "refusal":
            totals.pop("candidatesTokenCount", None)
            return [self._chunk(None, "SAFETY", totals)]
        finish = "MAX_TOKENS" if ending == "max_tokens" else "STOP"
        return [self._chunk({"text": ""}, finish, totals)]

    def error(self) -> list[bytes]:
        body = {
            "error": {
                "code": 503,
                "message": "The model is overloaded. Please try again later.",
                "status": "UNAVAILABLE",
            }
        }
        return [_sse(None, body, "\r\n")]

    def unknown(self) -> list[bytes]:
        # A part of a kind the SDK does not know, and unknown top-level fields.
        candidate = {"content": {"parts": [{"futurePart": {"a": 1}}], "role": "model"}, "index": 0}
        chunk = {
            "candidates": [candidate],
            "usageMetadata": self._prompt_usage(),
            "modelVersion": self._ctx.model,
            "futureField": {"phase": "thinking"},
        }
        return [_sse(None, chunk, "\r\n")]

    def malformed(self) -> bytes:
        return b'data: {"candidates": [{"content": {"par\r\n\r\n'


def encoder_for(
    api: Api, ctx: StreamContext, body: dict[str, Any], include_usage: bool
) -> StreamEncoder:
    if api == "anthropic":
        return AnthropicEncoder(ctx)
    if api == "openai_responses":
        reasoning = body.get("reasoning")
        return ResponsesEncoder(ctx, reasoning if isinstance(reasoning, dict) else None)
    if api == "openai_chat":
        return ChatEncoder(ctx, include_usage)
    return GeminiEncoder(ctx)


def chat_completion(ctx: StreamContext, thinking: str, text: str, usage: TokenCounts) -> bytes:
    """A whole Chat Completions response (``stream: false``), as PAL's OpenAI-compatible
    providers ask for it."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if thinking:
        message["reasoning_content"] = thinking
    body = {
        "id": f"chatcmpl-sim{ctx.request_number:04d}",
        "object": "chat.completion",
        "created": CREATED_AT,
        "model": ctx.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": usage.input,
            "completion_tokens": usage.output,
            "total_tokens": usage.input + usage.output,
            "completion_tokens_details": {"reasoning_tokens": usage.thinking},
            "prompt_tokens_details": {"cached_tokens": ctx.cached_tokens},
        },
    }
    return json.dumps(body).encode()


def stream_headers(api: Api, request_number: int) -> dict[str, str]:
    headers = {"cache-control": "no-cache"}
    if api == "anthropic":
        headers["request-id"] = f"req_sim_{request_number:04d}"
    elif api in ("openai_responses", "openai_chat"):
        headers["x-request-id"] = f"req_sim_{request_number:04d}"
    return headers
