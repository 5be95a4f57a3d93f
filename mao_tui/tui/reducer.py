"""The dashboard's state and the one place it changes: ``DashboardState.apply(event)``.

Every engine event goes through :meth:`DashboardState.apply`, an exhaustive ``match`` over
:data:`~mao_tui.domain.EngineEvent` (a new event type fails type-checking here until it is
handled). It changes plain data only (the session, the lanes, the clock) and returns a
:class:`Change`: what the screen must show again. The screen refreshes its widgets from it and
keeps no state of the session itself. No Textual here, so the reducer is tested without an app.

A delta costs O(1): a dictionary look-up, an append to the attempt's text and a small
:class:`Change`; nothing is laid out per delta (the screen marks the panel for its next flush).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, assert_never

from mao_tui import domain
from mao_tui.domain import SYNTHESIS_KEY, SessionStatus, WorkstreamStatus
from mao_tui.tui.state import Lane, SessionClock, SessionView, seconds_between

if TYPE_CHECKING:  # their pydantic models load with the first event (mao_tui.domain)
    from mao_tui.domain import (
        BudgetEvent,
        CandidateReviewed,
        CandidateSelected,
        CandidateStarted,
        CandidateVerified,
        LedgerProvenance,
        OutputPicked,
        Plan,
    )
    from mao_tui.domain.qa_records import QaReport

# What the plan pane says while the session plans, before any lane exists.
PLANNING_STEPS = {
    "dependency_check": "Pre-flight: {model} checks that the work can start…",
    "orchestrator": "Planning: the orchestrator ({model}) assigns a model to each workstream…",
}


@dataclass(frozen=True, slots=True)
class Change:
    """What one event changed, for the screen to show again. Lanes are named by key."""

    lanes: tuple[str, ...] = ()  # plan rows and panel borders to show again
    notes: tuple[str, ...] = ()  # panels whose notes changed
    began: str | None = None  # the panel whose lane began a new attempt
    ended: tuple[str, ...] = ()  # panels whose current attempt ended (or its text was replaced)
    streamed: str | None = None  # the panel that received text, to lay out at its next flush
    answer_started: bool = False  # with ``streamed``: its lane moved from thinking to writing
    status: bool = False  # the status bar
    title: bool = False  # the title bar (the session started)
    plan: Plan | None = None  # a new plan: every lane and panel is new
    added: tuple[str, ...] = ()  # lanes a fix round added to the plan (before the synthesis)
    planning_step: str | None = None  # what the panels' placeholder says while planning
    logged: domain.FallbackEvent | domain.PolicyEvent | None = None  # a line for the fallback log
    log_offset: float = 0.0  # with ``logged``: seconds since the session started
    ticking: bool | None = None  # the running clocks resume (True) or stop (False)
    finished: domain.SessionFinished | None = None  # the session (or a rerun of it) ended
    workspace: domain.WorkspaceEvent | None = None  # for the Verification pane
    output: domain.OutputWritten | None = None  # a journal entry written (or not): said as a toast
    qa: domain.QaReportReady | None = None  # a qa report arrived
    first_qa: bool = False  # with ``qa``: the session's first
    budget: BudgetEvent | None = None  # the plan's cost estimate, or the budget reached or changed
    ledger: bool = False  # a race ended: the ledger key shows


NOTHING = Change()


class DashboardState:
    """A session as the dashboard shows it, built from its engine events only."""

    def __init__(
        self,
        *,
        simulated: bool = False,
        review: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = SessionView(simulated=simulated, review=review)
        self.clock = SessionClock(monotonic)
        self.lanes: dict[str, Lane] = {}
        self.session_id = ""
        self.result: domain.SessionFinished | None = None  # the latest end (of the run or a rerun)
        self.qa_report: QaReport | None = None  # output kind qa_report: the latest report
        self.races: dict[str, CandidateSelected] = {}  # the ensemble ledger, by workstream
        self.provenance: LedgerProvenance | None = None  # the latest: where each file came from

    def apply(self, event: domain.EngineEvent) -> Change:
        """Fold one event into the state; returns what the screen must show again."""
        match event:
            case domain.Delta():  # first: by far the most frequent
                return self._delta(event)
            case domain.SessionStarted():
                return self._session_started(event)
            case domain.PlanReady():
                return self._plan_ready(event)
            case domain.AttemptStarted():
                return self._attempt_started(event)
            case domain.AttemptFinished():
                return self._attempt_finished(event)
            case domain.FallbackEvent():
                return self._fallback(event)
            case (
                domain.RetryScheduled()
                | domain.ProviderCooldown()
                | domain.CooldownWait()
                | domain.ThinkingDowngraded()
            ):
                return self._policy(event)
            case domain.WorkstreamFinished():
                return self._workstream_finished(event)
            case domain.SynthesisFinished():
                return self._synthesis_finished(event)
            case domain.SessionFinished():
                return self._session_finished(event)
            case domain.SessionReopened():
                return self._session_reopened(event)
            case domain.OutputWritten():
                return self._output_written(event)
            case domain.QaReportReady():
                return self._qa_report(event)
            case (
                domain.FilesApplied()
                | domain.VerificationPlanned()
                | domain.VerificationStarted()
                | domain.VerificationOutput()
                | domain.VerificationFinished()
                | domain.VerificationDone()
                | domain.FixRoundDone()
            ):
                return Change(workspace=event)  # the Verification pane keeps its own lines
            case domain.CostEstimated() | domain.BudgetExceeded() | domain.BudgetChanged():
                return self._budget(event)
            case (
                domain.CandidateStarted()
                | domain.CandidateVerified()
                | domain.CandidateReviewed()
                | domain.CandidateSelected()
            ):
                return self._candidate(event)
            case domain.LedgerProvenance():
                self.provenance = event
                lane = self.lanes.get(SYNTHESIS_KEY)
                return Change(notes=self._note(lane, f"◆ {event.line}")) if lane else NOTHING
            case domain.OutputPicked():
                return self._picked(event)
            case _:
                assert_never(event)

    def _candidate(
        self, event: CandidateStarted | CandidateVerified | CandidateReviewed | CandidateSelected
    ) -> Change:
        """A candidate race: a note in its lane's log; its attempts are tagged with their
        candidate's number and verification (the compare view shows them); a selection is the
        race's ledger (l)."""
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return NOTHING
        notes = self._note(lane, f"◆ {event.line}")
        if isinstance(event, domain.CandidateStarted):
            lane.racing[event.model] = event.number
        elif isinstance(event, domain.CandidateVerified):
            for attempt in lane.history:
                if (
                    attempt.candidate == event.candidate.number
                    and attempt.model == event.candidate.model
                ):
                    attempt.check = event.candidate.check.summary
        if isinstance(event, domain.CandidateSelected):
            self.races[event.workstream] = event
            lane.racing.clear()
            for line in event.ledger_lines:
                notes = self._note(lane, line)
            shown = lane.current
            reviewed = event.cross_review is not None and not event.cross_review.skipped
            if event.model and shown is not None and (reviewed or shown.model != event.model):
                # The panel streams the latest attempt only: another candidate's, or a review.
                what = "cross-review" if reviewed else "candidate"
                self._note(
                    lane,
                    f"◆ the panel shows {shown.model}'s {what} as it streamed; the answer "
                    f"used is {event.model}'s (mao sessions show has every candidate's)",
                )
            return Change(notes=notes, ledger=True)
        return Change(notes=notes)

    def _picked(self, event: OutputPicked) -> Change:
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return NOTHING
        lane.used = event.attempt_id
        lane.model = event.model
        notes = self._note(lane, f"◆ {event.line}")
        synthesis = self.lanes.get(SYNTHESIS_KEY)
        if (
            event.synthesized
            and synthesis is not None
            and lane.title not in synthesis.stale_because
        ):
            synthesis.stale_because.append(lane.title)
            notes = (*notes, synthesis.key)
        return Change(notes=notes, lanes=(lane.key,), status=True)

    def _budget(self, event: BudgetEvent) -> Change:
        if isinstance(event, domain.CostEstimated):
            self.session.budget_usd = event.budget_usd
            self.session.estimate = event
        elif isinstance(event, domain.BudgetChanged):
            self.session.budget_usd = event.budget_usd
        return Change(budget=event, status=True)

    def cancelling(self) -> Change:
        """The user asked to cancel the session: said until it ends."""
        self.session.status = "cancelling"
        return Change(status=True)

    def notes_shown(self, lane: Lane) -> list[str]:
        """A panel's notes: the lane's, and why a synthesis is stale."""
        notes = list(lane.notes)
        if lane.stale_because:
            names = ", ".join(lane.stale_because)
            notes.append(f"⚠ stale: {names} ran again since this synthesis; s synthesizes again")
        return notes

    # -- one method per event ----------------------------------------------------------------

    def _delta(self, event: domain.Delta) -> Change:
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return NOTHING
        if event.attempt_id != lane.attempt_id:
            # Another candidate of a race (they stream at once) keeps its own text; a late
            # delta of an attempt already replaced (and over) is dropped.
            other = lane.attempt(event.attempt_id)
            if other is not None and not other.over:
                other.receive(event.channel, event.text)
            return NOTHING
        moved = lane.receive(event.channel, event.text)
        return Change(streamed=lane.key, answer_started=moved)

    def _session_started(self, event: domain.SessionStarted) -> Change:
        self.clock.observe(event.at)
        self.session_id = event.session_id
        session = self.session
        session.command = event.command
        session.task = event.task
        session.simulated = session.simulated or event.simulated
        session.started_at = event.at
        session.status = "running"
        return Change(title=True, status=True)

    def _plan_ready(self, event: domain.PlanReady) -> Change:
        self.clock.observe(event.at)
        plan = event.plan
        planned = {w.key for w in plan.workstreams}
        if self.lanes and set(self.lanes) - {SYNTHESIS_KEY} <= planned:
            return self._plan_grew(plan)  # a fix round joined the plan: the others stay as they are
        self.session.diversity = plan.diversity
        lanes = [Lane.from_plan(ws) for ws in plan.workstreams]
        lanes.append(Lane.from_plan(plan.synthesis, synthesis=True))
        self.lanes = {lane.key: lane for lane in lanes}
        return Change(plan=plan, status=True)

    def _plan_grew(self, plan: Plan) -> Change:
        new = [Lane.from_plan(ws) for ws in plan.workstreams if ws.key not in self.lanes]
        if not new:
            return NOTHING
        synthesis = self.lanes.pop(SYNTHESIS_KEY)
        self.lanes.update({lane.key: lane for lane in new})
        self.lanes[SYNTHESIS_KEY] = synthesis  # the synthesis row stays last
        return Change(added=tuple(lane.key for lane in new), status=True)

    def _attempt_started(self, event: domain.AttemptStarted) -> Change:
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            step = PLANNING_STEPS.get(event.workstream) if not self.lanes else None
            return NOTHING if step is None else Change(planning_step=step.format(model=event.model))
        lane.start_attempt(event)
        if event.model in lane.racing and lane.current is not None:
            lane.current.candidate = lane.racing[event.model]
        notes: tuple[str, ...] = ()
        shown: tuple[str, ...] = (lane.key,)
        synthesis = self.lanes.get(SYNTHESIS_KEY)
        if lane.synthesis:
            lane.stale_because.clear()
            notes = (lane.key,)
        elif (
            synthesis is not None
            and synthesis.history
            and lane.title not in synthesis.stale_because
        ):
            synthesis.stale_because.append(lane.title)  # rerun since the synthesis read it
            notes = (synthesis.key,)
            shown = (synthesis.key, lane.key)
        return Change(began=lane.key, notes=notes, lanes=shown, status=True)

    def _attempt_finished(self, event: domain.AttemptFinished) -> Change:
        self.clock.observe(event.at)
        if self.session.totals is None:
            self.session.totals = domain.TokenTotals()
        self.session.totals.add(event.usage)  # planning's attempts too: they have no lane
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return Change(status=True)
        note = lane.finish_attempt(event)
        return Change(
            ended=(lane.key,) if event.attempt_id == lane.attempt_id else (),
            notes=(lane.key,) if note is not None else (),
            lanes=(lane.key,),
            status=True,
        )

    def _fallback(self, event: domain.FallbackEvent) -> Change:
        self.clock.observe(event.at)
        self.session.fallbacks += 1
        lane = self.lanes.get(event.workstream)
        notes: tuple[str, ...] = ()
        if lane is not None:
            target = event.to_model or "nothing (chain exhausted)"
            notes = self._note(lane, f"↪ fallback {event.from_model} → {target} ({event.reason})")
        return Change(logged=event, log_offset=self._offset(event), notes=notes, status=True)

    def _policy(self, event: domain.PolicyEvent) -> Change:
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        notes = self._note(lane, f"↻ {event.line}") if lane is not None else ()
        return Change(logged=event, log_offset=self._offset(event), notes=notes)

    def _workstream_finished(self, event: domain.WorkstreamFinished) -> Change:
        self.clock.observe(event.at)
        lane = self.lanes.get(event.workstream)
        if lane is None:
            return NOTHING
        lane.finish(event.status, event.at, event.model, event.usage)
        if event.status is WorkstreamStatus.DONE and event.model:
            lane.used = next(
                (
                    a.attempt_id
                    for a in reversed(lane.history)
                    if a.model == event.model and a.status is domain.AttemptStatus.OK
                ),
                lane.used,
            )
        notes: tuple[str, ...] = ()
        if event.detail and event.detail != "cancelled":
            notes = self._note(lane, f"• {event.detail}")
        return Change(notes=notes, lanes=(lane.key,), status=True)

    def _synthesis_finished(self, event: domain.SynthesisFinished) -> Change:
        self.clock.observe(event.at)
        lane = self.lanes.get(SYNTHESIS_KEY)
        if lane is None:
            return NOTHING
        # The event carries this run's usage; the row shows every synthesis run's, like the
        # workstream rows, so it keeps what the attempts already added up.
        lane.finish(event.status, event.at, event.model, None if lane.history else event.usage)
        current = lane.current
        ended: tuple[str, ...] = ()
        if current is not None and event.text and event.text != current.answer_text:
            current.replace_answer(event.text)  # the engine's authoritative text
            ended = (lane.key,)
        return Change(ended=ended, lanes=(lane.key,), status=True)

    def _session_finished(self, event: domain.SessionFinished) -> Change:
        self.clock.observe(event.at)
        self.clock.frozen = True
        session = self.session
        session.status = event.status.value
        session.totals = event.totals.model_copy()
        session.final_elapsed = event.elapsed_s
        session.finished_at = event.at
        session.error = event.error
        cut: list[str] = []
        if event.status is not SessionStatus.DONE:
            for lane in self.lanes.values():
                if lane.status in (WorkstreamStatus.PENDING, WorkstreamStatus.RUNNING):
                    lane.finish(WorkstreamStatus.CANCELLED, event.at, None, None)
                    cut.append(lane.key)
        self.result = event
        return Change(
            ended=tuple(cut), lanes=tuple(cut), status=True, ticking=False, finished=event
        )

    def _session_reopened(self, event: domain.SessionReopened) -> Change:
        self.clock.observe(event.at)
        self.clock.frozen = False
        self.session.status = "running"
        self.session.reopened_at = event.at
        return Change(status=True, ticking=True)

    def _output_written(self, event: domain.OutputWritten) -> Change:
        lane = self.lanes.get(SYNTHESIS_KEY)
        notes: tuple[str, ...] = ()
        if lane is not None:
            notes = self._note(lane, f"{'✗' if event.error else '✓'} {event.line}")
        return Change(notes=notes, output=event)

    def _qa_report(self, event: domain.QaReportReady) -> Change:
        first = self.qa_report is None
        self.qa_report = event.report
        lane = self.lanes.get(SYNTHESIS_KEY)
        notes = self._note(lane, f"✓ {event.line} (g: the report)") if lane is not None else ()
        return Change(notes=notes, qa=event, first_qa=first)

    def _note(self, lane: Lane, note: str) -> tuple[str, ...]:
        lane.notes.append(note)
        return (lane.key,)

    def _offset(self, event: domain.FallbackEvent | domain.PolicyEvent) -> float:
        return seconds_between(self.session.started_at, event.at) or 0.0
