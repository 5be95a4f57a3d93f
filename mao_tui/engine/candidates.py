"""Candidate races: one workstream run on several models at once, one answer kept by code.

A workstream whose plan row says ``candidates`` (a number, or a list of models) runs once per
candidate model, all at the same time, each on that model alone (no fallback: a candidate that
fails is a failed candidate, not another model's answer). Each answer that came back is handed
to the session's :class:`CandidateVerifier` (``service/race.py``: its files applied alone to a
fresh copy of the workspace, the session's checks run there); then :func:`select` picks one:

1. an answer at all;
2. no new failures (a check that passed before the candidate's files and fails after them);
3. verified (its files could be applied and checked);
4. more checks passed, then fewer failed;
5. a higher blind cross-review score, when the race is cross-reviewed (engine/cross_review.py;
   a candidate no valid review ranked comes after those ranked);
6. cheaper (a candidate whose price is unknown counts as the most expensive);
7. the earlier candidate (the chain's order).

The selected answer is the workstream's output: the synthesis builds on it as on any other.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from mao_tui.domain import Plan, PlannedWorkstream, TokenTotals, WorkstreamStatus
from mao_tui.domain.candidate_events import (
    CandidateCheck,
    CandidateRecord,
    CandidateSelected,
    CandidateStarted,
    CandidateVerified,
)
from mao_tui.domain.cross_review import CrossReview
from mao_tui.domain.events import EventSink
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.cross_review import CrossReviewer, reveal
from mao_tui.engine.ledger import ProvenanceKeeper, RaceAnswer
from mao_tui.engine.routing import resolved_chain, route_chain
from mao_tui.settings.schema import Settings

RACE_HEADING = "## Candidate race"  # the simulator answers a candidate's request by it
RunChain = Callable[[str, PlannedWorkstream, Prompts], Awaitable[Outcome]]


class CandidateVerifier(Protocol):
    """Verifies one candidate's answer apart from the user's tree (``service/race.py``)."""

    @property
    def workspace(self) -> Path:
        """The folder the race's worktrees or copies are of (the ledger reads it too)."""
        ...

    def describe(self) -> str:
        """The checks, in words for the candidates' prompt."""
        ...

    async def baseline(self) -> CandidateCheck:
        """The checks on an untouched copy of the workspace: what fails before any candidate."""
        ...

    async def verify(self, text: str, label: str, baseline: CandidateCheck) -> CandidateCheck:
        """``text``'s files applied alone to a fresh copy, then the checks run there."""
        ...


def race_target(settings: Settings, plan: Plan) -> str | None:
    """The workstream ``--candidates N`` races when it names none: the one on the playbook's
    fix route (the one that writes code in ``develop``), else the first."""
    playbook = settings.playbooks.get(plan.playbook)
    fix_route = playbook.fix.route if playbook is not None and playbook.fix is not None else None
    for ws in plan.workstreams:
        if fix_route is not None and ws.route == fix_route:
            return ws.template_key or ws.key
    return (
        (plan.workstreams[0].template_key or plan.workstreams[0].key) if plan.workstreams else None
    )


def with_candidates(
    settings: Settings, plan: Plan, asked: dict[str, int], cross_review: bool | None = None
) -> Plan:
    """``plan`` with each workstream's race: the command line's (``asked``: key → N, ``""``
    the default target) over the plan's own, over the playbook's option. Whether a race is
    cross-reviewed: the command line's ``cross_review`` over the plan row's, over the
    playbook workstream's, over the playbook's."""
    playbook = settings.playbooks.get(plan.playbook)
    options = {w.key: w.candidates for w in playbook.workstreams} if playbook else {}
    reviews = {w.key: w.cross_review for w in playbook.workstreams} if playbook else {}
    default_review = playbook.cross_review if playbook else False
    if "" in asked:
        target = race_target(settings, plan)
        asked = {k: n for k, n in asked.items() if k} | ({target: asked[""]} if target else {})
    rows = []
    for ws in plan.workstreams:
        template = ws.template_key or ws.key
        wanted = asked.get(ws.key, asked.get(template)) or ws.candidates or options.get(template, 0)
        review = next(
            (
                said
                for said in (cross_review, ws.cross_review, reviews.get(template))
                if said is not None
            ),
            default_review,
        )
        changed = {"candidates": wanted, "cross_review": review}
        same = wanted == ws.candidates and review == bool(ws.cross_review)
        rows.append(ws if same else ws.model_copy(update=changed))
    return plan.model_copy(update={"workstreams": rows})


def candidate_models(
    settings: Settings, ws: PlannedWorkstream, has_key: Callable[[str], bool]
) -> list[str]:
    """The distinct models a race runs on: a list as given (aliases resolved); a number N:
    the workstream's own chain first, then every route's chain in routing.yaml's order,
    keeping models whose provider has a key, the first N of them."""
    if isinstance(ws.candidates, list):
        chain, _ = resolved_chain(settings, ws.candidates)
        return list(dict.fromkeys(chain))
    found = list(ws.chain)
    for route in settings.routing.routes:
        found += route_chain(settings, route)[0]
    usable = [
        m
        for m in dict.fromkeys(found)
        if m in settings.registry.models and has_key(settings.model(m).provider)
    ]
    return usable[: max(ws.candidates, 0)]


def _cost(record: CandidateRecord) -> float:
    return record.cost_usd if record.cost_usd is not None else math.inf


def _review(record: CandidateRecord) -> float:
    return -record.review_score if record.review_score is not None else math.inf


def rank_key(record: CandidateRecord) -> tuple[bool, bool, bool, int, int, float, float, int]:
    """Lower is better: the selection order of the module's docstring."""
    check = record.check
    return (
        record.status != WorkstreamStatus.DONE.value,
        bool(check.new_failures),
        not check.verified,
        -len(check.passed),
        len(check.failed),
        _review(record),
        _cost(record),
        record.number,
    )


def select(records: list[CandidateRecord]) -> tuple[CandidateRecord | None, str]:
    """The selected candidate (None: none answered) and why, in words."""
    ranked = sorted(records, key=rank_key)
    answered = [r for r in ranked if r.status == WorkstreamStatus.DONE.value]
    if not answered:
        return None, "no candidate answered"
    best = answered[0]
    lead = f"verification: {best.check.summary}"
    if len(answered) == 1:
        why = "the only candidate that answered" if len(records) > 1 else "the only candidate"
        return best, f"{lead}; {why}"
    return best, f"{lead}; {_why_over(best, answered[1])}"


def _why_over(best: CandidateRecord, second: CandidateRecord) -> str:
    """The first rule of the order that puts ``best`` before ``second``."""
    b, s = best.check, second.check
    name = second.model
    if s.new_failures and not b.new_failures:
        return f"no new failures ({name} broke {', '.join(s.new_failures)})"
    if b.verified and not s.verified:
        return f"verified ({name}: {s.summary})"
    if len(b.passed) != len(s.passed):
        return f"more checks passed ({len(b.passed)} vs {len(s.passed)} for {name})"
    if len(b.failed) != len(s.failed):
        return f"fewer checks failed ({len(b.failed)} vs {len(s.failed)} for {name})"
    if _review(best) < _review(second):
        theirs = "not ranked" if second.review_score is None else f"{second.review_score:.2f}"
        return (
            f"same verification as {name}; cross-review decided: ranked higher by the blind "
            f"reviewers (Borda {best.review_score:.2f} vs {theirs})"
        )
    if _cost(best) < _cost(second):
        return (
            f"same verification as {name}, cheaper ({_usd(best.cost_usd)} vs "
            f"{_usd(second.cost_usd)})"
        )
    return f"tied with {name} on verification and cost; earlier in the order"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def cheapest_passing(
    records: list[CandidateRecord], selected: CandidateRecord
) -> CandidateRecord | None:
    """The cheapest candidate (of known cost) that passed at least the checks the selected
    one passed, with no failure: what the same result could have cost on one model."""
    wanted = set(selected.check.passed)
    passing = [
        r
        for r in records
        if r.status == WorkstreamStatus.DONE.value
        and r.check.verified
        and not r.check.failed
        and wanted <= set(r.check.passed)
        and r.cost_usd is not None
    ]
    return min(passing, key=lambda r: (_cost(r), r.number), default=None)


def race_section(of: int, verifier: CandidateVerifier | None, reviewed: bool = False) -> str:
    """What a candidate is told: the race, and how its answer will be judged."""
    tie = (
        "the one the other candidates' models rank best (blind), then the cheaper one"
        if reviewed
        else "the cheaper one"
    )
    how = (
        f"Your answer's files are applied alone to a fresh copy of the project and verified "
        f"there with {verifier.describe()}. Give every file those checks need, complete, in a "
        "`mao-files` manifest; the candidate that passes the most checks (and breaks none "
        f"that passed before) is kept, on a tie {tie}."
        if verifier is not None
        else f"Nothing verifies the candidates in this session: the answer kept is {tie}."
    )
    return (
        f"{RACE_HEADING}\n\nThis answer is one of {of} candidates, each from another model. {how}"
    )


class CandidateRace:
    """Runs a workstream's race and reports it as events; the session settles the outcome."""

    def __init__(
        self,
        settings: Settings,
        emit: EventSink,
        run_chain: RunChain,
        has_key: Callable[[str], bool],
        verifier: CandidateVerifier | None = None,
        run_review: RunChain | None = None,
    ) -> None:
        self._settings = settings
        self._emit = emit
        self._run_chain = run_chain
        self._run_review = run_review or run_chain  # a cross-review's call: no output check
        self._has_key = has_key
        self.verifier = verifier
        self.ledger = ProvenanceKeeper(emit)  # each race's answers, for the file provenance

    async def run(self, session_id: str, ws: PlannedWorkstream, prompts: Prompts) -> Outcome:
        """Every candidate at once, then the selection; the outcome is the selected one's
        answer with every candidate's usage (FAILED when none answered)."""
        models = candidate_models(self._settings, ws, self._has_key)
        if not models:
            return await self._run_chain(session_id, ws, prompts)  # nothing to race: as usual
        baseline = await self.verifier.baseline() if self.verifier is not None else None
        section = race_section(len(models), self.verifier, bool(ws.cross_review))

        def told(model_id: str) -> tuple[str, str]:
            system, prompt = prompts(model_id) if callable(prompts) else prompts
            return system, f"{prompt}\n\n{section}\n"

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    self._candidate(session_id, ws, told, n, len(models), m, baseline)
                )
                for n, m in enumerate(models, 1)
            ]
        results = [t.result() for t in tasks]
        records = [record for record, _ in results]
        usage = TokenTotals()
        for _, outcome in results:
            usage.add(outcome.usage)
        cross = None
        if ws.cross_review:
            records, cross = await self._cross_review(session_id, ws, prompts, results, usage)
        chosen, reason = select(records)
        done = WorkstreamStatus.DONE
        answers = [(r.number, r.model, o.text) for r, o in results if o.status is done]
        self.ledger.keep(RaceAnswer(ws.key, chosen.number if chosen else None, answers))
        cheapest = cheapest_passing(records, chosen) if chosen is not None else None
        known = [r.cost_usd for r in records]
        await self._emit(
            CandidateSelected(
                session_id=session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                number=chosen.number if chosen else None,
                model=chosen.model if chosen else None,
                reason=reason,
                candidates=records,
                baseline_failed=baseline.failed if baseline is not None else [],
                baseline_passed=baseline.passed if baseline is not None else [],
                cheapest_passing_model=cheapest.model if cheapest else None,
                cheapest_passing_usd=cheapest.cost_usd if cheapest else None,
                total_usd=None if None in known else sum(c or 0.0 for c in known),
                cross_review=cross,
            )
        )
        if chosen is None:
            return Outcome(WorkstreamStatus.FAILED, usage=usage, reason="no candidate answered")
        picked = results[chosen.number - 1][1]
        text = picked.text
        if cross is not None and not cross.skipped:  # every ranking is in: the map may be told
            text += reveal(cross, {r.number: r.model for r in records}, chosen.number)
        return Outcome(WorkstreamStatus.DONE, picked.model, text, usage)

    async def _cross_review(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        results: list[tuple[CandidateRecord, Outcome]],
        usage: TokenTotals,
    ) -> tuple[list[CandidateRecord], CrossReview]:
        """The answered candidates reviewed blind by each other; ``usage`` gets the reviews'."""
        answers = {
            record.number: (record.model, outcome.text)
            for record, outcome in results
            if outcome.status is WorkstreamStatus.DONE
        }
        reviewer = CrossReviewer(self._settings, self._emit, self._run_review)
        cross, spent = await reviewer.review(session_id, ws, prompts, answers)
        usage.add(spent)
        records = [
            r.model_copy(update={"review_score": cross.scores.get(r.number)}) for r, _ in results
        ]
        return records, cross

    async def _candidate(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        number: int,
        of: int,
        model: str,
        baseline: CandidateCheck | None,
    ) -> tuple[CandidateRecord, Outcome]:
        await self._emit(
            CandidateStarted(
                session_id=session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                number=number,
                of=of,
                model=model,
            )
        )
        started = time.monotonic()
        alone = ws.model_copy(update={"chain": [model], "substitutions": []})
        outcome = await self._run_chain(session_id, alone, prompts)
        elapsed = time.monotonic() - started
        check = CandidateCheck(detail="no answer")
        if outcome.status is WorkstreamStatus.DONE:
            check = CandidateCheck(detail="no verification in this session")
            if self.verifier is not None and baseline is not None:
                check = await self.verifier.verify(outcome.text, f"{ws.key}-{number}", baseline)
        record = CandidateRecord(
            number=number,
            model=model,
            status=outcome.status.value,
            check=check,
            cost_usd=outcome.usage.cost_usd if outcome.usage.cost_complete else None,
            elapsed_s=elapsed,
        )
        await self._emit(
            CandidateVerified(
                session_id=session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                candidate=record,
            )
        )
        return record, outcome
