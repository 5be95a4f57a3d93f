"""models.yaml `providers:`: each provider's kind, keys, timeouts and retry policy."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mao_tui.settings.base import ProviderKind, Strict
from mao_tui.settings.cli import CliSettings
from mao_tui.settings.pal import PalSettings

__all__ = [
    "DEFAULT_RETRY_ON",
    "DEFAULT_TIMEOUTS",
    "KEYED_KINDS",
    "SDK_TIMEOUT_GRACE_S",
    "ProviderConfig",
    "ResolvedTimeouts",
    "RetryPolicy",
    "RetryableKind",
    "Timeouts",
]

# Provider kinds whose API always needs a key (an openai_chat server may not).
KEYED_KINDS = frozenset({"anthropic", "openai", "gemini"})
RetryableKind = Literal[
    "rate_limited", "overloaded", "server", "connection", "timeout", "truncated"
]
DEFAULT_RETRY_ON: tuple[RetryableKind, ...] = (
    "rate_limited",
    "overloaded",
    "server",
    "connection",
    "timeout",
)


class Timeouts(Strict):
    """Seconds; any left unset comes from the provider, then from :data:`DEFAULT_TIMEOUTS`."""

    connect_s: float | None = Field(default=None, gt=0)  # TCP and TLS (Gemini: docs, Timeouts)
    first_event_s: float | None = Field(default=None, gt=0)  # request sent → first stream event
    idle_s: float | None = Field(default=None, gt=0)  # longest silence between two events
    total_s: float | None = Field(default=None, gt=0)  # the whole call, first byte to last


class ResolvedTimeouts(BaseModel):
    model_config = ConfigDict(frozen=True)

    connect_s: float
    first_event_s: float
    idle_s: float
    total_s: float

    @property
    def read_s(self) -> float:
        """The SDK's read timeout: a safety net just behind the engine's own watchdog."""
        return max(self.first_event_s, self.idle_s) + SDK_TIMEOUT_GRACE_S


# Max-thinking calls can think for minutes between events, so the idle gap is generous; a
# request that never starts streaming is caught much sooner by the first-event timeout.
DEFAULT_TIMEOUTS = ResolvedTimeouts(connect_s=10, first_event_s=120, idle_s=300, total_s=3600)
SDK_TIMEOUT_GRACE_S = 1.0


class RetryPolicy(Strict):
    """The engine's answer to a failure before the first token (``global.retry``, and
    ``providers.<id>.retry`` for the keys it sets). Kinds not in ``retry_on``, and any failure
    after the first token, fall back to the next model at once."""

    retry_on: list[RetryableKind] = Field(default_factory=lambda: list(DEFAULT_RETRY_ON))
    max_retries: int = Field(default=2, ge=0, le=10)  # of the same model, per model in the chain
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_multiplier: float = Field(default=2.0, ge=1)
    backoff_max_s: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=0.25, ge=0, le=1)  # up to this fraction of the delay is added
    retry_after_cap_s: float = Field(default=60.0, ge=0)  # a longer retry-after: fall back now
    cooldown_s: float = Field(default=10.0, ge=0)  # a 429 pauses the provider at least this long


class ProviderConfig(Strict):
    kind: ProviderKind
    # Empty means no key is needed (a local openai_chat server); the other kinds need one.
    api_key_env: list[str] = Field(default_factory=list)
    base_url: str | None = None
    api_version: str | None = None  # gemini only: v1 (SDK default), v1beta, v1alpha
    # Shorthand: sets first_event_s and idle_s over ``timeouts`` (a model's own still win).
    timeout_s: float | None = Field(default=None, gt=0)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_concurrency: int = Field(default=4, ge=1)
    retry: RetryPolicy | None = None
    cli: CliSettings | None = None  # kind cli only: the tool, its argv and environment
    pal: PalSettings | None = None  # kind pal only (optional): how to start the PAL MCP server

    @model_validator(mode="after")
    def _pal_section_matches_kind(self) -> ProviderConfig:
        if self.kind != "pal":
            if self.pal is not None:
                raise ValueError(f"pal: applies to kind 'pal' only, not {self.kind!r}")
            return self
        stray = [n for n in ("api_key_env", "base_url", "api_version") if getattr(self, n)]
        if stray:
            raise ValueError(
                f"{', '.join(stray)}: not used by kind 'pal' (PAL reads its own keys; pass "
                "them with pal.env_pass or pal.env)"
            )
        return self

    @model_validator(mode="after")
    def _cli_section_matches_kind(self) -> ProviderConfig:
        if self.kind != "cli":
            if self.cli is not None:
                raise ValueError(f"cli: applies to kind 'cli' only, not {self.kind!r}")
            return self
        if self.cli is None:
            raise ValueError("kind 'cli' needs a cli: section (driver, argv)")
        stray = [n for n in ("api_key_env", "base_url", "api_version") if getattr(self, n)]
        if stray:
            raise ValueError(
                f"{', '.join(stray)}: not used by kind 'cli' (the tool signs in by itself; "
                "pass it variables with cli.env_pass or cli.env)"
            )
        return self

    @model_validator(mode="after")
    def _keyed_kinds_name_a_key(self) -> ProviderConfig:
        if self.kind in KEYED_KINDS and not self.api_key_env:
            raise ValueError(
                f"api_key_env: kind {self.kind!r} needs at least one environment variable name"
            )
        return self

    def resolved_timeouts(self, model: Timeouts | None = None) -> ResolvedTimeouts:
        """The model's value, else the provider's, else the default, for each timeout."""
        values: dict[str, float] = {}
        for name in Timeouts.model_fields:
            own = getattr(model, name) if model is not None else None
            mine = getattr(self.timeouts, name)
            if self.timeout_s is not None and name in ("first_event_s", "idle_s"):
                mine = self.timeout_s
            values[name] = own or mine or getattr(DEFAULT_TIMEOUTS, name)
        return ResolvedTimeouts.model_validate(values)
