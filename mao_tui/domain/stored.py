"""Read models: what the store hands back for listing and reviewing sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from mao_tui.domain.budget_events import WorkstreamEstimate
from mao_tui.domain.candidate_events import CandidateSelected, LedgerProvenance
from mao_tui.domain.events import WorkspaceEvent, fallback_line
from mao_tui.domain.plan import Plan
from mao_tui.domain.qa_records import QaReport
from mao_tui.domain.status import AttemptStatus, SessionStatus, WorkstreamStatus
from mao_tui.domain.usage import TokenTotals


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class _Usage(_Record):
    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cost_usd: float = 0.0
    cost_complete: bool = True
    cached_input_tokens: int = 0

    @property
    def usage(self) -> TokenTotals:
        return TokenTotals.model_validate(self, from_attributes=True)  # the same six fields


class SessionSummary(_Usage):
    id: str
    created_at: datetime
    finished_at: datetime | None = None
    command: str
    playbook: str
    task: str
    status: SessionStatus
    simulated: bool
    project_dir: str
    models: list[str]  # distinct models that ran attempts, in first-use order
    elapsed_s: float | None = None
    error: str | None = None
    budget_usd: float | None = None  # the cost budget (None: no limit)
    estimate_usd: float | None = None  # the plan's estimate before it ran (None: unknown)
    estimate_complete: bool = True  # False: some model's price was unknown


class WorkstreamRecord(_Usage):
    key: str
    title: str
    route: str
    chain: list[str]
    depends_on: list[str]
    position: int
    status: WorkstreamStatus
    final_model: str | None = None
    finished_at: datetime | None = None


class AttemptRecord(_Usage):
    id: str
    workstream: str
    model: str
    provider: str
    api_model: str
    attempt_no: int
    thinking: bool
    started_at: datetime
    finished_at: datetime | None = None
    status: AttemptStatus
    error_kind: str | None = None
    error_message: str | None = None
    thinking_text: str = ""
    output_text: str = ""
    elapsed_s: float | None = None


class FallbackRecord(_Record):
    id: int
    workstream: str
    workstream_title: str
    at: datetime
    from_model: str
    to_model: str | None
    reason: str
    detail: str = ""

    @property
    def line(self) -> str:
        """The same sentence the live fallback log shows (``FallbackEvent.line``)."""
        return fallback_line(self.workstream_title, self.from_model, self.to_model, self.reason)


class PolicyEventRecord(_Record):
    """A retry, a provider cooldown, a wait for one, or a thinking downgrade."""

    id: int
    at: datetime
    type: str  # the event's type: retry, cooldown, cooldown_wait, thinking_downgraded
    workstream: str
    model: str
    provider: str | None = None
    reason: str | None = None  # the error kind retried, or "max → high" for a downgrade
    delay_s: float | None = None
    line: str  # the same sentence the live fallback log shows
    detail: str = ""


class SynthesisRecord(_Usage):
    id: int
    model: str | None
    attempt_id: str | None
    status: WorkstreamStatus
    text: str
    created_at: datetime


class OutputRecord(_Record):
    """A journal entry written to a file (or why it was not): see ``OutputWritten``."""

    id: int
    kind: str
    path: str | None = None
    error: str | None = None
    at: datetime


SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"  # around the matched words in a snippet


class SessionHit(SessionSummary):
    """A session found by a search, and where: in its ``task``, or only in an ``output``."""

    matched: str = ""  # "task", "output", or "" when listed without a search


class SessionDetail(SessionSummary):
    spec_text: str = ""  # the spec the models saw (sections and context files included)
    plan: Plan | None
    workstreams: list[WorkstreamRecord]  # plan order
    attempts: list[AttemptRecord]  # start order
    fallbacks: list[FallbackRecord]  # in the order they happened
    policy_events: list[PolicyEventRecord] = []  # retries, cooldowns, downgrades, in order
    synthesis: SynthesisRecord | None  # the latest that succeeded, else the latest
    syntheses: list[SynthesisRecord] = []  # every one, oldest first (re-synthesis adds one)
    outputs: list[OutputRecord] = []  # files the output kind wrote (a journal entry), in order
    qa_report: QaReport | None = None  # output kind qa_report: the latest report
    # output kind files: every apply, verification command and round, oldest first
    workspace: list[WorkspaceEvent] = []
    estimates: list[WorkstreamEstimate] = []  # the plan's estimate, per workstream and synthesis
    races: list[CandidateSelected] = []  # the ensemble ledger: each race, in the order they ended
    provenance: LedgerProvenance | None = None  # where each file of the final output came from

    def attempts_for(self, workstream: str) -> list[AttemptRecord]:
        return [attempt for attempt in self.attempts if attempt.workstream == workstream]
