"""Gemini CLI: ``gemini -o stream-json``. Every event has ``type`` and ``timestamp``.

Assistant ``message`` events with ``delta: true`` are streamed as they come; a tool call starts a
new paragraph. ``error`` events with severity ``error`` fail the call unless a successful
``result`` follows; warnings become notes. ``result`` ends the call with ``stats``, whose
``output_tokens`` counts candidates only: the thinking tokens are what ``total_tokens`` holds
beyond input and output, and they bill as output. Documented exit statuses: 41 auth, 42 input,
44 sandbox, 52 config, 53 turn limit, 54 tool failure (with a JSON error on stderr), 130
cancelled.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mao_tui.providers.base import ErrorKind, StreamEvent, Usage
from mao_tui.providers.cli.drivers.base import LineParser, as_int, tool_note
from mao_tui.providers.cli.drivers.failures import kind_from_text


class GeminiParser(LineParser):
    exit_kinds: ClassVar[dict[int, ErrorKind]] = {
        41: ErrorKind.AUTH,
        42: ErrorKind.BAD_REQUEST,
        44: ErrorKind.BAD_REQUEST,
        52: ErrorKind.BAD_REQUEST,
        53: ErrorKind.TRUNCATED,
        54: ErrorKind.SERVER,
        130: ErrorKind.CANCELLED,
    }

    def __init__(self, tool: str) -> None:
        super().__init__(tool)
        self._turn = 0  # bumped by each tool call: the next text is a new paragraph
        self._error_event: tuple[ErrorKind, str] | None = None

    def on_event(self, obj: dict[str, Any]) -> list[StreamEvent]:
        kind = obj.get("type")
        if kind == "message":
            return self._message(obj)
        if kind == "tool_use":
            self._turn += 1
            name = str(obj.get("tool_name") or "tool")
            return self.note(tool_note(name, obj.get("parameters")), f"tool:{obj.get('tool_id')}")
        if kind == "tool_result" and obj.get("status") == "error":
            err = obj.get("error")
            message = err.get("message") if isinstance(err, dict) else obj.get("output")
            return self.note(tool_note("tool error", message), f"tool:{obj.get('tool_id')}")
        if kind == "error":
            message = str(obj.get("message") or "error event without a message")
            if obj.get("severity") == "warning":
                return self.note(tool_note("warning", message), f"warning:{self.json_lines}")
            self._error_event = (kind_from_text(message) or ErrorKind.SERVER, message)
            self.failure = self._error_event
            return []
        if kind == "result":
            self._result(obj)
        return []

    def _message(self, obj: dict[str, Any]) -> list[StreamEvent]:
        if obj.get("role") != "assistant":
            return []  # the user's own prompt, echoed back
        content = obj.get("content")
        if not isinstance(content, str):
            return []
        if obj.get("thought"):
            return self.thinking(content, f"turn:{self._turn}")
        return self.text(content, f"turn:{self._turn}")

    def _result(self, obj: dict[str, Any]) -> None:
        stats = obj.get("stats")
        if isinstance(stats, dict):
            prompt = as_int(stats.get("input_tokens"))
            candidates = as_int(stats.get("output_tokens"))
            thoughts = max(as_int(stats.get("total_tokens")) - prompt - candidates, 0)
            self.usage = Usage(
                input_tokens=prompt,
                output_tokens=candidates + thoughts,
                thinking_tokens=thoughts,
                cached_input_tokens=as_int(stats.get("cached")),
            )
        if obj.get("status") == "success":
            self.done = True
            self.failure = None
            self.stop_reason = "success"
            return
        err = obj.get("error")
        if isinstance(err, dict):
            message = f"{err.get('type') or 'error'}: {err.get('message') or ''}".strip()
        else:
            message = self._error_event[1] if self._error_event else "result status error"
        kind = kind_from_text(message) or (self._error_event or (ErrorKind.SERVER, ""))[0]
        self.failure = (kind, message)
