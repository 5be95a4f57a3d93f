"""PAL's error replies, mapped to the common error kinds.

PAL (11.x) answers a failed ``chat`` / ``clink`` call with ``isError: true`` and one text item:
the JSON of its ``ToolOutput`` (``{"status": "error", "content": "...", "metadata": {...}}``),
or, for an exception it did not wrap, the bare message. A provider failure reaches us as
``Error in chat: <Provider> API error for model M after N attempts: Error code: 429 - {...}``
(the OpenAI SDK's text), after PAL's own retries (4 attempts, 1/3/5 s apart, for 429, 5xx and
timeouts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mao_tui.providers.base import ErrorKind, ProviderError
from mao_tui.providers.errors import error, kind_for_status

_STATUS = re.compile(r"(?:Error code|status(?: code)?|HTTP)[:= ]+(\d{3})\b", re.IGNORECASE)
THREAD_EXPIRED = re.compile(r"Conversation thread '[^']*' was not found or has expired")

# (pattern, kind), first match wins; applied when the message carries no HTTP status.
_BY_MESSAGE: tuple[tuple[re.Pattern[str], ErrorKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (
            r"is not available with current API keys|Unknown tool|not found in PATH|"
            r"CLI '[^']*' is not configured",
            ErrorKind.NOT_FOUND,
        ),
        (r"At least one API configuration is required", ErrorKind.NO_KEY),
        (r"api key|unauthori[sz]ed|authentication", ErrorKind.AUTH),
        (r"insufficient_quota|exceeded your current quota", ErrorKind.QUOTA),
        (r"rate.?limit", ErrorKind.RATE_LIMITED),
        (r"content safety policy|blocked by|safety", ErrorKind.CONTENT_POLICY),
        (r"Finish reason: (length|MAX_TOKENS)", ErrorKind.TRUNCATED),
        (
            r"too large|context (length|window)|maximum context|code_too_large",
            ErrorKind.CONTEXT_LENGTH,
        ),
        (r"timed out|timeout", ErrorKind.TIMEOUT),
        (r"connection|connect error|network", ErrorKind.CONNECTION),
        (r"overloaded|unavailable", ErrorKind.OVERLOADED),
        (
            r"must be an absolute path|workspace root|validation error|Field required|"
            r"Input should be|additional properties",
            ErrorKind.BAD_REQUEST,
        ),
    )
)


@dataclass(frozen=True)
class PalReply:
    """One tool result, decoded: PAL's status, its text, and what came with it."""

    status: str
    content: str
    metadata: dict[str, Any]
    continuation_id: str | None


def decode(text: str) -> PalReply:
    """PAL's ToolOutput JSON; anything else is taken as plain text with status ``text``."""
    try:
        data = json.loads(text)
    except ValueError:
        return PalReply("text", text, {}, None)
    if not isinstance(data, dict) or "status" not in data:
        return PalReply("text", text, {}, None)
    content = data.get("content")
    if not isinstance(content, str):
        content = "" if content is None else json.dumps(content)
    offer = data.get("continuation_offer")
    thread = offer.get("continuation_id") if isinstance(offer, dict) else None
    metadata = data.get("metadata")
    return PalReply(
        str(data["status"]),
        content,
        metadata if isinstance(metadata, dict) else {},
        thread if isinstance(thread, str) and thread else None,
    )


def classify_message(message: str) -> ErrorKind:
    """The kind of a PAL error message: its HTTP status when it quotes one, else its words."""
    found = _STATUS.search(message)
    if found:
        kind = kind_for_status(int(found.group(1)), message)
        if kind is ErrorKind.RATE_LIMITED and re.search(r"quota", message, re.IGNORECASE):
            return ErrorKind.QUOTA
        return kind
    for pattern, kind in _BY_MESSAGE:
        if pattern.search(message):
            return kind
    return ErrorKind.SERVER


def pal_error(text: str, *, secrets: Iterable[str] = ()) -> ProviderError:
    """A ProviderError from the text of an ``isError`` tool result."""
    reply = decode(text)
    message = reply.content.strip() or text.strip() or "PAL reported an error"
    if reply.status in ("code_too_large", "resend_prompt"):
        kind = ErrorKind.CONTEXT_LENGTH
    else:
        kind = classify_message(message)
    found = _STATUS.search(message)
    return error(
        kind,
        f"PAL: {message}",
        secrets=secrets,
        status_code=int(found.group(1)) if found else None,
    )
