"""The dashboard's reducer (``mao_tui.tui.reducer``) on its own: engine events in, state and the
:class:`Change` to show out. No Textual app, no Pilot: each test is a few microseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    CooldownWait,
    Delta,
    EngineEvent,
    FallbackEvent,
    FilesApplied,
    OutputWritten,
    Plan,
    PlannedWorkstream,
    PlanReady,
    QaReportReady,
    RetryScheduled,
    SessionFinished,
    SessionReopened,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    TokenTotals,
    VerificationDone,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.qa_records import QaReport, Score
from mao_tui.tui.reducer import NOTHING, Change, DashboardState

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
SID = "s1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def session_started() -> SessionStarted:
    return SessionStarted(
        session_id=SID,
        at=T0,
        command="demo",
        playbook="develop",
        task="build",
        simulated=True,
        project_dir="/p",
    )


def plan(*keys: str) -> Plan:
    return Plan(
        playbook="develop",
        workstreams=[
            PlannedWorkstream(key=k, title=k.title(), route="r", chain=[f"{k}-m1", f"{k}-m2"])
            for k in keys
        ],
        synthesis=PlannedWorkstream(key="synth", title="Synthesis", route="s", chain=["syn-m"]),
        diversity=0.5,
    )


def started(
    workstream: str,
    attempt_id: str,
    seconds: float,
    *,
    no: int = 1,
    thinking: bool = False,
    model: str = "m1",
) -> AttemptStarted:
    return AttemptStarted(
        session_id=SID,
        at=at(seconds),
        attempt_id=attempt_id,
        workstream=workstream,
        model=model,
        provider="p",
        api_model=model,
        attempt_no=no,
        thinking=thinking,
    )


def delta(workstream: str, attempt_id: str, text: str, channel: str = "text") -> Delta:
    return Delta(
        session_id=SID,
        at=T0,
        attempt_id=attempt_id,
        workstream=workstream,
        channel=channel,  # type: ignore[arg-type]
        text=text,
    )


def finished_attempt(
    workstream: str,
    attempt_id: str,
    seconds: float,
    *,
    status: AttemptStatus = AttemptStatus.OK,
    output: int = 40,
    model: str = "m1",
) -> AttemptFinished:
    return AttemptFinished(
        session_id=SID,
        at=at(seconds),
        attempt_id=attempt_id,
        workstream=workstream,
        model=model,
        status=status,
        error_kind=None if status is AttemptStatus.OK else "timeout",
        error_message=None if status is AttemptStatus.OK else "no answer",
        usage=TokenTotals(input_tokens=10, output_tokens=output),
        elapsed_s=2.0,
    )


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def state(clock: FakeMonotonic) -> DashboardState:
    """A session started at T0 with two workstreams, a and b, and the synthesis."""
    s = DashboardState(monotonic=clock)
    s.apply(session_started())
    s.apply(PlanReady(session_id=SID, at=at(1), plan=plan("a", "b")))
    return s


def test_session_started_sets_the_title_and_status() -> None:
    s = DashboardState()
    change = s.apply(session_started())
    assert change == Change(title=True, status=True)
    assert (s.session_id, s.session.command, s.session.task) == (SID, "demo", "build")
    assert s.session.simulated and s.session.status == "running" and s.session.started_at == T0


def test_plan_ready_makes_one_lane_per_workstream_and_the_synthesis_last(
    state: DashboardState,
) -> None:
    assert list(state.lanes) == ["a", "b", SYNTHESIS_KEY]
    assert state.lanes[SYNTHESIS_KEY].synthesis and state.lanes["a"].model == "a-m1"
    assert state.session.diversity == 0.5


def test_a_fix_round_plan_adds_its_lanes_before_the_synthesis(state: DashboardState) -> None:
    a = state.lanes["a"]
    change = state.apply(PlanReady(session_id=SID, at=at(2), plan=plan("a", "b", "fix1")))
    assert change == Change(added=("fix1",), status=True)
    assert list(state.lanes) == ["a", "b", "fix1", SYNTHESIS_KEY]
    assert state.lanes["a"] is a  # the others stay as they are
    again = PlanReady(session_id=SID, at=at(3), plan=plan("a", "fix1", "b"))
    assert state.apply(again) is NOTHING  # nothing new


def test_a_different_plan_replaces_every_lane(state: DashboardState) -> None:
    new = plan("x")
    change = state.apply(PlanReady(session_id=SID, at=at(2), plan=new))
    assert change.plan is new and list(state.lanes) == ["x", SYNTHESIS_KEY]


def test_attempt_started_begins_the_lanes_attempt(state: DashboardState) -> None:
    change = state.apply(started("a", "a1", 2, thinking=True))
    assert change == Change(began="a", lanes=("a",), status=True)
    lane = state.lanes["a"]
    assert lane.running and lane.phase == "thinking" and lane.attempt_id == "a1"
    assert lane.current is not None and lane.current.attempt_id == "a1"


def test_planning_attempts_say_what_is_happening_before_the_plan() -> None:
    s = DashboardState()
    change = s.apply(started("orchestrator", "o1", 0, model="boss"))
    assert change.planning_step is not None and "orchestrator (boss)" in change.planning_step
    assert s.apply(started("something-else", "x1", 0)) is NOTHING


def test_deltas_land_in_the_current_attempt_and_the_first_answer_text_says_so(
    state: DashboardState,
) -> None:
    state.apply(started("a", "a1", 2, thinking=True))
    assert state.apply(delta("a", "a1", "hmm", "thinking")) == Change(streamed="a")
    assert state.apply(delta("a", "a1", "Hello")) == Change(streamed="a", answer_started=True)
    assert state.apply(delta("a", "a1", " world")) == Change(streamed="a")
    lane = state.lanes["a"]
    assert lane.current is not None
    assert (lane.current.thinking_text, lane.current.answer_text) == ("hmm", "Hello world")
    assert lane.phase == "writing" and lane.live_chars == len("hmmHello world")


def test_late_deltas_and_deltas_of_unknown_lanes_change_nothing(state: DashboardState) -> None:
    state.apply(started("a", "a1", 2))
    state.apply(started("a", "a2", 3, no=2))
    assert state.apply(delta("a", "a1", "late")) is NOTHING
    assert state.apply(delta("nope", "n1", "text")) is NOTHING
    assert state.lanes["a"].current is not None and state.lanes["a"].current.answer_text == ""


def test_attempt_finished_ends_the_attempt_and_adds_its_usage(state: DashboardState) -> None:
    state.apply(started("a", "a1", 2))
    state.apply(delta("a", "a1", "done"))
    change = state.apply(finished_attempt("a", "a1", 4))
    assert change == Change(ended=("a",), lanes=("a",), status=True)
    lane = state.lanes["a"]
    assert lane.usage.output_tokens == 40 and state.session.totals.output_tokens == 40
    assert lane.last_rate == 20.0 and lane.live_chars == 0
    assert lane.current is not None and lane.current.status is AttemptStatus.OK


def test_a_failed_attempt_leaves_a_note(state: DashboardState) -> None:
    state.apply(started("a", "a1", 2))
    change = state.apply(finished_attempt("a", "a1", 4, status=AttemptStatus.FAILED))
    assert change.notes == ("a",) and change.ended == ("a",)
    assert state.lanes["a"].notes == ["✗ attempt 1 on m1 failed: timeout"]
    assert state.notes_shown(state.lanes["a"]) == state.lanes["a"].notes


def test_a_replaced_attempts_end_does_not_end_the_panels_attempt(state: DashboardState) -> None:
    state.apply(started("a", "a1", 2))
    state.apply(started("a", "a2", 3, no=2))
    change = state.apply(finished_attempt("a", "a1", 4))
    assert change.ended == () and change.lanes == ("a",)


def test_planning_attempts_count_in_the_totals_without_a_lane(state: DashboardState) -> None:
    change = state.apply(finished_attempt("orchestrator", "o1", 1))
    assert change == Change(status=True) and state.session.totals.input_tokens == 10


def test_fallback_is_logged_counted_and_noted(state: DashboardState) -> None:
    event = FallbackEvent(
        session_id=SID,
        at=at(5),
        workstream="a",
        workstream_title="A",
        from_model="a-m1",
        to_model="a-m2",
        reason="timeout",
    )
    change = state.apply(event)
    assert change == Change(logged=event, log_offset=5.0, notes=("a",), status=True)
    assert state.session.fallbacks == 1
    assert state.lanes["a"].notes == ["↪ fallback a-m1 → a-m2 (timeout)"]
    exhausted = event.model_copy(update={"to_model": None})
    state.apply(exhausted)
    assert state.lanes["a"].notes[-1] == "↪ fallback a-m1 → nothing (chain exhausted) (timeout)"


def test_policy_events_are_logged_and_noted_without_the_status(state: DashboardState) -> None:
    retry = RetryScheduled(
        session_id=SID,
        at=at(3),
        workstream="b",
        workstream_title="B",
        model="b-m1",
        provider="p",
        reason="timeout",
        retry_no=1,
        max_retries=2,
        delay_s=1.0,
    )
    change = state.apply(retry)
    assert change == Change(logged=retry, log_offset=3.0, notes=("b",))
    assert state.lanes["b"].notes == [f"↻ {retry.line}"]
    wait = CooldownWait(
        session_id=SID,
        at=at(4),
        workstream="gone",
        workstream_title="Gone",
        model="m",
        provider="p",
        delay_s=2.0,
    )
    assert state.apply(wait) == Change(logged=wait, log_offset=4.0)


def test_workstream_finished(state: DashboardState) -> None:
    state.apply(started("a", "a1", 2))
    usage = TokenTotals(input_tokens=5, output_tokens=7)
    event = WorkstreamFinished(
        session_id=SID,
        at=at(6),
        workstream="a",
        model="a-m2",
        status=WorkstreamStatus.FAILED,
        usage=usage,
        detail="every model failed",
    )
    change = state.apply(event)
    assert change == Change(notes=("a",), lanes=("a",), status=True)
    lane = state.lanes["a"]
    assert lane.status is WorkstreamStatus.FAILED and lane.phase == "finished"
    assert lane.model == "a-m2" and lane.usage.output_tokens == 7 and lane.finished_at == at(6)
    assert lane.notes == ["• every model failed"]
    quiet = event.model_copy(update={"workstream": "b", "detail": "cancelled"})
    assert state.apply(quiet).notes == ()


def test_synthesis_finished_keeps_the_engines_text(state: DashboardState) -> None:
    state.apply(started(SYNTHESIS_KEY, "s1", 7))
    state.apply(delta(SYNTHESIS_KEY, "s1", "draft"))
    state.apply(finished_attempt(SYNTHESIS_KEY, "s1", 8))
    event = SynthesisFinished(
        session_id=SID, at=at(9), model="syn-m", status=WorkstreamStatus.DONE, text="final"
    )
    change = state.apply(event)
    assert change == Change(ended=(SYNTHESIS_KEY,), lanes=(SYNTHESIS_KEY,), status=True)
    lane = state.lanes[SYNTHESIS_KEY]
    assert lane.current is not None and lane.current.answer_text == "final"
    assert lane.usage.output_tokens == 40  # the attempts' usage, not the event's (none)
    same = event.model_copy(update={"at": at(10)})
    assert state.apply(same).ended == ()  # the text is already the engine's


def test_a_rerun_marks_the_synthesis_stale_until_it_runs_again(state: DashboardState) -> None:
    state.apply(started(SYNTHESIS_KEY, "s1", 7))
    state.apply(finished_attempt(SYNTHESIS_KEY, "s1", 8))
    change = state.apply(started("a", "a9", 20, no=2))  # a rerun of a
    assert change == Change(
        began="a", notes=(SYNTHESIS_KEY,), lanes=(SYNTHESIS_KEY, "a"), status=True
    )
    synthesis = state.lanes[SYNTHESIS_KEY]
    assert synthesis.stale_because == ["A"]
    assert state.notes_shown(synthesis)[-1].startswith("⚠ stale: A ran again")
    assert state.apply(started("a", "a10", 21, no=3)).notes == ()  # said once
    change = state.apply(started(SYNTHESIS_KEY, "s2", 22, no=2))
    assert change.notes == (SYNTHESIS_KEY,) and synthesis.stale_because == []


def test_session_finished_cancels_what_still_runs_and_stops_the_clock(
    state: DashboardState, clock: FakeMonotonic
) -> None:
    state.apply(started("a", "a1", 2))
    totals = TokenTotals(input_tokens=1, output_tokens=2)
    event = SessionFinished(
        session_id=SID, at=at(30), status=SessionStatus.CANCELLED, totals=totals, elapsed_s=29.0
    )
    change = state.apply(event)
    cut = ("a", "b", SYNTHESIS_KEY)
    assert change == Change(ended=cut, lanes=cut, status=True, ticking=False, finished=event)
    assert all(lane.status is WorkstreamStatus.CANCELLED for lane in state.lanes.values())
    assert state.result is event and state.session.status == "cancelled"
    assert state.session.totals == totals and state.session.totals is not totals
    clock.value += 100
    assert state.clock.now() == at(30) and state.session.elapsed(state.clock.now()) == 29.0


def test_a_done_session_leaves_its_lanes_alone(state: DashboardState) -> None:
    event = SessionFinished(
        session_id=SID, at=at(30), status=SessionStatus.DONE, totals=TokenTotals(), elapsed_s=29.0
    )
    change = state.apply(event)
    assert change.ended == () and state.lanes["a"].status is WorkstreamStatus.PENDING


def test_reopened_session_runs_its_clock_again(state: DashboardState, clock: FakeMonotonic) -> None:
    state.apply(
        SessionFinished(
            session_id=SID,
            at=at(30),
            status=SessionStatus.DONE,
            totals=TokenTotals(),
            elapsed_s=29.0,
        )
    )
    change = state.apply(SessionReopened(session_id=SID, at=at(40), reason="rerun a"))
    assert change == Change(status=True, ticking=True)
    assert state.session.status == "running" and state.session.reopened_at == at(40)
    clock.value += 5
    assert state.session.elapsed(state.clock.now()) == 34.0  # 29 s, then 5 s of the rerun


def test_output_written_is_noted_under_the_synthesis(state: DashboardState) -> None:
    event = OutputWritten(session_id=SID, kind="journal", path="/j.md")
    assert state.apply(event) == Change(notes=(SYNTHESIS_KEY,), output=event)
    assert state.lanes[SYNTHESIS_KEY].notes == ["✓ journal written to /j.md"]


def test_qa_report_is_kept_and_only_the_first_opens_itself(state: DashboardState) -> None:
    report = QaReport(
        score=Score(value=80, coverage=100), reviewers=[], findings=[], raw_findings=0
    )
    event = QaReportReady(session_id=SID, report=report)
    assert state.apply(event) == Change(notes=(SYNTHESIS_KEY,), qa=event, first_qa=True)
    assert state.qa_report is report
    assert state.apply(event).first_qa is False


def test_workspace_events_go_to_the_verification_pane_untouched(state: DashboardState) -> None:
    applied = FilesApplied(session_id=SID, round=0, workspace="/w", files=[])
    done = VerificationDone(session_id=SID, round=0, passed=True)
    assert state.apply(applied) == Change(workspace=applied)
    assert state.apply(done) == Change(workspace=done)


def test_cancelling_is_said_until_the_end(state: DashboardState) -> None:
    assert state.cancelling() == Change(status=True)
    assert state.session.status == "cancelling"


def test_every_engine_event_type_is_handled() -> None:
    """The match is exhaustive for mypy (assert_never); this says so at run time as well."""
    import inspect

    from mao_tui.tui import reducer

    source = inspect.getsource(reducer.DashboardState.apply)
    for event_type in get_args(EngineEvent):
        assert f"{event_type.__name__}()" in source, event_type.__name__


def test_a_delta_costs_the_same_however_much_text_came_before(state: DashboardState) -> None:
    """O(1) per delta: the last of 60 000 deltas into one lane cost what the first did (the
    fastest of a few bursts each, so that a busy machine does not make it flaky)."""
    import time

    state.apply(started("a", "a1", 2))
    apply = state.apply
    event = delta("a", "a1", "tokens ")

    def burst() -> float:
        t0 = time.perf_counter()
        for _ in range(5_000):
            apply(event)
        return time.perf_counter() - t0

    early = min(burst() for _ in range(3))
    for _ in range(6):
        burst()
    late = min(burst() for _ in range(3))
    assert late < early * 4 + 0.01


def test_no_screen_imports_the_app() -> None:
    """Screens ask the app to open sessions by message (tui/messages.py), so that only the app
    and the CLI above it know ``MaoApp``."""
    import ast
    from pathlib import Path

    import mao_tui.tui

    package = Path(mao_tui.tui.__file__).parent
    importers = []
    for path in sorted(package.rglob("*.py")):
        if path.name in ("app.py", "__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "mao_tui.tui.app":
                importers.append(path.name)
    assert importers == []
