"""Gemini's stream, as the simulator sends it: ``data: `` lines with CRLF, no event names.

The format follows ``reference/providers.md`` section 3, as the SDK accepted it.
"""

from __future__ import annotations

from typing import Any

from mao_tui.simulator.pacing import Channel
from mao_tui.simulator.sse import Ending, StreamContext, TokenCounts, fake_signature, sse_event


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
        return sse_event(None, chunk, "\r\n")

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
            part["thoughtSignature"] = fake_signature(f"gemini-{self._ctx.request_number}")
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
        return [sse_event(None, body, "\r\n")]

    def unknown(self) -> list[bytes]:
        # A part of a kind the SDK does not know, and unknown top-level fields.
        candidate = {"content": {"parts": [{"futurePart": {"a": 1}}], "role": "model"}, "index": 0}
        chunk = {
            "candidates": [candidate],
            "usageMetadata": self._prompt_usage(),
            "modelVersion": self._ctx.model,
            "futureField": {"phase": "thinking"},
        }
        return [sse_event(None, chunk, "\r\n")]

    def malformed(self) -> bytes:
        return b'data: {"candidates": [{"content": {"par\r\n\r\n'
