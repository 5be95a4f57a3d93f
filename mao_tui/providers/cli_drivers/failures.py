"""What a command-line tool's failure text means, as one :class:`ErrorKind`.

The tools report errors as prose ("API Error: 529 ...", "You've hit your usage limit", "unknown
option '--foo'"), sometimes wrapped in JSON on stderr. The patterns below are ordered: the first
match wins, so the more specific come first.
"""

from __future__ import annotations

import json
import re
import signal
from typing import Any

from mao_tui.providers.base import ErrorKind
from mao_tui.providers.errors import from_error_fields, kind_for_status

_PATTERNS: list[tuple[re.Pattern[str], ErrorKind]] = [
    (
        re.compile(
            r"not logged in|please (run )?/?log ?in|log ?in again|unauthori[sz]ed|\b401\b"
            r"|authentication (failed|error|required)|invalid (x-)?api[ _-]?key"
            r"|invalid (oauth )?token|token (has )?expired",
            re.I,
        ),
        ErrorKind.AUTH,
    ),
    (
        re.compile(
            r"usage limit|exhausted your capacity|quota|credit balance|billing"
            r"|insufficient[ _]funds",
            re.I,
        ),
        ErrorKind.QUOTA,
    ),
    (
        re.compile(
            r"context[ _-]?(length|window)|prompt is too long|too many tokens|maximum context",
            re.I,
        ),
        ErrorKind.CONTEXT_LENGTH,
    ),
    (
        re.compile(r"overloaded|\b529\b|\b503\b|no capacity|\bUNAVAILABLE\b", re.I),
        ErrorKind.OVERLOADED,
    ),
    (
        re.compile(r"rate[ _-]?limit|too many requests|\b429\b|RESOURCE_EXHAUSTED", re.I),
        ErrorKind.RATE_LIMITED,
    ),
    (
        re.compile(
            r"model\b.{0,80}\b(not found|does not exist|not available|not supported)"
            r"|unknown model|invalid model|model_not_found|not_found_error",
            re.I,
        ),
        ErrorKind.NOT_FOUND,
    ),
    (
        re.compile(
            r"unknown (option|argument|flag|command)|unrecognized (option|argument)"
            r"|unexpected argument|invalid (value|choice) for|requires --|missing required"
            r"|not enough arguments|too many arguments",
            re.I,
        ),
        ErrorKind.BAD_REQUEST,
    ),
    (
        re.compile(
            r"ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|socket hang up|fetch failed"
            r"|network error|stream disconnected|connection (refused|reset|error|closed)",
            re.I,
        ),
        ErrorKind.CONNECTION,
    ),
    (re.compile(r"timed? ?out|ETIMEDOUT|deadline exceeded", re.I), ErrorKind.TIMEOUT),
]
_STATUS = re.compile(r"(?:API Error|status|HTTP)[:= ]+(\d{3})\b", re.I)


def kind_from_text(text: str) -> ErrorKind | None:
    """The kind a tool's error prose names, or None when it names none."""
    for pattern, kind in _PATTERNS:
        if pattern.search(text):
            return kind
    match = _STATUS.search(text)
    if match:
        return kind_for_status(int(match.group(1)), text)
    found = from_error_fields(message=text, default=ErrorKind.CANCELLED)
    return None if found is ErrorKind.CANCELLED else found


def json_error_in(text: str) -> dict[str, Any] | None:
    """The last JSON object in ``text`` that starts a line and carries an ``error``.

    gemini writes ``{"error": {"type", "message", "code"}}`` pretty-printed on stderr, after
    any number of plain warning lines.
    """
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for match in re.finditer(r"(?m)^\s*\{", text):
        try:
            obj, _ = decoder.raw_decode(text, match.end() - 1)
        except ValueError:
            continue
        if isinstance(obj, dict) and "error" in obj:
            found = obj
    return found


def describe_json_error(obj: dict[str, Any]) -> tuple[str, str, object]:
    """(type, message, code) of ``{"error": ...}``, whatever shape the error takes."""
    err = obj.get("error")
    if isinstance(err, dict):
        return str(err.get("type") or ""), str(err.get("message") or ""), err.get("code")
    return "", str(err or ""), None


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def last_lines(text: str, count: int = 6) -> str:
    """The last few non-blank lines, joined: where a tool's error message usually is."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])
