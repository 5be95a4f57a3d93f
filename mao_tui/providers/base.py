"""The one protocol every model backend speaks, and the one error taxonomy it raises.

Providers never import the engine. Each turns a :class:`ModelRequest` into an async stream of
:data:`StreamEvent` and raises :class:`ProviderError` with an :class:`ErrorKind`; the engine's
policy decides retry versus fallback from the kind alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict


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
    ) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class ThinkingSettings(BaseModel):
    """Thinking at the maximum, as the provider expects it. Values come from models.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    effort: str | None = None  # anthropic output_config.effort; openai reasoning.effort
    budget_tokens: int | None = None  # anthropic enabled budget; gemini 2.5 thinking_budget
    level: str | None = None  # gemini 3 thinking_level
    summary: str | None = None  # openai reasoning.summary
    display: str | None = None  # anthropic adaptive display


class ModelRequest(BaseModel):
    """One model call. ``api_model`` is the provider's own name for the model."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    api_model: str
    system: str
    prompt: str
    max_output_tokens: int
    thinking: ThinkingSettings | None
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0  # includes thinking tokens, as providers bill them
    thinking_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Finished:
    stop_reason: str


StreamEvent = ThinkingDelta | TextDelta | Usage | Finished


class Provider(Protocol):
    """A model backend. ``stream`` ends with exactly one :class:`Finished` or raises."""

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]: ...

    async def aclose(self) -> None: ...
