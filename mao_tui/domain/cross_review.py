"""Blind cross-review between a race's candidates (issue 19): each candidate's model ranks the
other candidates' answers under neutral labels; code aggregates the rankings (Borda) and
reports how much the reviewers disagree.

The review itself is ``engine/cross_review.py``; these records ride on ``candidate_reviewed``
(one per reviewer) and ``candidate_selected`` (the aggregate, in the ledger).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


class CandidateReview(BaseModel):
    """One reviewer's ranking: the candidate whose model reviewed, what it saw, what it said.

    ``labels`` maps each neutral label to the candidate number behind it: kept by code, never
    in the review's prompt. ``ranking`` is the labels best first; empty when the review failed
    or could not be parsed (``error`` says why), and then it counts for nothing."""

    model_config = ConfigDict(frozen=True)

    reviewer: int  # the reviewing candidate's number (its own answer is never among labels)
    model: str
    labels: dict[str, int]
    ranking: list[str] = Field(default_factory=list)
    error: str = ""
    cost_usd: float | None = None  # None: some price is unknown

    @property
    def valid(self) -> bool:
        return bool(self.ranking) and not self.error

    @property
    def ranked_numbers(self) -> list[int]:
        return [self.labels[label] for label in self.ranking]

    @property
    def line(self) -> str:
        saw = ", ".join(f"{label}=#{n}" for label, n in self.labels.items())
        if not self.valid:
            return f"#{self.reviewer} {self.model} saw {saw}: review excluded ({self.error})"
        order = " > ".join(self.ranking)
        numbers = " > ".join(f"#{n}" for n in self.ranked_numbers)
        return f"#{self.reviewer} {self.model} saw {saw}: {order} ({numbers})"


class ReviewerAgreement(BaseModel):
    """How one valid review agrees with the aggregate, on the candidates it saw."""

    model_config = ConfigDict(frozen=True)

    reviewer: int
    model: str
    tau: float | None  # Kendall tau against the aggregate order; None: no pair it could order
    top: int  # its first pick
    aggregate_top: int  # the aggregate's best among the candidates this reviewer saw


class CrossReview(BaseModel):
    """The aggregate of a race's reviews, computed by code.

    ``scores``: each candidate's normalised Borda score in [0, 1] (a reviewer ranking k
    candidates gives (k-1-position)/(k-1); the mean over the valid reviews that saw it), so
    reviewers that saw different subsets weigh alike. ``disagreement``: the share of the
    reviewers' pairwise judgements that go against the aggregate order; ``between_reviewers``:
    the share of candidate pairs two reviewers both ranked on which they disagree (None: no two
    reviewers ranked the same pair, as with three candidates). ``dissenters``: reviewers whose
    first pick is not the aggregate's best among what they saw."""

    model_config = ConfigDict(frozen=True)

    reviews: list[CandidateReview] = Field(default_factory=list)
    scores: dict[int, float] = Field(default_factory=dict)  # candidate number → score
    order: list[int] = Field(default_factory=list)  # the aggregate, best first
    excluded: list[int] = Field(default_factory=list)  # reviewers whose review is left out
    disagreement: float | None = None
    between_reviewers: float | None = None
    agreement: list[ReviewerAgreement] = Field(default_factory=list)
    dissenters: list[str] = Field(default_factory=list)  # reviewer models
    skipped: str = ""  # why no review ran (fewer than three answers)
    cost_usd: float | None = 0.0  # every review together; None: some price is unknown

    @property
    def lines(self) -> list[str]:
        if self.skipped:
            return [f"  cross-review: none ({self.skipped})"]
        lines = [f"  review {r.line}" for r in self.reviews]
        scores = ", ".join(f"#{n} {self.scores[n]:.2f}" for n in self.order)
        lines.append(f"  cross-review (Borda, 0–1): {scores or 'no valid review'}")
        lines.append(f"  {self.disagreement_text}; reviews cost {_usd(self.cost_usd)}")
        return lines

    @property
    def disagreement_text(self) -> str:
        parts = []
        if self.disagreement is not None:
            parts.append(
                f"{self.disagreement:.0%} of the reviewers' judgements against the aggregate"
            )
        if self.between_reviewers is not None:
            parts.append(f"reviewers disagree on {self.between_reviewers:.0%} of shared pairs")
        if self.dissenters:
            parts.append(f"top pick differs from the aggregate: {', '.join(self.dissenters)}")
        elif self.agreement:
            parts.append("every reviewer's top pick matches the aggregate")
        if self.excluded:
            parts.append(f"{len(self.excluded)} review(s) excluded")
        return "; ".join(parts) or "no disagreement measurable"
