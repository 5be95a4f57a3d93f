"""Blind cross-review by code (engine/cross_review.py): neutral labels, scrubbing, parsing a
ranking, the normalised Borda aggregate, the disagreement, and where the score sits in the
selection order (engine/candidates.py)."""

from __future__ import annotations

import asyncio
import io

import pytest

from mao_tui.domain import Plan, PlanReady
from mao_tui.domain.candidate_events import CandidateCheck, CandidateRecord, CandidateReviewed
from mao_tui.domain.cross_review import CandidateReview
from mao_tui.engine.candidates import select, with_candidates
from mao_tui.engine.cross_review import (
    aggregate,
    identifying_terms,
    labels_for,
    parse_ranking,
    scrub,
)
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.render.headless import ProgressSink
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.tui.reducer import DashboardState


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings([shipped_config_dir()])


def _review(reviewer: int, *ranked: int, error: str = "") -> CandidateReview:
    """A review that saw ``ranked`` (best first) under labels A, B, C… in that order."""
    labels = {chr(ord("A") + i): n for i, n in enumerate(ranked)}
    ranking = [] if error else list(labels)
    return CandidateReview(
        reviewer=reviewer, model=f"m{reviewer}", labels=labels, ranking=ranking, error=error
    )


def test_labels_are_neutral_shuffled_per_reviewer_never_its_own_and_seeded() -> None:
    others = [1, 2, 4, 5]
    labels = labels_for("01SESSION", "implementation", 3, others)
    assert list(labels) == ["A", "B", "C", "D"] and sorted(labels.values()) == others
    assert labels == labels_for("01SESSION", "implementation", 3, others)  # deterministic
    orders = {
        tuple(labels_for(sid, "implementation", 3, others).values())
        for sid in ("s1", "s2", "s3", "s4", "s5", "s6")
    }
    assert len(orders) > 1  # shuffled, not always the candidates' order


def test_scrub_removes_every_name_that_tells_a_model(settings: Settings) -> None:
    terms = identifying_terms(settings, ["sonnet-5.5", "gpt-6.2-sol"])
    text = (
        "Drafted by claude-sonnet-5-5 (Claude Sonnet 5.5, sonnet-5.5); as Claude by Anthropic. "
        "GPT-6.2 Sol via openai wrote gpt-6.2-sol. Keep: personnel, claudette, resolve."
    )
    clean = scrub(text, terms)
    for name in ("sonnet", "claude ", "anthropic", "gpt", "openai", "sol "):
        assert name not in clean.lower(), name
    assert "personnel, claudette, resolve" in clean  # whole words only


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B is best.\nRANKING: B > A > C", (["B", "A", "C"], "")),
        ("**RANKING:** Answer C > answer a > (B)\n", (["C", "A", "B"], "")),
        ("RANKING: A > B > C\nOn reflection:\nRANKING: `C` > `B` > `A`.", (["C", "B", "A"], "")),
        ("I like B.", ([], "no RANKING line")),
        ("RANKING: B > A", ([], "leaves out C")),
        ("RANKING: B > A > B > C", ([], "names B more than once")),
        ("RANKING: B > D > A > C", ([], "ranks D, which it was not shown")),
        ("RANKING: the second one", ([], "RANKING line not understood: 'the second one'")),
    ],
)
def test_parse_ranking_is_robust_and_says_why_it_refuses(
    answer: str, expected: tuple[list[str], str]
) -> None:
    assert parse_ranking(answer, ["A", "B", "C"]) == expected


def test_borda_is_normalised_per_reviewer_and_the_disagreement_reported() -> None:
    # Four candidates; each reviewer saw the other three (best first):
    reviews = [
        _review(1, 4, 2, 3),  # 4: 1, 2: .5, 3: 0
        _review(2, 1, 4, 3),  # 1: 1, 4: .5, 3: 0
        _review(3, 2, 1, 4),  # 2: 1, 1: .5, 4: 0
        _review(4, 1, 2, 3),  # 1: 1, 2: .5, 3: 0
    ]
    cross = aggregate(reviews)
    # 1: (1 + .5 + 1)/3; 2: (.5 + 1 + .5)/3; 3: 0/3; 4: (1 + .5 + 0)/3
    assert cross.scores == pytest.approx({1: 2.5 / 3, 2: 2 / 3, 3: 0.0, 4: 0.5})
    assert cross.order == [1, 2, 4, 3]
    # against the aggregate: reviewer 1 ranks 4 over 2 (1 of 3 pairs); reviewer 3 ranks 2 over
    # 1 (1 of 3); reviewers 2 and 4 agree on all: 2 of 12 judgements
    assert cross.disagreement == pytest.approx(2 / 12)
    # pairs two reviewers both ranked: reviewers 1-2 {3,4}, 1-3 {2,4}, 1-4 {2,3}, 2-3 {1,4},
    # 2-4 {1,3}, 3-4 {1,2}; they disagree on 1-3's (2 vs 4) and 3-4's (1 vs 2): 2 of 6
    assert cross.between_reviewers == pytest.approx(2 / 6)
    assert [a.tau for a in cross.agreement] == pytest.approx([1 / 3, 1.0, 1 / 3, 1.0])
    # reviewer 1's top (4) is not the aggregate's best of what it saw (2); reviewer 3's top (2)
    # is not 1
    assert cross.dissenters == ["m1", "m3"]
    assert cross.excluded == []


def test_a_failed_review_is_excluded_and_counts_for_nothing() -> None:
    reviews = [_review(1, 2, 3), _review(2, 1, 3), _review(3, 2, 1, error="no RANKING line")]
    cross = aggregate(reviews)
    assert cross.excluded == [3]
    assert cross.scores == {1: 1.0, 2: 1.0, 3: 0.0}  # reviewer 3's view of 1 vs 2 is unknown
    assert cross.between_reviewers is None  # no pair ranked by two reviewers
    assert "1 review(s) excluded" in cross.disagreement_text


def _record(number: int, passed: int, score: float | None, cost: float = 0.02) -> CandidateRecord:
    check = CandidateCheck(verified=True, passed=["tests"] * passed, failed=[])
    return CandidateRecord(
        number=number, model=f"m{number}", status="done", check=check, cost_usd=cost,
        review_score=score,
    )  # fmt: skip


def test_cross_review_decides_after_verification_and_before_cost() -> None:
    cheap, liked = _record(1, 1, 0.0, cost=0.01), _record(2, 1, 1.0, cost=0.05)
    chosen, reason = select([cheap, liked])
    assert chosen is liked
    assert reason.endswith(
        "same verification as m1; cross-review decided: ranked higher by the blind reviewers "
        "(Borda 1.00 vs 0.00)"
    )
    verified_better = _record(3, 2, 0.0)
    assert select([liked, verified_better])[0] is verified_better  # verification first
    unranked = _record(4, 1, None)
    assert select([unranked, cheap])[0] is cheap  # a ranked one before an unranked one
    assert "cheaper" in select([_record(5, 1, None, 0.01), _record(6, 1, None, 0.02)])[1]


def test_cross_review_precedence_command_line_over_plan_over_playbook(settings: Settings) -> None:
    plan = rule_based_plan(settings, "develop")

    def reviewed(p: Plan) -> dict[str, bool]:
        return {ws.key: bool(ws.cross_review) for ws in p.workstreams if ws.key == "implementation"}

    assert reviewed(with_candidates(settings, plan, {"": 3})) == {"implementation": False}
    assert reviewed(with_candidates(settings, plan, {"": 3}, True)) == {"implementation": True}
    rows = [
        ws.model_copy(update={"cross_review": True}) if ws.key == "implementation" else ws
        for ws in plan.workstreams
    ]
    said = plan.model_copy(update={"workstreams": rows})
    assert reviewed(with_candidates(settings, said, {})) == {"implementation": True}
    assert reviewed(with_candidates(settings, said, {}, False)) == {"implementation": False}
    playbook = settings.playbooks["develop"].model_copy(update={"cross_review": True})
    on = settings.model_copy(update={"playbooks": {**settings.playbooks, "develop": playbook}})
    assert reviewed(with_candidates(on, plan, {})) == {"implementation": True}
    assert reviewed(with_candidates(on, plan, {}, False)) == {"implementation": False}


def test_a_review_is_a_line_in_the_lane_and_in_headless_progress(settings: Settings) -> None:
    review = _review(2, 3, 1).model_copy(update={"model": "gpt-6.2-sol"})
    event = CandidateReviewed(
        session_id="s",
        workstream="implementation",
        workstream_title="Implementation",
        review=review,
        system_prompt="sys",
        prompt="p",
        answer="RANKING: A > B",
    )
    state = DashboardState()
    state.apply(PlanReady(session_id="s", plan=rule_based_plan(settings, "develop")))
    assert state.apply(event).notes == ("implementation",)
    line = "Implementation: review #2 gpt-6.2-sol saw A=#3, B=#1: A > B (#3 > #1)"
    assert state.lanes["implementation"].notes[-1] == f"◆ {line}"
    out = io.StringIO()
    asyncio.run(ProgressSink(out)(event))
    assert f"✓ {line}" in out.getvalue()
