"""Codex: ``codex exec --json``. JSONL of thread/turn/item events.

An item's ``text`` may grow across ``item.started`` / ``item.updated`` / ``item.completed``; only
the new suffix is streamed. ``agent_message`` is the answer, ``reasoning`` the summary of the
model's thinking, commands and other tool items become notes. ``turn.completed`` carries usage
and ends the call; ``turn.failed`` fails it; an ``error`` event fails it unless a turn still
completes afterwards (the tool reports some recoverable errors that way). Codex reports no cost.
"""

from __future__ import annotations

from typing import Any

from mao_tui.providers.base import ErrorKind, StreamEvent, Usage
from mao_tui.providers.cli.drivers.base import LineParser, as_int, tool_note
from mao_tui.providers.cli.drivers.failures import kind_from_text


class CodexParser(LineParser):
    def __init__(self, tool: str) -> None:
        super().__init__(tool)
        self._sent: dict[str, str] = {}  # item id → the text already streamed
        self._noted: set[str] = set()
        self._recoverable = False  # the current failure came from an `error` event
        self._turns = 0
        self._input = self._cached = self._output = self._reasoning = 0

    def on_event(self, obj: dict[str, Any]) -> list[StreamEvent]:
        kind = obj.get("type")
        if kind in ("item.started", "item.updated", "item.completed"):
            item = obj.get("item")
            return self._item(item, kind == "item.completed") if isinstance(item, dict) else []
        if kind == "turn.completed":
            self._turn_completed(obj.get("usage"))
        elif kind == "turn.failed":
            err = obj.get("error")
            message = err.get("message") if isinstance(err, dict) else err
            self._fail(str(message or "turn.failed without a message"), recoverable=False)
        elif kind == "error":
            self._fail(str(obj.get("message") or "error event without a message"), True)
        return []

    def _fail(self, message: str, recoverable: bool) -> None:
        if self.failure is not None and not self._recoverable:
            return  # the first hard failure is the reason
        self.failure = (kind_from_text(message) or ErrorKind.SERVER, message)
        self._recoverable = recoverable
        self.done = False

    def _turn_completed(self, usage: object) -> None:
        if self.failure is not None and not self._recoverable:
            return
        self.failure = None
        self.done = True
        self.stop_reason = "completed"
        self._turns += 1
        if isinstance(usage, dict):
            self._input += as_int(usage.get("input_tokens"))
            self._cached += as_int(usage.get("cached_input_tokens"))
            self._output += as_int(usage.get("output_tokens"))
            self._reasoning += as_int(usage.get("reasoning_output_tokens"))
            self.usage = Usage(
                input_tokens=self._input,
                output_tokens=self._output,
                thinking_tokens=self._reasoning,
                cached_input_tokens=self._cached,
            )

    def _item(self, item: dict[str, Any], completed: bool) -> list[StreamEvent]:
        iid = str(item.get("id") or "")
        itype = item.get("type")
        if itype in ("agent_message", "reasoning"):
            text = item.get("text")
            if not isinstance(text, str):
                return []
            sent = self._sent.get(iid, "")
            if text.startswith(sent):
                new = text[len(sent) :]
            elif completed and not sent:
                new = text
            else:
                return []  # rewritten rather than extended: what was streamed stands
            self._sent[iid] = text
            if itype == "agent_message":
                return self.text(new, iid)
            return self.thinking(new, iid)
        if iid in self._noted:
            return []
        note = _note_for(item)
        if note is None:
            return []
        self._noted.add(iid)
        return self.note(note, f"tool:{iid}")


def _note_for(item: dict[str, Any]) -> str | None:
    itype = item.get("type")
    if itype == "command_execution":
        return tool_note("shell", item.get("command"))
    if itype == "file_change":
        changes = item.get("changes")
        paths = (
            [c.get("path") for c in changes if isinstance(c, dict)]
            if isinstance(changes, list)
            else []
        )
        return tool_note("file_change", ", ".join(str(p) for p in paths))
    if itype == "mcp_tool_call":
        return tool_note(f"{item.get('server') or 'mcp'}.{item.get('tool') or 'tool'}", "")
    if itype == "web_search":
        return tool_note("web_search", item.get("query"))
    if itype == "error":
        return tool_note("error", item.get("message"))
    return None
