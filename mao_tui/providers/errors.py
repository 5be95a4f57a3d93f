"""Every failure the provider SDKs raise (or hide), mapped to one :class:`ErrorKind`.

Choices worth knowing:

- 503 is ``overloaded``, like 529: every provider uses it for "no capacity right now" (Gemini's
  UNAVAILABLE "The model is overloaded", OpenAI's "engine is currently overloaded"), and the
  engine's answer is the same as for 529: back off or fall back. 504 is ``timeout``.
- A 429 is ``quota`` when retrying cannot help: OpenAI ``insufficient_quota``; Gemini
  RESOURCE_EXHAUSTED whose message mentions quota or billing *unless* the provider also says
  when to retry (a ``retry-after`` header or a RetryInfo delay) and the quota is not a per-day
  one. Gemini's per-minute limits say "quota" too, and those are plain rate limits.
- An error event inside an HTTP 200 stream has no status: its ``type``/``code`` decides, and
  an unrecognised one is ``server`` (the provider failed mid-answer).
- Only SDK, transport and JSON-decoding exceptions are classified; anything else (a bug) is
  left for the caller to see as it is. ``asyncio.CancelledError`` is never classified.

The SDKs are looked up in ``sys.modules`` rather than imported: an exception can only be an
instance of a class whose module is already loaded, and this module must stay cheap to import.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from typing import Any

from mao_tui.providers.base import ErrorKind, ProviderError, StreamEvent

_MAX_MESSAGE = 600

_CONTEXT = re.compile(
    r"context[ _-]?(length|window|limit)|prompt is too long|too many tokens|token limit"
    r"|exceeds the maximum number of tokens|maximum context|input is too long"
    r"|input token count .* exceeds",
    re.I,
)
_POLICY = re.compile(
    r"content[ _-]?(policy|filter|management)|safety(?![ _]?settings)|flagged|moderation"
    r"|usage polic|prohibited|responsible ai",
    re.I,
)
_QUOTA = re.compile(r"quota|billing|credit balance|insufficient[ _]funds|payment", re.I)
_BAD_KEY = re.compile(
    r"api[ _-]?key (not valid|invalid)|invalid api[ _-]?key|API_KEY_INVALID", re.I
)
_DAILY = re.compile(r"per ?day|PerDay|daily", re.I)
# A bad request naming one of these rejected the thinking setting, not the prompt.
_THINKING_PARAM = re.compile(
    r"thinking|reasoning|\beffort\b|budget_tokens|output_config|include_thoughts", re.I
)
_SECRETISH = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})|([?&]key=)[^&\s'\"]+")

_BY_CODE: dict[str, ErrorKind] = {
    "rate_limit_exceeded": ErrorKind.RATE_LIMITED,
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "requests": ErrorKind.RATE_LIMITED,
    "tokens": ErrorKind.RATE_LIMITED,
    "insufficient_quota": ErrorKind.QUOTA,
    "billing_error": ErrorKind.QUOTA,
    "billing_hard_limit_reached": ErrorKind.QUOTA,
    "context_length_exceeded": ErrorKind.CONTEXT_LENGTH,
    "request_too_large": ErrorKind.CONTEXT_LENGTH,
    "string_above_max_length": ErrorKind.CONTEXT_LENGTH,
    "overloaded_error": ErrorKind.OVERLOADED,
    "server_overloaded": ErrorKind.OVERLOADED,
    "server_is_overloaded": ErrorKind.OVERLOADED,
    "slow_down": ErrorKind.OVERLOADED,
    "server_error": ErrorKind.SERVER,
    "internal_error": ErrorKind.SERVER,
    "api_error": ErrorKind.SERVER,
    "timeout_error": ErrorKind.TIMEOUT,
    "authentication_error": ErrorKind.AUTH,
    "permission_error": ErrorKind.AUTH,
    "invalid_api_key": ErrorKind.AUTH,
    "not_found_error": ErrorKind.NOT_FOUND,
    "model_not_found": ErrorKind.NOT_FOUND,
    "content_policy_violation": ErrorKind.CONTENT_POLICY,
    "content_filter": ErrorKind.CONTENT_POLICY,
    "invalid_prompt": ErrorKind.CONTENT_POLICY,
    "bio_policy": ErrorKind.CONTENT_POLICY,
    "misalignment_policy_violation": ErrorKind.CONTENT_POLICY,
    "image_content_policy_violation": ErrorKind.CONTENT_POLICY,
    "refusal": ErrorKind.CONTENT_POLICY,
    # Gemini / gRPC statuses
    "RESOURCE_EXHAUSTED": ErrorKind.RATE_LIMITED,
    "UNAVAILABLE": ErrorKind.OVERLOADED,
    "INTERNAL": ErrorKind.SERVER,
    "DEADLINE_EXCEEDED": ErrorKind.TIMEOUT,
    "UNAUTHENTICATED": ErrorKind.AUTH,
    "PERMISSION_DENIED": ErrorKind.AUTH,
    "NOT_FOUND": ErrorKind.NOT_FOUND,
}


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """``message`` without the given secrets or anything shaped like an API key, capped."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    message = _SECRETISH.sub(lambda m: (m.group(2) or "") + "***", message)
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return message


def error(
    kind: ErrorKind,
    message: str,
    *,
    secrets: Iterable[str] = (),
    status_code: int | None = None,
    retry_after: float | None = None,
    thinking_rejected: bool | None = None,
) -> ProviderError:
    """A classified error; ``thinking_rejected`` None reads it from the message (see
    :func:`rejects_thinking`), which only an error message from the provider may decide."""
    if thinking_rejected is None:
        thinking_rejected = rejects_thinking(kind, message)
    return ProviderError(
        kind,
        redact(message, secrets),
        status_code=status_code,
        retry_after=retry_after,
        thinking_rejected=thinking_rejected,
    )


def rejects_thinking(kind: ErrorKind, message: str) -> bool:
    """True for a bad request whose message names a thinking parameter or value."""
    return kind is ErrorKind.BAD_REQUEST and _THINKING_PARAM.search(message) is not None


def classify(exc: BaseException, *, secrets: Iterable[str] = ()) -> ProviderError | None:
    """The :class:`ProviderError` for ``exc``, or None when it is not a provider failure."""
    if isinstance(exc, ProviderError):
        return exc
    if not isinstance(exc, Exception):
        return None  # CancelledError, KeyboardInterrupt, GeneratorExit: never ours to swallow
    secrets = tuple(secrets)
    for classifier in (_anthropic, _openai, _gemini, _transport):
        found = classifier(exc)
        if found is not None:
            kind, message, status, retry_after = found
            return error(
                kind, message, secrets=secrets, status_code=status, retry_after=retry_after
            )
    return None


def from_error_fields(
    *,
    code: object = None,
    type_: object = None,
    message: str = "",
    status: int | None = None,
    default: ErrorKind = ErrorKind.SERVER,
) -> ErrorKind:
    """The kind for an error known only by its body fields (in-stream errors, failed responses)."""
    for value in (code, type_):
        if isinstance(value, str) and value in _BY_CODE:
            return _BY_CODE[value]
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return kind_for_status(int(value), message)
    if status is not None:
        return kind_for_status(status, message)
    return _from_message(message) or default


def kind_for_status(status: int, message: str = "") -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 402:
        return ErrorKind.QUOTA
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status in (408, 504):
        return ErrorKind.TIMEOUT
    if status == 413:
        return ErrorKind.CONTEXT_LENGTH
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status in (503, 529):
        return ErrorKind.OVERLOADED
    if status >= 500:
        return ErrorKind.SERVER
    return _from_message(message) or ErrorKind.BAD_REQUEST


def _from_message(message: str) -> ErrorKind | None:
    if _BAD_KEY.search(message):
        return ErrorKind.AUTH
    if _CONTEXT.search(message):
        return ErrorKind.CONTEXT_LENGTH
    if _POLICY.search(message):
        return ErrorKind.CONTENT_POLICY
    if _QUOTA.search(message):
        return ErrorKind.QUOTA
    return None


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


_Found = tuple[ErrorKind, str, int | None, float | None]


def _headers_of(exc: Any) -> Mapping[str, str] | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if isinstance(headers, Mapping) else None


def _anthropic(exc: Exception) -> _Found | None:
    if "anthropic" not in sys.modules:
        return None
    import anthropic as sdk

    if not isinstance(exc, sdk.AnthropicError):
        return None
    name = type(exc).__name__
    if isinstance(exc, sdk.APITimeoutError):
        return ErrorKind.TIMEOUT, f"{name}: request timed out", None, None
    if isinstance(exc, sdk.APIConnectionError):
        return ErrorKind.CONNECTION, f"{name}: {exc.message}", None, None
    if isinstance(exc, sdk.APIStatusError):
        detail = exc.api_message or exc.message
        type_ = exc.type
        if exc.status_code == 200:  # an `event: error` inside the stream
            kind = from_error_fields(type_=type_, message=detail)
            return kind, f"in-stream {type_ or 'error'}: {detail}", None, None
        kind = kind_for_status(exc.status_code, detail)
        if type_ in _BY_CODE and kind in (ErrorKind.BAD_REQUEST, ErrorKind.SERVER):
            kind = _BY_CODE[type_]
        if exc.status_code == 400:
            kind = _from_message(detail) or kind
        retry_after = retry_after_from_headers(_headers_of(exc))
        return (
            kind,
            f"HTTP {exc.status_code} {type_ or name}: {detail}",
            exc.status_code,
            retry_after,
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return ErrorKind.SERVER, f"{name}: {exc.message}", exc.status_code, None
    return ErrorKind.SERVER, f"{name}: {exc}", None, None


def _openai(exc: Exception) -> _Found | None:
    if "openai" not in sys.modules:
        return None
    import openai as sdk

    if not isinstance(exc, sdk.OpenAIError):
        return None
    name = type(exc).__name__
    if isinstance(exc, sdk.APITimeoutError):
        return ErrorKind.TIMEOUT, f"{name}: request timed out", None, None
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause else exc.message
        return ErrorKind.CONNECTION, f"{name}: {detail}", None, None
    if isinstance(exc, sdk.ContentFilterFinishReasonError):
        return ErrorKind.CONTENT_POLICY, f"{name}: {exc}", None, None
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        code, type_ = exc.code, exc.type
        kind = kind_for_status(status, exc.message)
        if code == "insufficient_quota" or type_ == "insufficient_quota":
            kind = ErrorKind.QUOTA
        elif status in (400, 422) or (kind == ErrorKind.SERVER and code in _BY_CODE):
            kind = from_error_fields(code=code, message=exc.message, default=kind)
        retry_after = retry_after_from_headers(_headers_of(exc))
        label = code or type_ or name
        if exc.param:
            label = f"{label} (param {exc.param})"
        return kind, f"HTTP {status} {label}: {_body_message(exc)}", status, retry_after
    if isinstance(exc, sdk.APIResponseValidationError):
        return ErrorKind.SERVER, f"{name}: {exc.message}", exc.status_code, None
    if isinstance(exc, sdk.APIError):  # an error object inside a 200 stream
        kind = from_error_fields(code=exc.code, type_=exc.type, message=exc.message)
        label = exc.code or exc.type or "error"
        return kind, f"in-stream {label}: {exc.message}", None, None
    return None


def _body_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(getattr(exc, "message", exc))


def _gemini(exc: Exception) -> _Found | None:
    if "google.genai.errors" not in sys.modules:
        return None
    from google.genai import errors

    if isinstance(exc, errors.UnknownApiResponseError):
        return ErrorKind.SERVER, f"malformed response: {exc}", None, None
    if not isinstance(exc, errors.APIError):
        return None
    code = exc.code if isinstance(exc.code, int) else 0
    status = exc.status if isinstance(exc.status, str) else None
    message = exc.message if isinstance(exc.message, str) else str(exc)
    response = getattr(exc, "response", None)
    http_status = getattr(response, "status_code", None)
    in_stream = http_status == 200
    retry_after = retry_after_from_headers(_headers_of(exc)) or _retry_delay(exc.details)
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        daily = _DAILY.search(json.dumps(exc.details, default=str)) is not None
        exhausted = _QUOTA.search(message) is not None
        kind = (
            ErrorKind.QUOTA
            if exhausted and (daily or retry_after is None)
            else ErrorKind.RATE_LIMITED
        )
    elif code:
        kind = kind_for_status(code, message)
        if code in (400, 403):
            kind = _from_message(message) or kind
    else:
        kind = from_error_fields(code=status, message=message)
    where = "in-stream " if in_stream else "HTTP "
    label = f"{code} {status}" if status else str(code)
    return kind, f"{where}{label}: {message}", (None if in_stream else code or None), retry_after


def _retry_delay(details: object) -> float | None:
    """Gemini's ``google.rpc.RetryInfo`` delay, e.g. ``"33.2s"``."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"([\d.]+)s", str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _transport(exc: Exception) -> _Found | None:
    name = type(exc).__name__
    # httpx2 is what the SDKs use; httpx and aiohttp only if someone swapped the transport.
    for module in ("httpx2", "httpx"):
        lib: Any = sys.modules.get(module)
        if lib is None:
            continue
        if isinstance(exc, lib.TimeoutException):
            return ErrorKind.TIMEOUT, f"{name}: no data within the timeout", None, None
        if isinstance(exc, lib.TransportError):
            return ErrorKind.CONNECTION, f"{name}: {exc}", None, None
    aiohttp: Any = sys.modules.get("aiohttp")
    if aiohttp is not None and isinstance(exc, aiohttp.ClientError):
        return ErrorKind.CONNECTION, f"{name}: {exc}", None, None
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT, f"{name}: no data within the timeout", None, None
    if isinstance(exc, ConnectionError):
        return ErrorKind.CONNECTION, f"{name}: {exc}", None, None
    if isinstance(exc, json.JSONDecodeError):
        return ErrorKind.SERVER, f"malformed response: {exc}", None, None
    return None


async def classified(
    events: AsyncGenerator[StreamEvent, None], *, secrets: Iterable[str] = ()
) -> AsyncIterator[StreamEvent]:
    """``events`` with every provider failure re-raised as a :class:`ProviderError`.

    The inner generator is closed with the outer one, so an abandoned stream releases its
    connection at once instead of at garbage collection.
    """
    secrets = tuple(secrets)
    try:
        async with contextlib.aclosing(events) as inner:
            async for event in inner:
                yield event
    except Exception as exc:
        mapped = classify(exc, secrets=secrets)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
