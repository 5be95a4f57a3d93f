"""Anthropic Messages' stream, as the simulator sends it: named SSE events, one per HTTP chunk.

The format follows ``reference/providers.md`` section 3, as the SDK accepted it.
"""

from __future__ import annotations

from typing import Any

from mao_tui.simulator.pacing import Channel
from mao_tui.simulator.sse import Ending, StreamContext, TokenCounts, fake_signature, sse_event


class AnthropicEncoder:
    """``event:`` lines are required: the SDK skips events without one."""

    media_type = "text/event-stream; charset=utf-8"

    def __init__(self, ctx: StreamContext) -> None:
        self._ctx = ctx
        self._block: Channel | None = None
        self._index = -1

    def _event(self, data: dict[str, Any]) -> bytes:
        return sse_event(str(data["type"]), data)

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
            signature = fake_signature(f"anthropic-{self._ctx.request_number}")
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
        return [sse_event("error", body)]

    def unknown(self) -> list[bytes]:
        return [
            self._event({"type": "content_block_annotation", "index": self._index, "note": "x"}),
            self._event({"type": "message_progress", "progress": {"phase": "thinking"}}),
        ]

    def malformed(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n'
