"""Records and the typed event stream the engine emits.

One event stream, three consumers: the store persists it, the TUI renders it, headless mode prints
it. The statuses and ids live here; the events (pydantic models, :mod:`mao_tui.domain.events`) are
imported on first use, so what needs only a status or an error (``mao sessions``) imports no
pydantic.
"""

from __future__ import annotations

import importlib
import os
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mao_tui.domain.events import FRESH_WORKSPACE_PREFIX as FRESH_WORKSPACE_PREFIX
    from mao_tui.domain.events import AppliedFile as AppliedFile
    from mao_tui.domain.events import ApplyProposal as ApplyProposal
    from mao_tui.domain.events import AttemptFinished as AttemptFinished
    from mao_tui.domain.events import AttemptStarted as AttemptStarted
    from mao_tui.domain.events import CooldownWait as CooldownWait
    from mao_tui.domain.events import Delta as Delta
    from mao_tui.domain.events import EngineEvent as EngineEvent
    from mao_tui.domain.events import Event as Event
    from mao_tui.domain.events import EventSink as EventSink
    from mao_tui.domain.events import FallbackEvent as FallbackEvent
    from mao_tui.domain.events import FileChangeView as FileChangeView
    from mao_tui.domain.events import FilesApplied as FilesApplied
    from mao_tui.domain.events import Finding as Finding
    from mao_tui.domain.events import FixRoundDone as FixRoundDone
    from mao_tui.domain.events import ModelSubstitution as ModelSubstitution
    from mao_tui.domain.events import OutputWritten as OutputWritten
    from mao_tui.domain.events import Plan as Plan
    from mao_tui.domain.events import PlannedCheck as PlannedCheck
    from mao_tui.domain.events import PlannedWorkstream as PlannedWorkstream
    from mao_tui.domain.events import PlanReady as PlanReady
    from mao_tui.domain.events import PolicyEvent as PolicyEvent
    from mao_tui.domain.events import ProviderCooldown as ProviderCooldown
    from mao_tui.domain.events import QaReportReady as QaReportReady
    from mao_tui.domain.events import RetryScheduled as RetryScheduled
    from mao_tui.domain.events import SessionFinished as SessionFinished
    from mao_tui.domain.events import SessionReopened as SessionReopened
    from mao_tui.domain.events import SessionStarted as SessionStarted
    from mao_tui.domain.events import SynthesisFinished as SynthesisFinished
    from mao_tui.domain.events import ThinkingDowngraded as ThinkingDowngraded
    from mao_tui.domain.events import TokenTotals as TokenTotals
    from mao_tui.domain.events import VerificationDone as VerificationDone
    from mao_tui.domain.events import VerificationFinished as VerificationFinished
    from mao_tui.domain.events import VerificationOutput as VerificationOutput
    from mao_tui.domain.events import VerificationPlanned as VerificationPlanned
    from mao_tui.domain.events import VerificationStarted as VerificationStarted
    from mao_tui.domain.events import WorkspaceEvent as WorkspaceEvent
    from mao_tui.domain.events import WorkstreamFinished as WorkstreamFinished


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
    BLOCKED = "blocked"  # a dependency failed for good
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


_EVENTS = frozenset(
    {
        "ModelSubstitution",
        "PlannedWorkstream",
        "Finding",
        "Plan",
        "TokenTotals",
        "SessionStarted",
        "PlanReady",
        "AttemptStarted",
        "Delta",
        "AttemptFinished",
        "FallbackEvent",
        "RetryScheduled",
        "ProviderCooldown",
        "CooldownWait",
        "ThinkingDowngraded",
        "PolicyEvent",
        "WorkstreamFinished",
        "SynthesisFinished",
        "SessionFinished",
        "SessionReopened",
        "OutputWritten",
        "FileChangeView",
        "FRESH_WORKSPACE_PREFIX",
        "ApplyProposal",
        "AppliedFile",
        "FilesApplied",
        "PlannedCheck",
        "VerificationPlanned",
        "VerificationStarted",
        "VerificationOutput",
        "VerificationFinished",
        "VerificationDone",
        "FixRoundDone",
        "WorkspaceEvent",
        "QaReportReady",
        "Event",
        "EngineEvent",
        "EventSink",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _EVENTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("mao_tui.domain.events"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value
