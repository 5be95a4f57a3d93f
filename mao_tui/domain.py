"""Records and the typed event stream the engine emits.

One event stream, three consumers: the store persists it, the TUI renders it, headless mode prints
it. Every event is a pydantic model with a literal ``type``; ``model_dump_json()`` is its JSON
line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SYNTHESIS_KEY = "synthesis"


def now() -> datetime:
    return datetime.now(UTC)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32; sorts by time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


class SessionStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


def fallback_line(title: str, from_model: str, to_model: str | None, reason: str) -> str:
    """The fallback log's sentence, live and in review alike."""
    target = to_model or "nothing (chain exhausted)"
    return f"{title}: fallback from {from_model} to {target} ({reason})"


class WorkstreamStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class PlannedWorkstream(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    title: str
    route: str
    chain: list[str]  # model ids: primary first, universal fallback last
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    playbook: str
    workstreams: list[PlannedWorkstream]
    synthesis: PlannedWorkstream
    source: Literal["rules", "orchestrator"] = "rules"


class TokenTotals(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cost_usd: float = 0.0
    cost_complete: bool = True  # False when some model's price is unknown

    def add(self, other: TokenTotals) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.thinking_tokens += other.thinking_tokens
        self.cost_usd += other.cost_usd
        self.cost_complete = self.cost_complete and other.cost_complete


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    at: datetime = Field(default_factory=now)


class SessionStarted(_Event):
    type: Literal["session_started"] = "session_started"
    command: str
    playbook: str
    task: str
    simulated: bool
    project_dir: str


class PlanReady(_Event):
    type: Literal["plan"] = "plan"
    plan: Plan


class AttemptStarted(_Event):
    type: Literal["attempt_started"] = "attempt_started"
    attempt_id: str
    workstream: str
    model: str
    provider: str
    api_model: str
    attempt_no: int  # 1-based within the workstream
    thinking: bool


class Delta(_Event):
    type: Literal["delta"] = "delta"
    attempt_id: str
    workstream: str
    channel: Literal["thinking", "text"]
    text: str


class AttemptFinished(_Event):
    type: Literal["attempt_finished"] = "attempt_finished"
    attempt_id: str
    workstream: str
    model: str
    status: AttemptStatus
    error_kind: str | None = None
    error_message: str | None = None
    usage: TokenTotals = Field(default_factory=TokenTotals)
    elapsed_s: float = 0.0


class FallbackEvent(_Event):
    type: Literal["fallback"] = "fallback"
    workstream: str
    workstream_title: str
    from_model: str
    to_model: str | None  # None when the chain is exhausted
    reason: str  # an ErrorKind value
    detail: str = ""

    @property
    def line(self) -> str:
        return fallback_line(self.workstream_title, self.from_model, self.to_model, self.reason)


class WorkstreamFinished(_Event):
    type: Literal["workstream_finished"] = "workstream_finished"
    workstream: str
    model: str | None  # the model whose output is used
    status: WorkstreamStatus
    usage: TokenTotals = Field(default_factory=TokenTotals)


class SynthesisFinished(_Event):
    type: Literal["synthesis_finished"] = "synthesis_finished"
    model: str | None
    status: WorkstreamStatus
    text: str
    usage: TokenTotals = Field(default_factory=TokenTotals)


class SessionFinished(_Event):
    type: Literal["session_finished"] = "session_finished"
    status: SessionStatus
    totals: TokenTotals
    elapsed_s: float
    error: str | None = None


Event = Annotated[
    SessionStarted
    | PlanReady
    | AttemptStarted
    | Delta
    | AttemptFinished
    | FallbackEvent
    | WorkstreamFinished
    | SynthesisFinished
    | SessionFinished,
    Field(discriminator="type"),
]

EngineEvent = (
    SessionStarted
    | PlanReady
    | AttemptStarted
    | Delta
    | AttemptFinished
    | FallbackEvent
    | WorkstreamFinished
    | SynthesisFinished
    | SessionFinished
)

# A consumer of the event stream. Sinks must not block: the store buffers, the TUI posts messages.
EventSink = Callable[[EngineEvent], Awaitable[None]]
