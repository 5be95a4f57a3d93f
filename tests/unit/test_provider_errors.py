"""The mapping of SDK and transport failures to an ErrorKind, for failures the simulator does not
script: built by hand, without a server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import pytest

from mao_tui.providers.base import ErrorKind
from mao_tui.providers.errors import classify, redact, retry_after_from_headers

API_KEY = "sk-test-0123456789-secret"


def _httpx2_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> httpx2.Response:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/x")
    return httpx2.Response(status, json=body, headers=headers or {}, request=request)


def test_openai_insufficient_quota_is_quota_not_rate_limit() -> None:
    import openai

    body = {
        "message": "You exceeded your current quota.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
    exc = openai.RateLimitError("quota", response=_httpx2_response(429, {"error": body}), body=body)
    err = classify(exc)
    assert err is not None and err.kind is ErrorKind.QUOTA


@pytest.mark.parametrize(
    ("message", "details", "headers", "expected", "retry_after"),
    [
        ("Quota exceeded. Check your plan and billing details.", [], {}, ErrorKind.QUOTA, None),
        (
            "You exceeded your current quota. Please retry in 33.2s.",
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "33.2s"}],
            {},
            ErrorKind.RATE_LIMITED,
            33.2,
        ),
        (
            "You exceeded your current quota.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel"}],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "20s"},
            ],
            {},
            ErrorKind.QUOTA,
            20.0,
        ),
        ("Too many requests.", [], {"retry-after": "2"}, ErrorKind.RATE_LIMITED, 2.0),
    ],
)
def test_gemini_resource_exhausted_is_quota_only_when_retrying_cannot_help(
    message: str,
    details: list[object],
    headers: dict[str, str],
    expected: ErrorKind,
    retry_after: float | None,
) -> None:
    from google.genai import errors

    body = {
        "error": {
            "code": 429,
            "message": message,
            "status": "RESOURCE_EXHAUSTED",
            "details": details,
        }
    }
    exc = errors.ClientError(429, body, _httpx2_response(429, body, headers))
    err = classify(exc)
    assert err is not None and err.kind is expected and err.retry_after == retry_after


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "Your credit balance is too low to access the Anthropic API.", ErrorKind.QUOTA),
        (
            400,
            "input length and `max_tokens` exceed context limit: 198000 + 64000 > 200000",
            ErrorKind.CONTEXT_LENGTH,
        ),
        (
            400,
            "max_tokens: 70000 > 64000, the maximum allowed for this model",
            ErrorKind.BAD_REQUEST,
        ),
        (402, "billing", ErrorKind.QUOTA),
        (403, "permission denied", ErrorKind.AUTH),
        (413, "request too large", ErrorKind.CONTEXT_LENGTH),
        (503, "service unavailable", ErrorKind.OVERLOADED),
        (504, "gateway timeout", ErrorKind.TIMEOUT),
    ],
)
def test_anthropic_http_errors(status: int, message: str, expected: ErrorKind) -> None:
    import anthropic
    from anthropic._error_classes import make_status_error

    body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    response = _httpx2_response(status, body)
    exc = make_status_error(f"Error code: {status}", body=body, response=response)
    assert isinstance(exc, anthropic.APIStatusError)
    err = classify(exc)
    assert err is not None and err.kind is expected and err.status_code == status


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "content_policy_violation",
            "Your request was rejected by the safety system.",
            ErrorKind.CONTENT_POLICY,
        ),
        (
            None,
            "Invalid prompt: your prompt was flagged as potentially violating our usage policy",
            ErrorKind.CONTENT_POLICY,
        ),
        (None, "Invalid value for 'safety_settings'.", ErrorKind.BAD_REQUEST),
    ],
)
def test_openai_bad_requests(code: str | None, message: str, expected: ErrorKind) -> None:
    import openai

    body = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    response = _httpx2_response(400, {"error": body})
    exc = openai.BadRequestError(message, response=response, body=body)
    err = classify(exc)
    assert err is not None and err.kind is expected


def test_gemini_invalid_api_key_400_is_auth() -> None:
    from google.genai import errors

    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
        }
    }
    err = classify(errors.ClientError(400, body, _httpx2_response(400, body)))
    assert err is not None and err.kind is ErrorKind.AUTH


def test_builtin_timeout_and_connection_errors() -> None:
    timeout = classify(TimeoutError())
    connection = classify(ConnectionResetError("reset"))
    assert timeout is not None and timeout.kind is ErrorKind.TIMEOUT
    assert connection is not None and connection.kind is ErrorKind.CONNECTION


def test_cancellation_and_bugs_are_never_classified() -> None:
    assert classify(asyncio.CancelledError()) is None
    assert classify(KeyError("a bug")) is None


def test_retry_after_forms() -> None:
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after": "1.5"}) == 1.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    parsed = retry_after_from_headers({"retry-after": later})
    assert parsed is not None and 25 < parsed <= 30
    assert retry_after_from_headers({"retry-after": "soon"}) is None
    assert retry_after_from_headers({}) is None


def test_messages_never_contain_keys() -> None:
    message = f"bad key {API_KEY} at https://x/v1?key=AIzaSyA1234567890abcdefghijk&alt=sse"
    cleaned = redact(message, [API_KEY])
    assert API_KEY not in cleaned and "AIzaSy" not in cleaned
    assert "key=***" in cleaned
    assert redact("sk-proj-abcdefghijklmnop leaked") == "*** leaked"
