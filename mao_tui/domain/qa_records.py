"""The QA report's records: a reviewer's findings and score, the de-duplicated report.

Domain level (imported by ``domain``, the store and the engine alike), so it imports nothing of
mao above pydantic. How a review is parsed and a report built is ``playbooks/qa_review.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}  # 0 = worst

ReviewerStatus = Literal["ok", "repaired", "invalid", "failed"]


class ReviewFinding(BaseModel):
    """One finding as a reviewer reports it (the JSON shape the qa prompts ask for)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    severity: Severity
    file: str | None = None  # a reviewed file's path; None: about the whole target
    line: int | None = Field(default=None, ge=1)
    title: str = Field(min_length=1, max_length=200)
    detail: str = ""
    suggested_fix: str = ""


class Review(BaseModel):
    """A reviewer's whole answer: a 0–100 score for its dimension and its findings."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    score: float = Field(ge=0, le=100)
    summary: str = ""
    findings: list[ReviewFinding] = Field(default_factory=list)


class ReviewerResult(BaseModel):
    """How one reviewer ended: its score and findings, or why it has none."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str  # the workstream key, e.g. error_handling
    title: str
    weight: float  # percent, from the playbook's qa.weights
    model: str | None = None  # the model whose review is used
    status: ReviewerStatus
    score: float | None = None
    summary: str = ""
    error: str = ""  # invalid or failed: what was wrong
    findings: list[ReviewFinding] = Field(default_factory=list)


class ReportFinding(BaseModel):
    """A finding after de-duplication, categorized, with the model assigned to fix it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str  # F1, F2, ... in report order (worst first)
    severity: Severity
    file: str | None
    line: int | None
    title: str
    detail: str
    suggested_fix: str
    reviewers: list[str]  # reviewer keys that reported it (several when merged)
    category: str = "Uncategorized"
    fix_kind: str = ""  # a key of the playbook's qa.fixes
    fix_route: str = ""  # the routing key that names the fixing model
    assigned_model: str | None = None

    @property
    def location(self) -> str:
        if not self.file:
            return "(general)"
        return f"{self.file}:{self.line}" if self.line else self.file


class Score(BaseModel):
    """The weighted score, computed by code from the reviewers' scores and the weights."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    value: float | None  # None: refused, too little of the weight was reviewed
    coverage: float  # percent of the weight whose reviewer produced a valid review
    missing: list[str] = Field(default_factory=list)  # reviewer keys without a valid review
    renormalized: bool = False
    note: str = ""  # one line saying how it was computed, for every reader


class QaReport(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    score: Score
    reviewers: list[ReviewerResult]
    findings: list[ReportFinding]
    raw_findings: int  # before de-duplication
    categorized_by: Literal["model", "code"] = "code"
    synthesis_model: str | None = None
    synthesis_note: str = ""  # the synthesis model's narrative (its JSON block removed)
    markdown: str = ""  # the whole report as shown, printed and exported
