"""The typed event stream the engine emits.

One event stream, three consumers: the store persists it, the TUI renders it, headless mode prints
it. Every event is a pydantic model with a literal ``type``; ``model_dump_json()`` is its JSON
line. ``EngineEvent`` is the union of them all, defined once here: every consumer's ``match``
over it ends in ``assert_never``, so an event added here and forgotten there fails type-checking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mao_tui.domain.budget_events import BudgetChanged, BudgetExceeded, CostEstimated
from mao_tui.domain.candidate_events import (
    CandidateReviewed,
    CandidateSelected,
    CandidateStarted,
    CandidateVerified,
    LedgerProvenance,
)
from mao_tui.domain.ids import now
from mao_tui.domain.pick_events import OutputPicked
from mao_tui.domain.plan import Plan
from mao_tui.domain.qa_records import QaReport
from mao_tui.domain.status import AttemptStatus, SessionStatus, WorkstreamStatus
from mao_tui.domain.usage import TokenTotals
from mao_tui.domain.workspace import AppliedFile, PlannedCheck

__all__ = [
    "AttemptFinished",
    "AttemptStarted",
    "CooldownWait",
    "Delta",
    "EngineEvent",
    "Event",
    "EventSink",
    "FallbackEvent",
    "FilesApplied",
    "FixRoundDone",
    "OutputWritten",
    "PlanReady",
    "PolicyEvent",
    "ProviderCooldown",
    "QaReportReady",
    "RetryScheduled",
    "SessionFinished",
    "SessionReopened",
    "SessionStarted",
    "SynthesisFinished",
    "ThinkingDowngraded",
    "VerificationDone",
    "VerificationFinished",
    "VerificationOutput",
    "VerificationPlanned",
    "VerificationStarted",
    "WorkspaceEvent",
    "WorkstreamFinished",
    "fallback_line",
]


def fallback_line(title: str, from_model: str, to_model: str | None, reason: str) -> str:
    """The fallback log's sentence, live and in review alike."""
    target = to_model or "nothing (chain exhausted)"
    return f"{title}: fallback from {from_model} to {target} ({reason})"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    session_id: str
    at: datetime = Field(default_factory=now)


class SessionStarted(_Event):
    type: Literal["session_started"] = "session_started"
    command: str
    playbook: str
    task: str
    simulated: bool
    project_dir: str
    spec_text: str = ""  # the spec as the models saw it (sections and context files included)


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
    continuation_id: str | None = None  # the backend's thread, for a rerun to continue (PAL)


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


def _seconds(value: float) -> str:
    """4.0s, 0.5s; milliseconds under a tenth of a second."""
    return f"{value:.1f}s" if value >= 0.095 else f"{value * 1000:.0f}ms"


class RetryScheduled(_Event):
    """An attempt failed before its first token: the same model runs again after ``delay_s``."""

    type: Literal["retry"] = "retry"
    workstream: str
    workstream_title: str
    model: str
    provider: str
    reason: str  # the ErrorKind value of the failure being retried
    retry_no: int  # 1-based
    max_retries: int
    delay_s: float
    detail: str = ""

    @property
    def line(self) -> str:
        return (
            f"{self.workstream_title}: retrying {self.model} in {_seconds(self.delay_s)} "
            f"({self.reason}, retry {self.retry_no} of {self.max_retries})"
        )


class ProviderCooldown(_Event):
    """A 429: no new request goes to ``provider`` until ``until``, for every workstream."""

    type: Literal["cooldown"] = "cooldown"
    provider: str
    seconds: float
    until: datetime
    workstream: str  # whose request was refused
    workstream_title: str
    model: str
    detail: str = ""

    @property
    def line(self) -> str:
        return (
            f"{self.provider}: cooldown {_seconds(self.seconds)} after a 429 on {self.model} "
            f"({self.workstream_title})"
        )


class CooldownWait(_Event):
    """A workstream holds its next attempt until its provider's cooldown is over."""

    type: Literal["cooldown_wait"] = "cooldown_wait"
    workstream: str
    workstream_title: str
    model: str
    provider: str
    delay_s: float

    @property
    def line(self) -> str:
        return (
            f"{self.workstream_title}: waiting {_seconds(self.delay_s)} for {self.provider}'s "
            f"cooldown before {self.model}"
        )


class ThinkingDowngraded(_Event):
    """The provider rejected the thinking setting; the same model runs one level lower."""

    type: Literal["thinking_downgraded"] = "thinking_downgraded"
    workstream: str
    workstream_title: str
    model: str
    from_setting: str  # e.g. "max"
    to_setting: str  # e.g. "high"
    detail: str = ""

    @property
    def line(self) -> str:
        return (
            f"{self.workstream_title}: {self.model} thinking downgraded: "
            f"{self.from_setting} → {self.to_setting}"
        )


# What the engine's retry policy did, besides fallbacks: each has a one-line ``line``.
PolicyEvent = RetryScheduled | ProviderCooldown | CooldownWait | ThinkingDowngraded


class WorkstreamFinished(_Event):
    type: Literal["workstream_finished"] = "workstream_finished"
    workstream: str
    model: str | None  # the model whose output is used
    status: WorkstreamStatus
    usage: TokenTotals = Field(default_factory=TokenTotals)
    detail: str = ""  # why, when it did not finish (e.g. which dependency blocked it)


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


class SessionReopened(_Event):
    """A finished session runs model work again: a rerun, a cancel or a new synthesis follows.
    Its next ``SessionFinished`` carries the totals of everything, reruns included."""

    type: Literal["session_reopened"] = "session_reopened"
    reason: str  # e.g. "rerun schemas on gpt-6.2-astra"


class OutputWritten(_Event):
    """What the playbook's output kind made of a successful synthesis besides storing it (a
    journal entry in a file), or why it could not (``error``)."""

    type: Literal["output_written"] = "output_written"
    kind: str  # the playbook's output kind, e.g. "journal"
    path: str | None = None  # the file written
    error: str | None = None

    @property
    def line(self) -> str:
        if self.error:
            return f"{self.kind}: not written ({self.error})"
        return f"{self.kind} written to {self.path}"


class FilesApplied(_Event):
    """A synthesis's files written into the workspace (or refused, each with its reason)."""

    type: Literal["files_applied"] = "files_applied"
    round: int
    workspace: str
    files: list[AppliedFile]

    @property
    def line(self) -> str:
        written = sum(f.status == "written" for f in self.files)
        refused = sum(f.status in ("refused", "failed") for f in self.files)
        same = sum(f.status == "unchanged" for f in self.files)
        return f"applied: {written} written, {same} unchanged, {refused} refused"


class VerificationPlanned(_Event):
    """The checks that will verify applied files, in run order, and why these: shown before the
    first verification and stored with the session."""

    type: Literal["verification_planned"] = "verification_planned"
    origin: str  # verify.yaml, detected, playbook
    why: str
    checks: list[PlannedCheck]
    notes: list[str] = Field(default_factory=list)


class VerificationStarted(_Event):
    type: Literal["verification_started"] = "verification_started"
    round: int
    name: str
    argv: list[str]
    sandbox: str = ""  # "sandboxed: …" or "not sandboxed: <reason>"


class VerificationOutput(_Event):
    """One line a verification command printed (stdout and stderr together)."""

    type: Literal["verification_output"] = "verification_output"
    round: int
    name: str
    line: str


class VerificationFinished(_Event):
    type: Literal["verification_finished"] = "verification_finished"
    round: int
    name: str
    argv: list[str]
    exit_code: int | None  # None: timed out or could not start
    timed_out: bool = False
    elapsed_s: float
    output_tail: str = ""  # the last lines of its output
    error: str = ""  # why it could not start
    sandbox: str = ""  # "sandboxed: …" or "not sandboxed: <reason>"
    kind: str = "other"
    source: str = ""
    unavailable: str = ""  # why it could not run here (not a failure): "'cargo' is not on PATH"
    skipped: str = ""  # why it did not run: "build failed"
    excerpt: str = ""  # its output around the first errors, for a fix round

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def failed(self) -> bool:
        """It ran (or tried to) and did not pass; not available and skipped are not failures."""
        return not self.passed and not self.unavailable and not self.skipped

    @property
    def outcome(self) -> str:
        if self.unavailable:
            return f"not available: {self.unavailable}"
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.error:
            return self.error
        if self.timed_out:
            return "timed out"
        return "passed" if self.passed else f"failed (exit {self.exit_code})"


class VerificationDone(_Event):
    """Every verification command of one round has run (or none is configured)."""

    type: Literal["verification_done"] = "verification_done"
    round: int
    passed: bool
    failed: list[str] = Field(default_factory=list)  # names of the failed commands
    unavailable: list[str] = Field(default_factory=list)  # could not run here; not failures
    skipped: list[str] = Field(default_factory=list)  # not run: an earlier check failed
    fix_rounds_left: int = 0
    detail: str = ""  # e.g. "no verification commands configured"


class FixRoundDone(_Event):
    """A fix round's workstream and new synthesis have ended: ``ok`` when its files are ready."""

    type: Literal["fix_round_done"] = "fix_round_done"
    round: int
    ok: bool
    detail: str = ""


# Applying a synthesis's files and verifying them (engine/fix_loop.py): the Verification pane's.
WorkspaceEvent = (
    FilesApplied
    | VerificationPlanned
    | VerificationStarted
    | VerificationOutput
    | VerificationFinished
    | VerificationDone
    | FixRoundDone
)


class QaReportReady(_Event):
    """Output kind ``qa_report``: the weighted score and the de-duplicated, categorized
    findings, built by code from the reviewers' JSON and the synthesis's categories."""

    type: Literal["qa_report"] = "qa_report"
    report: QaReport

    @property
    def line(self) -> str:
        score = self.report.score
        value = f"{score.value:g}/100" if score.value is not None else "no score"
        return f"QA: {value}, {len(self.report.findings)} findings ({score.note})"


EngineEvent = (
    SessionStarted
    | PlanReady
    | AttemptStarted
    | Delta
    | AttemptFinished
    | FallbackEvent
    | RetryScheduled
    | ProviderCooldown
    | CooldownWait
    | ThinkingDowngraded
    | WorkstreamFinished
    | SynthesisFinished
    | SessionFinished
    | SessionReopened
    | QaReportReady
    | OutputWritten
    | FilesApplied
    | VerificationPlanned
    | VerificationStarted
    | VerificationOutput
    | VerificationFinished
    | VerificationDone
    | FixRoundDone
    | CostEstimated
    | BudgetExceeded
    | BudgetChanged
    | CandidateStarted
    | CandidateVerified
    | CandidateReviewed
    | CandidateSelected
    | LedgerProvenance
    | OutputPicked
)

# The same union, tagged by ``type`` for pydantic: parses a JSON line back into its event.
Event = Annotated[EngineEvent, Field(discriminator="type")]

# A consumer of the event stream. Sinks must not block: the store buffers, the TUI posts messages.
EventSink = Callable[[EngineEvent], Awaitable[None]]
