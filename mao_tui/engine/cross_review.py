"""Blind cross-review of a race's candidates (issue 19), council-style.

After every candidate answered and was verified, each answered candidate's model reviews the
OTHER answers: under neutral labels (A, B, C… in an order shuffled per reviewer, seeded from the
session id, so a rerun of the same session shows the same labels), never its own answer, with
every name that could tell a model (the model id, API name, display name, family, series or
provider of any model models.yaml knows, the candidates' first) scrubbed from what it is
shown. It answers with a final line ``RANKING: B > A > C``; code parses it (a review that
cannot be parsed, or whose call failed, is recorded as such and left out) and aggregates by
Borda count, normalised so that reviewers that saw different subsets weigh alike, and reports
the disagreement (domain/cross_review.py).

The label → model map stays in code until every review is in; only then does the selected
answer carry, for the synthesis, who wrote what and how the reviewers ranked it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from itertools import combinations
from string import ascii_uppercase

from mao_tui.domain import PlannedWorkstream, TokenTotals, WorkstreamStatus
from mao_tui.domain.candidate_events import CandidateReviewed
from mao_tui.domain.cross_review import CandidateReview, CrossReview, ReviewerAgreement
from mao_tui.domain.events import EventSink
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.settings.schema import Settings

REVIEW_HEADING = "## Cross-review"  # the simulator answers a review request by it
MIN_ANSWERS = 3  # with two, each reviewer would see one answer: nothing to rank
SCRUBBED = "[model]"
RunChain = Callable[[str, PlannedWorkstream, Prompts], Awaitable[Outcome]]

SYSTEM = (
    "You review anonymous answers to one software request and rank them. You are not told who "
    "wrote them; do not guess. Judge what would work first (would it pass the project's checks, "
    "does it break anything), then completeness, then clarity. Answer in English."
)
_RANKING = re.compile(r"^[\s*_#>`]*RANKING[\s*_`]*:(?P<order>.*)$", re.I | re.M)
_TOKEN = re.compile(r"[\s*_`'\"(\[]*(?:answer\s+)?(?P<label>[A-Za-z])[\s*_`'\")\].]*", re.I)


def labels_for(
    session_id: str, workstream: str, reviewer: int, others: Sequence[int]
) -> dict[str, int]:
    """Neutral labels for the answers ``reviewer`` sees: A, B, C… over ``others`` in an order
    shuffled per reviewer, the same for the same session, workstream and reviewer."""
    order = list(others)
    random.Random(f"{session_id}:{workstream}:{reviewer}").shuffle(order)
    return {ascii_uppercase[i]: number for i, number in enumerate(order)}


def identifying_terms(settings: Settings, models: Sequence[str]) -> list[str]:
    """Every name that could tell one of ``models``: id, API name, display name and its first
    word, family, series and provider; longest first (so the longer name is scrubbed whole)."""
    terms: set[str] = set()
    for model_id in models:
        terms.add(model_id)
        spec = settings.registry.models.get(model_id)
        if spec is None:
            continue
        terms |= {spec.api_model, spec.provider}
        for name in (spec.display_name, spec.family, spec.series, spec.price_model):
            if name:
                terms.add(name)
        if spec.display_name:
            terms.add(spec.display_name.split()[0])
    return sorted((t for t in terms if len(t) >= 2), key=lambda t: (-len(t), t))


def scrub(text: str, terms: Sequence[str]) -> str:
    """``text`` with each of ``terms`` (whole words, any case) replaced by ``[model]``."""
    if not terms:
        return text
    alternatives = "|".join(re.escape(t) for t in terms)
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.I)
    return pattern.sub(SCRUBBED, text)


def _fenced(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}markdown\n{text.strip()}\n{fence}"


def review_prompt(request: str, shown: dict[str, str]) -> str:
    """The review request: the candidates' request, then each answer under its label."""
    labels = list(shown)
    example = " > ".join(labels)
    parts = [
        f"{REVIEW_HEADING}\n",
        f"{len(labels)} answers to the same request follow, each under a neutral label. "
        "Rank them all, best first.\n",
        "### The request the answers were written for\n",
        _fenced(request) + "\n",
    ]
    for label, text in shown.items():
        parts += [f"### Answer {label}\n", _fenced(text) + "\n"]
    parts.append(
        "### Your ranking\n\nSay briefly why, then end with exactly one line of this form, "
        f"naming each label ({', '.join(labels)}) once, best first:\n\nRANKING: {example}\n"
    )
    return "\n".join(parts)


def parse_ranking(answer: str, labels: Sequence[str]) -> tuple[list[str], str]:
    """The labels best first from the answer's last ``RANKING:`` line, and ``""``; or ``[]``
    and why the answer is not a ranking of exactly ``labels``."""
    lines = _RANKING.findall(answer)
    if not lines:
        return [], "no RANKING line"
    tokens = [t for t in re.split(r">|,", lines[-1]) if t.strip()]
    ranking = []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if match is None:
            return [], f"RANKING line not understood: {lines[-1].strip()[:80]!r}"
        ranking.append(match["label"].upper())
    unknown = [label for label in ranking if label not in labels]
    if unknown:
        return [], f"ranks {unknown[0]}, which it was not shown"
    twice = sorted({label for label in ranking if ranking.count(label) > 1})
    if twice:
        return [], f"names {twice[0]} more than once"
    missing = [label for label in labels if label not in ranking]
    if missing:
        return [], f"leaves out {', '.join(missing)}"
    return ranking, ""


def aggregate(reviews: Sequence[CandidateReview]) -> CrossReview:
    """Normalised Borda scores, the aggregate order, and the reviewers' disagreement."""
    valid = [r for r in reviews if r.valid and len(r.ranking) >= 2]
    points: dict[int, list[float]] = {}
    for review in valid:
        k = len(review.ranking)
        for position, number in enumerate(review.ranked_numbers):
            points.setdefault(number, []).append((k - 1 - position) / (k - 1))
    scores = {n: sum(p) / len(p) for n, p in sorted(points.items())}
    order = sorted(scores, key=lambda n: (-scores[n], n))
    against = comparable = 0
    agreement = []
    for review in valid:
        concordant = discordant = 0
        for better, worse in combinations(review.ranked_numbers, 2):
            if scores[better] > scores[worse]:
                concordant += 1
            elif scores[better] < scores[worse]:
                discordant += 1
        against, comparable = against + discordant, comparable + concordant + discordant
        pairs = concordant + discordant
        seen = review.ranked_numbers
        agreement.append(
            ReviewerAgreement(
                reviewer=review.reviewer,
                model=review.model,
                tau=(concordant - discordant) / pairs if pairs else None,
                top=seen[0],
                aggregate_top=min(seen, key=order.index),
            )
        )
    return CrossReview(
        reviews=list(reviews),
        scores=scores,
        order=order,
        excluded=[r.reviewer for r in reviews if r not in valid],
        disagreement=against / comparable if comparable else None,
        between_reviewers=_between(valid),
        agreement=agreement,
        dissenters=[a.model for a in agreement if a.top != a.aggregate_top],
        cost_usd=_total_cost(reviews),
    )


def _between(valid: Sequence[CandidateReview]) -> float | None:
    """The share of candidate pairs two reviewers both ranked on which they disagree."""
    shared = disagree = 0
    for one, other in combinations(valid, 2):
        first = {n: i for i, n in enumerate(one.ranked_numbers)}
        second = {n: i for i, n in enumerate(other.ranked_numbers)}
        common = sorted(set(first) & set(second))
        for a, b in combinations(common, 2):
            shared += 1
            disagree += (first[a] < first[b]) != (second[a] < second[b])
    return disagree / shared if shared else None


def _total_cost(reviews: Sequence[CandidateReview]) -> float | None:
    costs = [r.cost_usd for r in reviews]
    return None if None in costs else sum(c or 0.0 for c in costs)


def reveal(cross: CrossReview, models: dict[int, str], selected: int) -> str:
    """For the synthesis, after every review is in: who wrote which candidate, how the
    reviewers ranked them, and which was kept."""
    lines = [
        "",
        "---",
        f"(mao: this answer is candidate #{selected} of a race, kept by code; blind "
        "cross-review, revealed after every ranking was in:)",
    ]
    for number in cross.order:
        lines.append(f"- #{number} {models[number]}: Borda {cross.scores[number]:.2f}")
    lines.append(f"- {cross.disagreement_text}")
    return "\n".join(lines) + "\n"


class CrossReviewer:
    """Runs every review of one race at once and reports each as a ``candidate_reviewed``."""

    def __init__(self, settings: Settings, emit: EventSink, run_chain: RunChain) -> None:
        self._settings = settings
        self._emit = emit
        self._run_chain = run_chain

    async def review(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        answers: dict[int, tuple[str, str]],
    ) -> tuple[CrossReview, TokenTotals]:
        """``answers``: candidate number → (model, answer text), the answered ones only.
        The aggregate, and every review's usage (the session's cost counts it)."""
        usage = TokenTotals()
        if len(answers) < MIN_ANSWERS:
            why = f"{len(answers)} answered; a reviewer needs at least two other answers"
            return CrossReview(skipped=why), usage
        known = [*(m for m, _ in answers.values()), *self._settings.registry.models]
        terms = identifying_terms(self._settings, list(dict.fromkeys(known)))
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._one(session_id, ws, prompts, n, answers, terms))
                for n in answers
            ]
        reviews = []
        for task in tasks:
            review, outcome = task.result()
            reviews.append(review)
            usage.add(outcome.usage)
        return aggregate(reviews), usage

    async def _one(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        reviewer: int,
        answers: dict[int, tuple[str, str]],
        terms: Sequence[str],
    ) -> tuple[CandidateReview, Outcome]:
        model = answers[reviewer][0]
        labels = labels_for(session_id, ws.key, reviewer, [n for n in answers if n != reviewer])
        _, request = prompts(model) if callable(prompts) else prompts
        shown = {label: scrub(answers[n][1], terms) for label, n in labels.items()}
        prompt = review_prompt(scrub(request, terms), shown)
        alone = ws.model_copy(update={"chain": [model], "substitutions": []})
        outcome = await self._run_chain(session_id, alone, (SYSTEM, prompt))
        ranking: list[str] = []
        error = f"the review call failed: {outcome.reason or outcome.status.value}"
        if outcome.status is WorkstreamStatus.DONE:
            ranking, error = parse_ranking(outcome.text, list(labels))
        review = CandidateReview(
            reviewer=reviewer,
            model=model,
            labels=labels,
            ranking=ranking,
            error=error,
            cost_usd=outcome.usage.cost_usd if outcome.usage.cost_complete else None,
        )
        await self._emit(
            CandidateReviewed(
                session_id=session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                review=review,
                system_prompt=SYSTEM,
                prompt=prompt,
                answer=outcome.text,
            )
        )
        return review, outcome
