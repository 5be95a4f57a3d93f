"""The candidate race's rules (engine/candidates.py): the selection order, the reason it gives,
the cheapest candidate that passed the same checks, which models race and which workstream
``--candidates N`` means."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from mao_tui.domain import AttemptStarted, PlanReady
from mao_tui.domain.candidate_events import (
    CandidateCheck,
    CandidateRecord,
    CandidateSelected,
    CandidateStarted,
    CandidateVerified,
)
from mao_tui.engine.candidates import (
    candidate_models,
    cheapest_passing,
    race_target,
    select,
    with_candidates,
)
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.render.headless import ProgressSink
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.tui.reducer import DashboardState


def _check(
    passed: int = 0, failed: int = 0, *, new: int = 0, verified: bool = True
) -> CandidateCheck:
    failures = [f"f{i}" for i in range(failed)]
    return CandidateCheck(
        verified=verified,
        passed=[f"p{i}" for i in range(passed)],
        failed=failures,
        new_failures=failures[:new],
        detail="" if verified else "no files",
    )


def _record(
    number: int,
    check: CandidateCheck,
    cost: float | None = 0.01,
    status: str = "done",
) -> CandidateRecord:
    return CandidateRecord(
        number=number, model=f"m{number}", status=status, check=check, cost_usd=cost
    )


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings([shipped_config_dir()])


def test_more_passing_checks_win_over_a_lower_cost() -> None:
    cheap = _record(1, _check(passed=1, failed=1), cost=0.001)
    good = _record(2, _check(passed=2), cost=0.5)
    chosen, reason = select([cheap, good])
    assert chosen is good
    assert reason == "verification: 2 passed, 0 failed; more checks passed (2 vs 1 for m1)"


def test_a_new_failure_loses_to_any_candidate_without_one() -> None:
    breaks = _record(1, _check(passed=3, failed=1, new=1), cost=0.001)
    unverified = _record(2, _check(verified=False), cost=0.9)
    chosen, reason = select([breaks, unverified])
    assert chosen is unverified
    assert "no new failures (m1 broke f0)" in reason


def test_verified_beats_not_verified_and_fewer_failures_beat_more() -> None:
    no_files = _record(1, _check(verified=False), cost=0.0)
    failing = _record(2, _check(passed=0, failed=1), cost=0.2)
    assert select([no_files, failing])[0] is failing
    worse = _record(3, _check(passed=1, failed=2))
    better = _record(4, _check(passed=1, failed=1))
    chosen, reason = select([worse, better])
    assert chosen is better and "fewer checks failed (1 vs 2 for m3)" in reason


def test_on_equal_verification_the_cheaper_wins_and_unknown_cost_counts_as_dearest() -> None:
    dear = _record(1, _check(passed=1), cost=0.04)
    cheap = _record(2, _check(passed=1), cost=0.02)
    unknown = _record(3, _check(passed=1), cost=None)
    chosen, reason = select([unknown, dear, cheap])
    assert chosen is cheap
    assert reason.endswith("same verification as m1, cheaper ($0.0200 vs $0.0400)")
    tied = select([_record(1, _check(passed=1)), _record(2, _check(passed=1))])
    assert tied[0] is not None and tied[0].number == 1 and "earlier in the order" in tied[1]


def test_a_candidate_without_an_answer_is_never_selected() -> None:
    failed = _record(1, _check(verified=False), cost=0.0, status="failed")
    answered = _record(2, _check(passed=0, failed=1, new=1), cost=1.0)
    chosen, reason = select([failed, answered])
    assert chosen is answered and reason.endswith("the only candidate that answered")
    assert select([failed]) == (None, "no candidate answered")


def test_cheapest_passing_is_the_cheapest_with_the_same_checks_and_no_failure() -> None:
    selected = _record(1, _check(passed=2), cost=0.05)
    cheaper_failing = _record(2, _check(passed=2, failed=1), cost=0.01)
    cheaper_passing = _record(3, _check(passed=2), cost=0.02)
    fewer_checks = _record(4, _check(passed=1), cost=0.001)
    records = [selected, cheaper_failing, cheaper_passing, fewer_checks]
    assert cheapest_passing(records, selected) is cheaper_passing
    assert cheapest_passing([selected], selected) is selected
    nothing_verified = _record(5, _check(verified=False))
    assert cheapest_passing([nothing_verified], nothing_verified) is None


def test_candidates_n_races_the_fix_routes_workstream_on_distinct_models(
    settings: Settings,
) -> None:
    plan = rule_based_plan(settings, "develop")
    assert race_target(settings, plan) == "implementation"
    raced = with_candidates(settings, plan, {"": 3, "tests": 2})
    asked = {ws.key: ws.candidates for ws in raced.workstreams if ws.candidates}
    assert asked == {"implementation": 3, "tests": 2}
    implementation = next(ws for ws in raced.workstreams if ws.key == "implementation")
    assert candidate_models(settings, implementation, lambda provider: True) == [
        "sonnet-5.5",
        "gpt-6.2-sol",
        "opus-5.5",
    ]
    wide = implementation.model_copy(update={"candidates": 5})
    models = candidate_models(settings, wide, lambda provider: True)
    assert len(models) == len(set(models)) == 5 and models[:3] == implementation.chain
    anthropic_only = candidate_models(settings, wide, lambda provider: provider == "anthropic")
    assert all(settings.model(m).provider == "anthropic" for m in anthropic_only)


def test_a_list_of_models_is_raced_as_given(settings: Settings) -> None:
    plan = rule_based_plan(settings, "develop")
    ws = plan.workstreams[0].model_copy(update={"candidates": ["haiku-5.5", "gpt-6.2-astra"]})
    assert candidate_models(settings, ws, lambda provider: True) == ["haiku-5.5", "gpt-6.2-astra"]
    assert with_candidates(settings, plan, {}) == plan  # nothing asked: the plan unchanged


def _race_events(sid: str) -> list[CandidateStarted | CandidateVerified | CandidateSelected]:
    title: dict[str, Any] = {"workstream": "implementation", "workstream_title": "Implementation"}
    good = _record(1, _check(passed=1), cost=0.02).model_copy(update={"model": "sonnet-5.5"})
    bad = _record(2, _check(failed=1), cost=0.01).model_copy(update={"model": "opus-5.5"})
    return [
        CandidateStarted(session_id=sid, number=1, of=2, model="sonnet-5.5", **title),
        CandidateVerified(session_id=sid, candidate=good, **title),
        CandidateVerified(session_id=sid, candidate=bad, **title),
        CandidateSelected(
            session_id=sid,
            number=1,
            model="sonnet-5.5",
            reason="verification: 1 passed, 0 failed; more checks passed (1 vs 0 for opus-5.5)",
            candidates=[good, bad],
            cheapest_passing_model="sonnet-5.5",
            cheapest_passing_usd=0.02,
            total_usd=0.03,
            **title,
        ),
    ]


def test_the_dashboard_notes_a_race_in_its_lane_and_headless_prints_the_ledger(
    settings: Settings,
) -> None:
    state = DashboardState()
    state.apply(PlanReady(session_id="s", plan=rule_based_plan(settings, "develop")))
    out = io.StringIO()
    progress = ProgressSink(out)
    for event in _race_events("s"):
        assert state.apply(event).notes == ("implementation",)
        asyncio.run(progress(event))
    notes = state.lanes["implementation"].notes
    assert notes[0] == "◆ Implementation: candidate 1 of 2 on sonnet-5.5"
    assert notes[3].startswith("◆ Implementation: selected #1 sonnet-5.5 — verification:")
    assert "  → #1 sonnet-5.5: done, 1 passed, 0 failed, $0.0200, 0.0s" in notes
    assert not any("the panel shows" in n for n in notes)  # no attempt shown: nothing to say
    state.apply(
        AttemptStarted(
            session_id="s",
            attempt_id="a3",
            workstream="implementation",
            model="opus-5.5",
            provider="anthropic",
            api_model="claude-opus-5-5",
            attempt_no=3,
            thinking=False,
        )
    )
    state.apply(_race_events("s")[-1])
    assert notes[-1].startswith("◆ the panel shows opus-5.5's candidate as it streamed")
    printed = out.getvalue()
    assert "cheapest candidate that passed the same checks: sonnet-5.5 at $0.0200" in printed
    assert "#2 opus-5.5: done, 0 passed, 1 failed (f0; failing before too)" in printed
