"""Candidate races (issue 19): one workstream run on several models at once, each candidate's
files verified in its own copy of the workspace, one selected by code.

The events join the event union in ``domain/events.py``; the race itself is in
``engine/candidates.py``, the copy and its verification in ``service/race.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from mao_tui.domain.cross_review import CandidateReview, CrossReview

__all__ = [
    "CandidateReviewed",
    "CandidateSelected",
    "CandidateStarted",
    "CandidateVerified",
    "LedgerProvenance",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


class CandidateCheck(BaseModel):
    """One candidate's verification: its files applied alone to a fresh detached git worktree
    (``worktree``) or copy of the workspace (``folder``), then the session's checks run there.
    ``verified`` False: nothing ran (no answer, no verifier in this session, or no files in the
    answer); ``detail`` says why."""

    model_config = ConfigDict(frozen=True)

    verified: bool = False
    folder: str = ""
    worktree: bool = False  # ``folder`` is (in) a detached git worktree, else a copy
    files: int = 0  # files written into the folder
    passed: list[str] = Field(default_factory=list)  # names of the checks that passed
    failed: list[str] = Field(default_factory=list)
    new_failures: list[str] = Field(default_factory=list)  # failed here, passed before
    newly_passing: list[str] = Field(default_factory=list)  # passed here, not before
    unavailable: list[str] = Field(default_factory=list)  # could not run here; not failures
    detail: str = ""

    @property
    def delta(self) -> str:
        """The verification delta against the baseline: checks newly passing, new failures."""
        if not self.verified:
            return "—"
        fixed = ", ".join(self.newly_passing) or "none"
        broke = ", ".join(self.new_failures) or "none"
        return (
            f"+{len(self.newly_passing)} passing ({fixed}), "
            f"{len(self.new_failures)} new failures ({broke})"
        )

    @property
    def where(self) -> str:
        """The folder it was verified in, saying whether a worktree or a copy."""
        if not self.folder:
            return "—"
        return f"{'worktree' if self.worktree else 'copy'} {self.folder}"

    @property
    def summary(self) -> str:
        if not self.verified:
            return f"not verified ({self.detail})" if self.detail else "not verified"
        text = f"{len(self.passed)} passed, {len(self.failed)} failed"
        if self.new_failures:
            text += f" ({len(self.new_failures)} new: {', '.join(self.new_failures)})"
        elif self.failed:
            text += f" ({', '.join(self.failed)}; failing before too)"
        return text


class CandidateRecord(BaseModel):
    """One line of the ensemble ledger: a candidate's model, answer, verification, cost, time."""

    model_config = ConfigDict(frozen=True)

    number: int  # 1-based within the race
    model: str
    status: str  # the answer's WorkstreamStatus value
    check: CandidateCheck = Field(default_factory=CandidateCheck)
    cost_usd: float | None = None  # None: some price is unknown
    elapsed_s: float = 0.0
    # Its blind cross-review score (domain/cross_review.py), 0–1; None: not reviewed
    review_score: float | None = None

    @property
    def line(self) -> str:
        review = "" if self.review_score is None else f", review {self.review_score:.2f}"
        return (
            f"#{self.number} {self.model}: {self.status}, {self.check.summary}{review}, "
            f"{_usd(self.cost_usd)}, {self.elapsed_s:.1f}s"
        )


class _CandidateEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    at: datetime = Field(default_factory=_now)
    workstream: str
    workstream_title: str


class CandidateStarted(_CandidateEvent):
    type: Literal["candidate_started"] = "candidate_started"
    number: int
    of: int
    model: str

    @property
    def line(self) -> str:
        return f"{self.workstream_title}: candidate {self.number} of {self.of} on {self.model}"


class CandidateVerified(_CandidateEvent):
    type: Literal["candidate_verified"] = "candidate_verified"
    candidate: CandidateRecord

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> int:
        """How many checks passed (their names are in ``candidate.check``)."""
        return len(self.candidate.check.passed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        return len(self.candidate.check.failed)

    @property
    def line(self) -> str:
        check = self.candidate.check
        where = f" in {check.where}" if check.folder else ""
        return f"{self.workstream_title}: candidate {self.candidate.line}{where}"


class CandidateReviewed(_CandidateEvent):
    """One reviewer's blind ranking of the other candidates, with the request it was sent and
    its answer as they were (stored, so that what a reviewer saw can be checked)."""

    type: Literal["candidate_reviewed"] = "candidate_reviewed"
    review: CandidateReview
    system_prompt: str
    prompt: str
    answer: str

    @property
    def line(self) -> str:
        return f"{self.workstream_title}: review {self.review.line}"


class CandidateSelected(_CandidateEvent):
    """The race's end and its ledger: every candidate, the one selected (None: none answered)
    and why, and what the cheapest candidate that passed the same checks cost."""

    type: Literal["candidate_selected"] = "candidate_selected"
    number: int | None
    model: str | None
    reason: str
    candidates: list[CandidateRecord]
    baseline_failed: list[str] = Field(default_factory=list)  # failing before any candidate
    baseline_passed: list[str] = Field(default_factory=list)  # passing before any candidate
    cheapest_passing_model: str | None = None
    cheapest_passing_usd: float | None = None
    total_usd: float | None = None  # every candidate together
    cross_review: CrossReview | None = None  # None: the race was not cross-reviewed

    @property
    def line(self) -> str:
        if self.model is None:
            return f"{self.workstream_title}: no candidate selected ({self.reason})"
        return f"{self.workstream_title}: selected #{self.number} {self.model} — {self.reason}"

    @property
    def ledger_lines(self) -> list[str]:
        lines = [f"  {'→' if c.number == self.number else ' '} {c.line}" for c in self.candidates]
        if self.cheapest_passing_model is not None:
            lines.append(
                f"  cheapest candidate that passed the same checks: "
                f"{self.cheapest_passing_model} at {_usd(self.cheapest_passing_usd)}; "
                f"all {len(self.candidates)} cost {_usd(self.total_usd)}"
            )
        if self.cross_review is not None:
            lines += self.cross_review.lines
        return lines


SourceHow = Literal["exact", "similar", "synthesis"]


class Source(BaseModel):
    """Where a file or hunk of the final output came from: a race's candidate (its content
    found there exactly, or at least ``engine/ledger.py``'s threshold alike), else written by
    the synthesis itself."""

    model_config = ConfigDict(frozen=True)

    how: SourceHow
    workstream: str = ""  # the race's; "" for the synthesis
    number: int | None = None  # the candidate's
    model: str | None = None  # the candidate's, or the synthesis's
    ratio: float = 0.0  # the share of the lines found in the candidate's file, in order
    also: list[int] = Field(default_factory=list)  # other candidates holding the same

    @property
    def label(self) -> str:
        if self.how == "synthesis":
            return f"synthesis ({self.model})" if self.model else "synthesis"
        also = f", also in #{', #'.join(map(str, self.also))}" if self.also else ""
        alike = "" if self.how == "exact" else f", {self.ratio:.0%} alike"
        return f"{self.workstream} #{self.number} {self.model}{alike}{also}"


class HunkSource(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: int  # 1-based first line in the final file
    lines: int  # lines it adds or changes
    source: Source


class FileSource(BaseModel):
    """One file of the final output: its source as a whole (the source of most of its
    changed lines), then each hunk's (its changes against the file before)."""

    model_config = ConfigDict(frozen=True)

    path: str
    source: Source
    hunks: list[HunkSource] = Field(default_factory=list)


class LedgerProvenance(BaseModel):
    """The ledger's provenance, computed by code: after the synthesis (``stage`` synthesis,
    from its answer's files) and after each apply (``applied``, from the files written). The
    latest one is the session's."""

    model_config = ConfigDict(frozen=True)

    type: Literal["ledger_provenance"] = "ledger_provenance"
    session_id: str
    at: datetime = Field(default_factory=_now)
    stage: Literal["synthesis", "applied"]
    files: list[FileSource]

    @property
    def line(self) -> str:
        return f"ledger: where the {len(self.files)} file(s) {self.stage_words} came from"

    @property
    def stage_words(self) -> str:
        return "applied" if self.stage == "applied" else "of the synthesis"

    @property
    def file_lines(self) -> list[str]:
        lines = []
        for f in self.files:
            lines.append(f"  {f.path}: {f.source.label}")
            lines += [
                f"    lines {h.start}–{h.start + max(h.lines, 1) - 1}: {h.source.label}"
                for h in f.hunks
                if len(f.hunks) > 1
            ]
        return lines


CandidateEvent = (
    CandidateStarted | CandidateVerified | CandidateReviewed | CandidateSelected | LedgerProvenance
)
