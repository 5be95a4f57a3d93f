"""OpenAI's two streams, as the simulator sends them: the Responses API, and Chat Completions as
vLLM and Ollama serve it (with the whole, non-streamed chat completion PAL asks for).

The formats follow ``reference/providers.md`` section 3, as the SDKs accepted them.
"""

from __future__ import annotations

import json
from typing import Any

from mao_tui.simulator.faults import REFUSAL_TEXT
from mao_tui.simulator.pacing import Channel, tokens
from mao_tui.simulator.sse import CREATED_AT, Ending, StreamContext, TokenCounts, sse_event


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
        return sse_event(str(data["type"]), data)

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
        return sse_event(None, chunk)

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
            totals = chat_usage(usage, self._ctx.cached_tokens)
            if self._ctx.minimal_usage:
                del totals["completion_tokens_details"], totals["prompt_tokens_details"]
            out.append(self._chunk([], usage=totals))
        out.append(sse_event(None, "[DONE]"))
        return out

    def error(self) -> list[bytes]:
        body = {
            "error": {
                "message": "The server had an error while streaming.",
                "type": "server_error",
                "code": None,
            }
        }
        return [sse_event(None, body)]

    def unknown(self) -> list[bytes]:
        # A server extension: an unknown delta field and an unknown top-level field.
        return [self._chunk([self._choice({"annotations": [{"kind": "x"}]})], x_progress=0.5)]

    def malformed(self) -> bytes:
        return b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"cont\n\n'


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
        "usage": chat_usage(usage, ctx.cached_tokens),
    }
    return json.dumps(body).encode()


def chat_usage(usage: TokenCounts, cached_tokens: int) -> dict[str, Any]:
    """Chat Completions' ``usage`` object, streamed or whole."""
    return {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "completion_tokens_details": {"reasoning_tokens": usage.thinking},
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }
