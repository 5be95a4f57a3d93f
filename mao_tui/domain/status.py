"""Where a session, a workstream and one attempt stand."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AttemptStatus", "SessionStatus", "WorkstreamStatus"]


class SessionStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


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
