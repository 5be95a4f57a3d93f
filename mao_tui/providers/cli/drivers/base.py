"""What every tool's parser shares: JSON-or-not per line, channel separation, and the verdict at
exit (success, or one classified :class:`ProviderError`).

A parser is tolerant by design: an unknown event type or field is ignored, a non-JSON line is
counted and sampled (tools print warnings on stdout), and only the end decides. Drift in a tool's
format shows as a clear ``bad_request`` ("printed no JSON"), never as a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    Heartbeat,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.providers.cli.drivers.failures import (
    describe_json_error,
    error_detail,
    json_error_in,
    kind_from_text,
    signal_name,
    strip_ansi,
)
from mao_tui.providers.errors import error

_SAMPLE_LINES = 5
_SAMPLE_CHARS = 300
_NOTE_CHARS = 160
_NOTE_KEYS = ("command", "file_path", "path", "pattern", "query", "url", "description")


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def tool_note(name: str, params: object) -> str:
    """One line for the thinking panel saying which tool the CLI used, and on what."""
    detail = ""
    if isinstance(params, Mapping):
        for key in _NOTE_KEYS:
            value = params.get(key)
            if isinstance(value, str) and value.strip():
                detail = " ".join(value.split())
                break
        if isinstance(params.get("command"), list):
            detail = " ".join(str(p) for p in params["command"])
    elif isinstance(params, str):
        detail = " ".join(params.split())
    if len(detail) > _NOTE_CHARS:
        detail = detail[: _NOTE_CHARS - 1] + "…"
    return f"[{name}] {detail}".rstrip()


class LineParser:
    """One call's stdout, line by line. Subclasses implement :meth:`on_event`."""

    # Exit statuses the tool documents, with the kind each means.
    exit_kinds: ClassVar[Mapping[int, ErrorKind]] = {}

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.json_lines = 0
        self.plain_lines = 0
        self.plain_sample: list[str] = []
        self.failure: tuple[ErrorKind, str] | None = None
        self.done = False  # the tool's own "finished" event arrived
        self.usage: Usage | None = None
        self.stop_reason = "end_turn"
        self.text_emitted = False
        self._segments: dict[str, str | None] = {"text": None, "thinking": None}

    def feed(self, raw: bytes) -> list[StreamEvent]:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            return []
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            self.plain_lines += 1
            if len(self.plain_sample) < _SAMPLE_LINES:
                self.plain_sample.append(line[:_SAMPLE_CHARS])
            return [Heartbeat()]
        self.json_lines += 1
        return self.on_event(obj) or [Heartbeat()]

    def on_event(self, obj: dict[str, Any]) -> list[StreamEvent]:
        raise NotImplementedError

    def text(self, chunk: str, segment: str = "") -> list[StreamEvent]:
        """A text delta; a new ``segment`` (another message or turn) starts a new paragraph."""
        if not chunk:
            return []
        self.text_emitted = True
        return [TextDelta(self._separated("text", chunk, segment))]

    def thinking(self, chunk: str, segment: str = "") -> list[StreamEvent]:
        if not chunk:
            return []
        return [ThinkingDelta(self._separated("thinking", chunk, segment))]

    def note(self, line: str, segment: str) -> list[StreamEvent]:
        """Tool activity, shown in the thinking channel as a paragraph of its own."""
        return self.thinking(line, segment)

    def _separated(self, channel: str, chunk: str, segment: str) -> str:
        last = self._segments[channel]
        self._segments[channel] = segment
        if last is not None and last != segment:
            return "\n\n" + chunk
        return chunk

    def end(self, returncode: int, stderr: str) -> Iterator[StreamEvent]:
        """Usage and Finished when the call succeeded; else Usage (if any) then the error."""
        if self.usage is not None:
            yield self.usage
        if self.failure is None and returncode == 0 and self.done:
            yield Finished(self.stop_reason)
            return
        raise self.verdict(returncode, stderr)

    def verdict(self, returncode: int, stderr: str) -> ProviderError:
        tool = self.tool
        if self.failure is not None:
            kind, message = self.failure
            if returncode != 0:
                message += f" (exit status {returncode})"
            return error(kind, f"{tool}: {message}")
        if returncode < 0:
            return error(ErrorKind.SERVER, f"{tool} was killed by {signal_name(returncode)}")
        if returncode != 0:
            return self._exit_error(returncode, stderr)
        if self.json_lines == 0 and self.plain_lines:
            # The text is the tool's output, not an error message: "Thinking…" in it is no
            # rejection of the thinking setting.
            return error(
                ErrorKind.BAD_REQUEST,
                f"{tool} printed plain text, not JSON events (flag or format drift? check its "
                f"argv in models.yaml): {' | '.join(self.plain_sample)}",
                thinking_rejected=False,
            )
        if self.json_lines == 0:
            detail = error_detail(stderr)
            return error(
                ErrorKind.TRUNCATED,
                f"{tool} exited without any output" + (f"; stderr: {detail}" if detail else ""),
            )
        return error(ErrorKind.TRUNCATED, f"{tool} exited before its final result event")

    def _exit_error(self, returncode: int, stderr: str) -> ProviderError:
        tool = self.tool
        stderr = strip_ansi(stderr)
        found = json_error_in(stderr)
        from_stdout = False
        if found is not None:
            type_, message, code = describe_json_error(found)
            detail = f"{type_}: {message}" if type_ else message
            text = f"{type_} {message} {code or ''}"
        else:
            detail = error_detail(stderr)
            if not detail:  # nothing on stderr: what it printed is output, not an error
                from_stdout = bool(self.plain_sample)
                detail = " | ".join(self.plain_sample) or "no error message"
            text = "" if from_stdout else detail
        kind = self.exit_kinds.get(returncode) or kind_from_text(text) or ErrorKind.SERVER
        after = " after its result" if self.done else ""
        message = f"{tool} exited with status {returncode}{after}: {detail}"
        return error(kind, message, thinking_rejected=False if from_stdout else None)
