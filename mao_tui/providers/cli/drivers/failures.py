"""What a command-line tool's failure text means, as one :class:`ErrorKind`.

The tools report errors as prose ("API Error: 529 ...", "You've hit your usage limit", "unknown
option '--foo'"), sometimes wrapped in JSON on stderr. A status the text states ("API Error:
429", ``"code": 429``, RESOURCE_EXHAUSTED) decides first: Google's 429 says "check quota" even for
a per-minute limit, so a 429 is a rate limit unless the text says a daily or plan quota is spent.
Without a status, the patterns below are tried in order: the first match wins, so the more
specific come first.

Stderr is also where tools print noise (``[WARN] ...``, "Loaded cached credentials.") and ANSI
colours: :func:`error_detail` strips the colours and keeps the lines that carry the error.
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
# A status stated outright: "API Error: 429", "status 429", "HTTP 429", a JSON "code": 429.
_STATED_STATUS = re.compile(
    r"(?:\bAPI Error|\bstatus(?: code)?|\bHTTP)[:= ]+(\d{3})\b|\"code\"\s*:\s*(\d{3})\b", re.I
)
_GRPC_STATUS = {
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "DEADLINE_EXCEEDED": 504,
}
_GRPC = re.compile(r"\b(" + "|".join(_GRPC_STATUS) + r")\b")
# A 429 that waiting minutes will not fix: a per-day quota, or the plan's allowance spent.
_SPENT = re.compile(
    r"per ?day|PerDay|daily|exhausted your capacity|quota will reset|usage limit"
    r"|insufficient_quota|billing_error|credit balance",
    re.I,
)


def stated_status(text: str) -> int | None:
    """The HTTP status an error text states, from its words or its gRPC status name."""
    match = _STATED_STATUS.search(text)
    if match:
        return int(match.group(1) or match.group(2))
    grpc = _GRPC.search(text)
    return _GRPC_STATUS[grpc.group(1)] if grpc else None


def kind_for_stated_status(status: int, text: str) -> ErrorKind:
    """The kind for an error whose status is known; a 429 is a quota only when spent."""
    if status == 429:
        return ErrorKind.QUOTA if _SPENT.search(text) else ErrorKind.RATE_LIMITED
    return kind_for_status(status, text)


def kind_from_text(text: str) -> ErrorKind | None:
    """The kind a tool's error prose names, or None when it names none."""
    status = stated_status(text)
    # A 400's text says more than its status (a context limit, a bad flag): patterns decide.
    if status is not None and (status in (401, 403, 404, 408, 429) or status >= 500):
        return kind_for_stated_status(status, text)
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


_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, links
    r"|\x1b[@-Z\\-_]"  # any other two-byte escape
    r"|\x9b[0-?]*[ -/]*[@-~]"  # C1 CSI
)
# Lines a tool prints around its error that say nothing about it.
_NOISE = re.compile(
    r"^(\[(WARN|WARNING|INFO|DEBUG)\]"
    r"|Loaded cached credentials"
    r"|Data collection is disabled"
    r"|Server '.*' supports tool updates"
    r"|Error when talking to Gemini API Full report available at"
    r"|An unexpected critical error occurred:\s*\[object Object\]"
    r"|\(node:\d+\)"
    r"|\(Use `node --trace-"
    r"|at .+[:(].*\d+:\d+\)?$"  # a JavaScript stack frame
    r")",
    re.I,
)
_ERRORISH = re.compile(
    r"error|fail|denied|invalid|exceeded|exhausted|unauthori[sz]ed|forbidden|not found"
    r"|quota|limit|refused|timed? ?out|\b[45]\d\d\b",
    re.I,
)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def error_detail(text: str, count: int = 3) -> str:
    """The lines of a tool's stderr that carry its error, without colours or noise, joined.

    Lines that read as an error are preferred (the last few of them); without any, the last
    few meaningful lines."""
    lines = [strip_ansi(line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _NOISE.search(line)]
    errorish = [line for line in lines if _ERRORISH.search(line)]
    return " | ".join((errorish or lines)[-count:])
