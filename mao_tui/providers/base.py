"""The one protocol every model backend speaks, and the one error taxonomy it raises.

Providers never import the engine. Each turns a :class:`ModelRequest` into an async stream of
:data:`StreamEvent` and raises :class:`ProviderError` with an :class:`ErrorKind`; the engine's
policy decides retry versus fallback from the kind alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from mao_tui.settings.thinking import ThinkingControl, ThinkingSettings

if TYPE_CHECKING:
    import httpx2


class ErrorKind(StrEnum):
    AUTH = "auth"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    OVERLOADED = "overloaded"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TRUNCATED = "truncated"
    CONTEXT_LENGTH = "context_length"
    CONTENT_POLICY = "content_policy"
    BAD_REQUEST = "bad_request"
    CANCELLED = "cancelled"
    NO_KEY = "no_api_key"


class ProviderError(Exception):
    """A failed model call, classified. ``message`` never contains an API key."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        thinking_rejected: bool = False,
    ) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        # A 400 that names a thinking parameter or value: the engine retries one level lower.
        self.thinking_rejected = thinking_rejected


def thinking_control(thinking: ThinkingSettings, provider_kind: str) -> ThinkingControl | None:
    """The control a setting uses: its own ``control``, else what its fields and the provider's
    kind imply (None for a CLI tool or PAL, which set thinking their own way)."""
    if thinking.control is not None:
        return thinking.control
    if provider_kind == "anthropic":
        return "anthropic_budget" if thinking.budget_tokens else "anthropic_adaptive"
    if provider_kind in ("openai", "openai_chat"):
        return "openai_effort"
    if provider_kind == "gemini":
        return "gemini_budget" if thinking.budget_tokens and not thinking.level else "gemini_level"
    return None


class ModelRequest(BaseModel):
    """One model call. ``api_model`` is the provider's own name for the model."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    api_model: str
    system: str
    prompt: str
    max_output_tokens: int
    thinking: ThinkingSettings | None
    timeout_s: float  # the SDK's read timeout: the longest wait for the next bytes
    connect_timeout_s: float | None = None  # None: the SDK's own (Gemini takes one timeout)
    # The whole call's deadline, for an SDK that tells the server (Gemini's X-Server-Timeout)
    deadline_s: float | None = None
    # The conversation to continue, for a backend that keeps threads (PAL's continuation_id):
    # what an earlier attempt of the same workstream on the same model reported.
    continuation_id: str | None = None


def request_timeout(request: ModelRequest) -> httpx2.Timeout | float:
    """The SDK timeout: the read timeout, with the connect timeout apart when one is set."""
    if request.connect_timeout_s is None:
        return request.timeout_s
    import httpx2

    return httpx2.Timeout(request.timeout_s, connect=request.connect_timeout_s)


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0  # all input, cached included
    output_tokens: int = 0  # includes thinking tokens, as providers bill them
    thinking_tokens: int = 0
    cached_input_tokens: int = 0  # the part of input_tokens read from the provider's cache
    cache_write_tokens: int = 0  # the part of input_tokens written to the provider's cache
    cost_usd: float | None = None  # the provider's own figure, when it reports one (CLI tools)


@dataclass(frozen=True, slots=True)
class Finished:
    stop_reason: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A wire event carrying no content (message_start, response.created, an empty chunk).

    It proves the stream is alive, so the engine's first-event and idle timers see it; it is
    not a token, so it does not count as output having started.
    """


@dataclass(frozen=True, slots=True)
class Progress:
    """A status line from a backend that does not stream (PAL's MCP progress notifications).

    Shown on the thinking channel and kept with the attempt, but it is not model output: a
    failure after it is still a failure before the first token.
    """

    text: str


@dataclass(frozen=True, slots=True)
class Continuation:
    """The thread a backend keeps for this conversation (PAL's ``continuation_id``); the
    engine passes it back in :attr:`ModelRequest.continuation_id` when the workstream reruns."""

    continuation_id: str


StreamEvent = ThinkingDelta | TextDelta | Usage | Finished | Heartbeat | Progress | Continuation


class Provider(Protocol):
    """A model backend. ``stream`` ends with exactly one :class:`Finished` or raises."""

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...
