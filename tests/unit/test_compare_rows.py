"""The compare view's data, without Textual: the aligned line diff of two answers, and the
dashboard state that feeds it (each race candidate's text kept apart, its number and
verification, the answer in use and the user's pick)."""

from __future__ import annotations

from test_tui_reducer import SID, at, delta, finished_attempt, plan, session_started, started

from mao_tui.domain import PlanReady, WorkstreamFinished, WorkstreamStatus
from mao_tui.domain.candidate_events import CandidateRecord, CandidateStarted, CandidateVerified
from mao_tui.domain.pick_events import OutputPicked
from mao_tui.tui.diff_rows import INLINE_LIMIT, DiffRow, changed_spans, diff_rows, summary
from mao_tui.tui.reducer import DashboardState


def test_rows_align_both_answers_and_mark_what_differs() -> None:
    rows = diff_rows("a\nb\nc\nold", "a\nB\nc\nnew\nmore")
    assert rows == [
        DiffRow("same", "a", "a"),
        DiffRow("changed", "b", "B"),
        DiffRow("same", "c", "c"),
        DiffRow("changed", "old", "new"),
        DiffRow("added", None, "more"),
    ]
    assert diff_rows("x\ny", "y") == [DiffRow("removed", "x", None), DiffRow("same", "y", "y")]
    assert summary(rows).line == "2 changed, 0 only left, 1 only right, 2 the same"
    assert summary(diff_rows("same", "same")).line == "identical (1 lines)"


def test_a_changed_line_marks_the_characters_that_differ() -> None:
    assert changed_spans("key=(-a, -b)", "key=(-a, b)") == ([(9, 10)], [])
    assert changed_spans("x = 1", "x = 22") == ([(4, 5)], [(4, 6)])
    assert changed_spans("a" * (INLINE_LIMIT + 1), "b") == ([], [])  # whole line, not O(n²)


def test_model_output_is_cleaned_of_control_characters() -> None:
    [row] = diff_rows("\x1b[31mred\u202e", "plain")
    assert row.left is not None and "\x1b" not in row.left and "\u202e" not in row.left


def _race(state: DashboardState) -> None:
    for number, model in ((1, "m1"), (2, "m2")):
        state.apply(
            CandidateStarted(
                session_id=SID, workstream="a", workstream_title="A", number=number, of=2,
                model=model,
            )
        )  # fmt: skip
    state.apply(started("a", "c1", 2, model="m1"))
    state.apply(started("a", "c2", 2, no=2, model="m2"))


def test_race_candidates_stream_at_once_each_into_its_own_attempt() -> None:
    state = DashboardState()
    state.apply(session_started())
    state.apply(PlanReady(session_id=SID, at=at(1), plan=plan("a")))
    _race(state)
    state.apply(delta("a", "c1", "first's"))
    state.apply(delta("a", "c2", "second's"))
    state.apply(finished_attempt("a", "c1", 3, model="m1"))
    state.apply(delta("a", "c1", "too late"))  # over: dropped
    record = CandidateRecord(number=1, model="m1", status="done")
    state.apply(CandidateVerified(session_id=SID, workstream="a", workstream_title="A",
                                  candidate=record))  # fmt: skip
    lane = state.lanes["a"]
    first, second = lane.history
    assert (first.answer_text, first.candidate, first.check) == ("first's", 1, "not verified")
    assert (second.answer_text, second.candidate) == ("second's", 2)


def test_the_answer_in_use_follows_the_workstream_and_the_pick() -> None:
    state = DashboardState()
    state.apply(session_started())
    state.apply(PlanReady(session_id=SID, at=at(1), plan=plan("a")))
    _race(state)
    state.apply(finished_attempt("a", "c1", 3, model="m1"))
    state.apply(finished_attempt("a", "c2", 3, model="m2"))
    state.apply(WorkstreamFinished(session_id=SID, workstream="a", model="m2",
                                   status=WorkstreamStatus.DONE))  # fmt: skip
    lane = state.lanes["a"]
    assert lane.used == "c2"
    state.apply(started("synthesis", "s1", 4, model="syn-m"))
    picked = OutputPicked(session_id=SID, workstream="a", workstream_title="A", attempt_id="c1",
                          attempt_no=1, model="m1", candidate=1, synthesized=True)  # fmt: skip
    state.apply(picked)
    assert (lane.used, lane.model) == ("c1", "m1")
    assert state.lanes["synthesis"].stale_because == ["A"]
    assert "picked candidate #1 on m1" in lane.notes[-1]
