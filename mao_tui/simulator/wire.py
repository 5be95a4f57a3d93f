"""The bytes each imitated API streams: the encoder for a request's API, and the headers.

Each API's format is its own module (simulator/wire_anthropic.py, wire_openai.py,
wire_gemini.py), following ``reference/providers.md`` section 3, as the SDKs accepted them.
"""

from __future__ import annotations

from typing import Any

from mao_tui.simulator.routes import Api
from mao_tui.simulator.sse import StreamContext, StreamEncoder
from mao_tui.simulator.wire_anthropic import AnthropicEncoder
from mao_tui.simulator.wire_gemini import GeminiEncoder
from mao_tui.simulator.wire_openai import ChatEncoder, ResponsesEncoder


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


def stream_headers(api: Api, request_number: int) -> dict[str, str]:
    headers = {"cache-control": "no-cache"}
    if api == "anthropic":
        headers["request-id"] = f"req_sim_{request_number:04d}"
    elif api in ("openai_responses", "openai_chat"):
        headers["x-request-id"] = f"req_sim_{request_number:04d}"
    return headers
