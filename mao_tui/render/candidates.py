"""A session's candidate races as text: the ensemble ledger of ``mao sessions show`` and of the
Markdown export, with where each file (and hunk) of the final output came from."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mao_tui.domain import AttemptStatus
from mao_tui.domain.candidate_events import CandidateSelected, LedgerProvenance
from mao_tui.domain.cross_review import CrossReview
from mao_tui.domain.stored import AttemptRecord


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def races_markdown(
    races: list[CandidateSelected],
    attempts: Sequence[AttemptRecord] = (),
    provenance: LedgerProvenance | None = None,
) -> str:
    """One section per race: every candidate (model, answer, verification and its delta
    against the baseline, cost, time, the worktree or copy it was verified in), the one
    selected and why, the cheapest that passed, and each candidate's answer (its successful
    attempt's text, from ``attempts``); then where each file of the final output came from."""
    if not races:
        return ""
    parts = ["## Candidate races\n"]
    for race in races:
        chosen = f"#{race.number} {race.model}" if race.model else "none"
        parts.append(f"### {race.workstream_title} ({race.workstream})\n")
        parts.append(f"- selected: {chosen} — {race.reason}")
        if race.baseline_failed:
            parts.append(f"- failing before any candidate: {', '.join(race.baseline_failed)}")
        if race.cheapest_passing_model is not None:
            parts.append(
                f"- cheapest candidate that passed the same checks: "
                f"{race.cheapest_passing_model} at {_usd(race.cheapest_passing_usd)}"
            )
        parts.append(f"- all {len(race.candidates)} candidates: {_usd(race.total_usd)}\n")
        parts.append(
            "| # | model | answer | verification | delta vs baseline | cost | time | verified in |"
        )
        parts.append("|---|---|---|---|---|---|---|---|")
        for c in race.candidates:
            mark = " ✓" if c.number == race.number else ""
            parts.append(
                f"| {c.number}{mark} | {c.model} | {c.status} | {c.check.summary} | "
                f"{c.check.delta} | {_usd(c.cost_usd)} | {c.elapsed_s:.1f}s | {c.check.where} |"
            )
        parts.append("")
        if race.cross_review is not None:
            parts += _cross_review(race.cross_review, {c.number: c.model for c in race.candidates})
        parts += _answers(race, attempts)
    parts += provenance_markdown(provenance)
    parts.append(
        "The candidates' worktrees and copies were temporary, removed after the session.\n"
    )
    return "\n".join(parts)


def provenance_markdown(provenance: LedgerProvenance | None) -> list[str]:
    """Where each file (and, when it has several, each hunk) of the final output came from."""
    if provenance is None:
        return []
    stage = provenance.stage_words
    parts = [f"### Where the {len(provenance.files)} file(s) {stage} came from\n"]
    parts.append("| file | lines | from |")
    parts.append("|---|---|---|")
    for f in provenance.files:
        parts.append(f"| `{_cell(f.path)}` | whole file | {_cell(f.source.label)} |")
        if len(f.hunks) > 1:
            for h in f.hunks:
                lines = f"{h.start}–{h.start + max(h.lines, 1) - 1}"
                parts.append(f"|  | {lines} | {_cell(h.source.label)} |")
    parts.append("")
    return parts


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _answers(race: CandidateSelected, attempts: Sequence[AttemptRecord]) -> list[str]:
    parts = []
    for c in race.candidates:
        texts = [
            a.output_text
            for a in attempts
            if a.workstream == race.workstream
            and a.model == c.model
            and a.status is AttemptStatus.OK
        ]
        if not texts:
            continue
        role = "selected" if c.number == race.number else "not selected"
        body = texts[0].strip()  # a cross-review's answer on the same model comes after it
        longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
        fence = "`" * max(3, longest + 1)
        parts.append(f"#### Candidate #{c.number}: {c.model} ({role})\n")
        parts.append(f"{fence}markdown\n{body}\n{fence}\n")
    return parts


def _cross_review(cross: CrossReview, models: dict[int, str]) -> list[str]:
    """The blind cross-review: each reviewer, the labels it saw (the map kept by code), its
    ranking or why it was left out; the aggregate and the disagreement."""
    parts = ["#### Blind cross-review\n"]
    if cross.skipped:
        return [*parts, f"- not run: {cross.skipped}\n"]
    aggregate = ", ".join(f"#{n} {models.get(n, '?')} {cross.scores[n]:.2f}" for n in cross.order)
    parts.append(f"- aggregate (Borda, 0–1, mean over the reviews that saw it): {aggregate or '—'}")
    parts.append(f"- disagreement: {cross.disagreement_text}")
    parts.append("- reviews cost: " + _usd(cross.cost_usd) + "\n")
    parts.append("| reviewer | saw | ranking | candidates, best first |")
    parts.append("|---|---|---|---|")
    for r in cross.reviews:
        saw = ", ".join(f"{label} = #{n}" for label, n in r.labels.items())
        why = re.sub(r"[|`\n]", " ", r.error)  # the model's words, kept out of the table's syntax
        ranking = " > ".join(r.ranking) if r.valid else f"excluded: {why}"
        order = " > ".join(f"#{n}" for n in r.ranked_numbers) if r.valid else "—"
        parts.append(f"| #{r.reviewer} {r.model} | {saw} | {ranking} | {order} |")
    parts.append("")
    return parts
