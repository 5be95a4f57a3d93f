"""Claude Code: ``claude -p --output-format stream-json --verbose [--include-partial-messages]``.

With partial messages, ``stream_event`` lines carry the raw Messages API deltas and are streamed
as they come; the ``assistant`` line that repeats a streamed message is then skipped (its
``tool_use`` blocks still become notes). Without them, each ``assistant`` line is one delta.
The ``result`` line ends the call: its ``is_error`` decides, it carries usage and
``total_cost_usd``, and with ``is_error`` the exit status is non-zero (2 has been seen) while the
JSON is still on stdout.

An API failure arrives as an ``assistant`` line with a top-level ``error`` (``rate_limit``,
``authentication_failed``, ...) whose content is placeholder text ("API Error: 429 ..."), then a
``result`` with ``is_error`` and ``api_error_status``. The placeholder is never streamed as an
answer; the status decides the kind (a 429 is a rate limit, retried as such), then the ``error``
code, then the text.
"""

from __future__ import annotations

from typing import Any

from mao_tui.providers.base import ErrorKind, StreamEvent, Usage
from mao_tui.providers.cli.drivers.base import LineParser, as_int, tool_note
from mao_tui.providers.cli.drivers.failures import kind_for_stated_status, kind_from_text
from mao_tui.providers.sdk.anthropic_api import CUT_OFF_STOP_REASONS

_SUBTYPE_KINDS = {
    "error_max_turns": ErrorKind.TRUNCATED,
    "error_max_budget_usd": ErrorKind.QUOTA,
}
# The assistant message's ``error`` (claude-agent-sdk's AssistantMessageError).
_API_ERROR_KINDS = {
    "authentication_failed": ErrorKind.AUTH,
    "billing_error": ErrorKind.QUOTA,
    "rate_limit": ErrorKind.RATE_LIMITED,
    "invalid_request": ErrorKind.BAD_REQUEST,
    "server_error": ErrorKind.SERVER,
}


class ClaudeParser(LineParser):
    def __init__(self, tool: str) -> None:
        super().__init__(tool)
        self._streamed: set[str] = set()  # message ids whose content came as deltas
        self._current: str = ""  # the message id of the latest message_start
        self._api_error: tuple[str, str] | None = None  # (error code, placeholder text)
        self._last_stop = ""  # the latest assistant message's stop_reason, when it gives one

    def on_event(self, obj: dict[str, Any]) -> list[StreamEvent]:
        kind = obj.get("type")
        if kind == "stream_event":
            event = obj.get("event")
            return self._stream_event(event) if isinstance(event, dict) else []
        if kind == "assistant":
            message = obj.get("message")
            if not isinstance(message, dict):
                return []
            if obj.get("error"):
                code, text = str(obj["error"]), _placeholder(message)
                self._api_error = (code, text)
                kind = _API_ERROR_KINDS.get(code) or kind_from_text(text) or ErrorKind.SERVER
                self.failure = (kind, text or code)  # until the result says more
                return []  # its text is "API Error: ...", not an answer
            return self._assistant(message)
        if kind == "result":
            return self._result(obj)
        return []  # system/init, user (tool results), rate_limit_event, and whatever comes next

    def _stream_event(self, event: dict[str, Any]) -> list[StreamEvent]:
        etype = event.get("type")
        if etype == "message_start":
            message = event.get("message")
            self._current = str(message.get("id") or "") if isinstance(message, dict) else ""
            return []
        if etype != "content_block_delta":
            return []
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return []
        self._streamed.add(self._current)
        if delta.get("type") == "thinking_delta":
            return self.thinking(str(delta.get("thinking") or ""), self._current)
        if delta.get("type") == "text_delta":
            return self.text(str(delta.get("text") or ""), self._current)
        return []

    def _assistant(self, message: dict[str, Any]) -> list[StreamEvent]:
        if message.get("stop_reason"):
            self._last_stop = str(message["stop_reason"])
        mid = str(message.get("id") or "")
        streamed = mid in self._streamed
        out: list[StreamEvent] = []
        blocks = message.get("content")
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "tool_use":
                note = tool_note(str(block.get("name") or "tool"), block.get("input"))
                out += self.note(note, f"tool:{block.get('id') or len(out)}")
            elif streamed:
                continue
            elif btype == "thinking":
                out += self.thinking(str(block.get("thinking") or ""), mid)
            elif btype == "text":
                out += self.text(str(block.get("text") or ""), mid)
        return out

    def _result(self, obj: dict[str, Any]) -> list[StreamEvent]:
        usage = obj.get("usage")
        if isinstance(usage, dict):
            cached = as_int(usage.get("cache_read_input_tokens"))
            self.usage = Usage(
                input_tokens=as_int(usage.get("input_tokens"))
                + as_int(usage.get("cache_creation_input_tokens"))
                + cached,
                output_tokens=as_int(usage.get("output_tokens")),
                cached_input_tokens=cached,
                cache_write_tokens=as_int(usage.get("cache_creation_input_tokens")),
                cost_usd=_cost(obj.get("total_cost_usd")),
            )
        elif _cost(obj.get("total_cost_usd")) is not None:
            self.usage = Usage(cost_usd=_cost(obj.get("total_cost_usd")))
        subtype = str(obj.get("subtype") or "")
        result = obj.get("result")
        text = result if isinstance(result, str) else ""
        if obj.get("is_error") or subtype.startswith("error"):
            code, placeholder = self._api_error or ("", "")
            detail = text or placeholder or subtype or "is_error without a message"
            status = obj.get("api_error_status")
            if isinstance(status, int) and not isinstance(status, bool):
                kind = kind_for_stated_status(status, f"{code} {detail}")
            else:
                kind = (
                    _SUBTYPE_KINDS.get(subtype)
                    or _API_ERROR_KINDS.get(code)
                    or kind_from_text(detail)
                    or ErrorKind.SERVER
                )
            self.failure = (kind, detail)
            return []
        self.done = True
        self.failure = None  # an API error the tool recovered from itself
        self.stop_reason = str(obj.get("stop_reason") or self._last_stop or subtype or "end_turn")
        if self.stop_reason in CUT_OFF_STOP_REASONS:  # not a whole answer, however it ended
            self.failure = (
                ErrorKind.TRUNCATED,
                f"the answer was cut off at the output limit (stop_reason={self.stop_reason})",
            )
        if not self.text_emitted and text:
            return self.text(text, "result")
        return []


def _placeholder(message: dict[str, Any]) -> str:
    blocks = message.get("content")
    texts = [
        str(b.get("text") or "")
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "text"
    ]
    return " ".join(t for t in texts if t)


def _cost(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
