"""The HTTP error replies of each imitated API: status, headers and the provider's body shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mao_tui.simulator.faults import HttpErrorKind
from mao_tui.simulator.routes import Api
from mao_tui.simulator.sse import dumps


@dataclass(frozen=True, slots=True)
class ErrorReply:
    status: int
    headers: dict[str, str]
    body: bytes


_ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit (simulated).",
    ),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "auth": (401, "authentication_error", "invalid x-api-key"),
    "not_found": (404, "not_found_error", "model: {model}"),
    "context_length": (
        400,
        "invalid_request_error",
        "prompt is too long: 214372 tokens > 200000 maximum",
    ),
}
# OpenAI and OpenAI-compatible servers answer overload with 503, not Anthropic's 529.
_OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "rate_limit": (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} on requests per min (RPM): Limit 500, "
        "Used 500, Requested 1. Please try again in 500ms.",
    ),
    "server_error": (
        500,
        "server_error",
        "server_error",
        "The server had an error while processing your request. Sorry about that!",
    ),
    "overloaded": (
        503,
        "server_error",
        None,
        "The engine is currently overloaded, please try again later.",
    ),
    "auth": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key in your account settings.",
    ),
    "not_found": (
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    "context_length": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "Your input exceeds the context window of this model. "
        "Please adjust your input and try again.",
    ),
}
_GEMINI_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted: too many requests, retry shortly (simulated).",
    ),
    "server_error": (500, "INTERNAL", "An internal error has occurred. Please retry or report it."),
    "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "auth": (401, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
    "not_found": (
        404,
        "NOT_FOUND",
        "models/{model} is not found for API version v1beta, or is not supported "
        "for generateContent.",
    ),
    "context_length": (
        400,
        "INVALID_ARGUMENT",
        "The input token count (1210931) exceeds the maximum number of tokens allowed (1048576).",
    ),
}


def credentials_echo_reply(api: Api, credentials: str, request_number: int) -> ErrorReply:
    """A 401 whose message repeats the credentials the request carried (``echo_credentials``)."""
    message = f"invalid credentials: {credentials}"
    if api == "anthropic":
        return anthropic_error(401, "authentication_error", message, request_number)
    if api == "gemini":
        return gemini_error(401, "UNAUTHENTICATED", message)
    return openai_error(401, "invalid_request_error", "invalid_api_key", message)


def thinking_rejected_reply(api: Api, param: str, value: str, request_number: int) -> ErrorReply:
    """A 400 naming the thinking parameter and value, as each API phrases an unsupported one."""
    if api == "anthropic":
        message = f"{param}: {value!r} is not supported by this model"
        return anthropic_error(400, "invalid_request_error", message, request_number)
    if api == "gemini":
        message = f"Invalid value at '{param}' ({value}): not supported by this model."
        return gemini_error(400, "INVALID_ARGUMENT", message)
    message = f"Unsupported value: '{param}' does not support '{value}' with this model."
    return openai_error(400, "invalid_request_error", "unsupported_value", message, param=param)


def market_thinking_reply(api: Api, param: str, message: str, request_number: int) -> ErrorReply:
    """The 400 a provider answers a thinking parameter the model rejects with (simulator/market)."""
    if api == "anthropic":
        return anthropic_error(400, "invalid_request_error", message, request_number)
    if api == "gemini":
        return gemini_error(400, "INVALID_ARGUMENT", message)
    return openai_error(400, "invalid_request_error", "unsupported_value", message, param=param)


def error_reply(
    api: Api,
    kind: HttpErrorKind,
    *,
    model: str,
    retry_after: float,
    request_number: int,
    status: int | None = None,
) -> ErrorReply:
    """The reply for an HTTP error fault; ``status`` replaces the usual one (e.g. 503 or 529
    for ``overloaded``) with the body unchanged."""
    reply = _error_reply(api, kind, model, retry_after, request_number)
    return reply if status is None else ErrorReply(status, reply.headers, reply.body)


def _error_reply(
    api: Api, kind: HttpErrorKind, model: str, retry_after: float, request_number: int
) -> ErrorReply:
    headers = {"content-type": "application/json"}
    if kind == "rate_limit":
        headers["retry-after"] = f"{retry_after:g}"
    if api == "anthropic":
        status, type_, message = _ANTHROPIC_ERRORS[kind]
        return anthropic_error(status, type_, message.format(model=model), request_number, headers)
    if api == "gemini":
        status, grpc, message = _GEMINI_ERRORS[kind]
        details = (
            [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{retry_after:g}s",
                }
            ]
            if kind == "rate_limit"
            else None
        )
        return gemini_error(status, grpc, message.format(model=model), headers, details)
    status, type_, code, message = _OPENAI_ERRORS[kind]
    return openai_error(status, type_, code, message.format(model=model), headers)


def anthropic_error(
    status: int,
    type_: str,
    message: str,
    request_number: int,
    headers: dict[str, str] | None = None,
) -> ErrorReply:
    body = {
        "type": "error",
        "error": {"type": type_, "message": message},
        "request_id": f"req_sim_{request_number:04d}",
    }
    return ErrorReply(status, headers or {"content-type": "application/json"}, dumps(body).encode())


def openai_error(
    status: int,
    type_: str,
    code: str | None,
    message: str,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> ErrorReply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return ErrorReply(status, headers or {"content-type": "application/json"}, dumps(body).encode())


def gemini_error(
    status: int,
    grpc_status: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> ErrorReply:
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc_status}
    if details:
        error["details"] = details
    body = {"error": error}
    return ErrorReply(status, headers or {"content-type": "application/json"}, dumps(body).encode())


def plain_error(api: Api, status: int, message: str, request_number: int) -> ErrorReply:
    """An error outside the fault kinds (unknown path, unsupported request) in ``api``'s shape."""
    if api == "anthropic":
        type_ = "not_found_error" if status == 404 else "invalid_request_error"
        return anthropic_error(status, type_, message, request_number)
    if api == "gemini":
        grpc = "NOT_FOUND" if status == 404 else "INVALID_ARGUMENT"
        return gemini_error(status, grpc, message)
    return openai_error(status, "invalid_request_error", None, message)
