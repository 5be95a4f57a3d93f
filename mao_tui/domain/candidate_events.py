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


def _now() -> datetime:
    return datetime.now(UTC)


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


class CandidateCheck(BaseModel):
    """One candidate's verification: its files applied alone to a fresh copy of the workspace
    (``folder``), then the session's checks run there. ``verified`` False: nothing ran (no
    answer, no verifier in this session, or no files in the answer); ``detail`` says why."""

    model_config = ConfigDict(frozen=True)

    verified: bool = False
    folder: str = ""
    files: int = 0  # files written into the copy
    passed: list[str] = Field(default_factory=list)  # names of the checks that passed
    failed: list[str] = Field(default_factory=list)
    new_failures: list[str] = Field(default_factory=list)  # failed here, passed before
    unavailable: list[str] = Field(default_factory=list)  # could not run here; not failures
    detail: str = ""

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
        folder = self.candidate.check.folder
        where = f" in {folder}" if folder else ""
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


CandidateEvent = CandidateStarted | CandidateVerified | CandidateReviewed | CandidateSelected
