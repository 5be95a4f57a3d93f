"""A stored session as the engine events that made it, so the dashboard can show it again.

Review feeds these to the same dashboard a live session uses: one ``Delta`` per channel carries an
attempt's whole text. Events are ordered by their stored time; at equal times, in the order the
engine emits them (an attempt ends before its fallback, a workstream after its attempts).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    CooldownWait,
    Delta,
    EngineEvent,
    FallbackEvent,
    OutputWritten,
    PlanReady,
    ProviderCooldown,
    QaReportReady,
    RetryScheduled,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    ThinkingDowngraded,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.stored import (
    AttemptRecord,
    PolicyEventRecord,
    SessionDetail,
    WorkstreamRecord,
)
from mao_tui.store.budget import stored_estimate

Carried = TypeVar("Carried", bound=BaseModel)

_UNFINISHED = (WorkstreamStatus.PENDING, WorkstreamStatus.RUNNING)
_RETRY_OF = re.compile(r"retry (?P<no>\d+) of (?P<of>\d+)")
EVENT_ORDER = {
    "session_started": 0,
    "plan": 1,
    "cost_estimate": 1,  # right after the plan it estimates
    "budget_exceeded": 5,  # not stored as events: the session's error and budget say them
    "budget_changed": 5,
    "attempt_started": 2,
    "delta": 3,
    "attempt_finished": 4,
    "retry": 5,
    "cooldown": 5,
    "cooldown_wait": 5,
    "thinking_downgraded": 5,
    "fallback": 6,
    "candidate_started": 2,  # not replayed: the ledger (candidate_selected) repeats them
    "candidate_verified": 6,
    "candidate_reviewed": 6,
    "candidate_selected": 6,
    "ledger_provenance": 8,
    "output_picked": 8,  # replayed by service/live_session.py, from store/picks.py
    "workstream_finished": 7,
    "synthesis_finished": 8,
    "output_written": 8,
    "qa_report": 8,
    "files_applied": 8,
    "verification_planned": 8,
    "verification_started": 8,
    "verification_output": 8,
    "verification_finished": 8,
    "fix_round_done": 8,
    "verification_done": 8,
    "session_finished": 9,
    "session_reopened": 9,
}


def events_from_detail(detail: SessionDetail) -> list[EngineEvent]:
    sid = detail.id
    end = detail.finished_at or _latest(detail)
    events: list[EngineEvent] = [_carried(detail, SessionStarted, sid, at=detail.created_at)]
    if detail.plan is not None:
        events.append(PlanReady(session_id=sid, at=detail.created_at, plan=detail.plan))
        if detail.estimates or detail.budget_usd is not None:
            events.append(stored_estimate(detail))
    for attempt in detail.attempts:
        events += _attempt_events(sid, attempt, end)
    events += [_carried(fallback, FallbackEvent, sid) for fallback in detail.fallbacks]
    titles = _titles(detail)
    events += [e for e in (_policy(sid, p, titles) for p in detail.policy_events) if e is not None]
    events += [
        _workstream_finished(sid, ws, end)
        for ws in detail.workstreams
        if ws.status not in _UNFINISHED
    ]
    events += [
        _carried(synthesis, SynthesisFinished, sid, at=synthesis.created_at, usage=synthesis.usage)
        for synthesis in detail.syntheses
    ]
    events += [_carried(out, OutputWritten, sid) for out in detail.outputs]
    if detail.qa_report is not None:  # after the synthesis it was built from
        at = detail.syntheses[-1].created_at if detail.syntheses else end
        events.append(QaReportReady(session_id=sid, at=at, report=detail.qa_report))
    events += detail.workspace  # applies and verifications, after the synthesis they applied
    events += detail.races  # the ensemble ledger, at the time each race ended
    if detail.provenance is not None:
        events.append(detail.provenance.model_copy(update={"at": end}))
    status = detail.status
    if status is SessionStatus.RUNNING:  # running in another process: shown as it is now
        status = SessionStatus.INTERRUPTED
    totals, elapsed = detail.usage, detail.elapsed_s or 0.0
    events.append(
        _carried(
            detail, SessionFinished, sid, at=end, status=status, totals=totals, elapsed_s=elapsed
        )
    )
    indexed = list(enumerate(events))
    indexed.sort(key=lambda item: (item[1].at, EVENT_ORDER[item[1].type], item[0]))
    return [event for _, event in indexed]


def _carried(record: BaseModel, event: type[Carried], session_id: str, **given: Any) -> Carried:
    """An ``event`` of the session: the fields ``given``, the others from the record's fields
    of the same name (a field neither has keeps its default)."""
    fields = event.model_fields.keys()
    if unknown := given.keys() - fields:
        raise TypeError(f"{event.__name__} has no field {', '.join(sorted(unknown))}")
    same = record.model_dump(include=set(fields - given.keys() - {"type", "session_id"}))
    return event.model_validate({**same, **given, "session_id": session_id})


def _workstream_finished(sid: str, ws: WorkstreamRecord, end: datetime) -> WorkstreamFinished:
    at = ws.finished_at or end
    given = {"at": at, "workstream": ws.key, "model": ws.final_model, "usage": ws.usage}
    return _carried(ws, WorkstreamFinished, sid, **given)


def _attempt_events(sid: str, attempt: AttemptRecord, end: datetime) -> list[EngineEvent]:
    """An attempt's start, one ``Delta`` per channel with its whole text, and its end."""
    started = attempt.started_at
    events: list[EngineEvent] = [
        _carried(attempt, AttemptStarted, sid, at=started, attempt_id=attempt.id)
    ]
    for channel, text in (("thinking", attempt.thinking_text), ("text", attempt.output_text)):
        if text:
            given = {"at": started, "attempt_id": attempt.id, "channel": channel, "text": text}
            events.append(_carried(attempt, Delta, sid, **given))
    status, kind, message = attempt.status, attempt.error_kind, attempt.error_message
    if status is AttemptStatus.RUNNING:  # its process died while it streamed
        status, kind, message = AttemptStatus.FAILED, "interrupted", "the process ended"
    finished = _carried(
        attempt,
        AttemptFinished,
        sid,
        at=attempt.finished_at or end,
        attempt_id=attempt.id,
        status=status,
        error_kind=kind,
        error_message=message,
        usage=attempt.usage,
        elapsed_s=attempt.elapsed_s or 0.0,
    )
    return [*events, finished]


def _latest(detail: SessionDetail) -> datetime:
    moments = [detail.created_at]
    moments += [a.finished_at or a.started_at for a in detail.attempts]
    moments += [f.at for f in detail.fallbacks]
    moments += [s.created_at for s in detail.syntheses]
    return max(moments)


def _titles(detail: SessionDetail) -> dict[str, str]:
    titles = {ws.key: ws.title for ws in detail.workstreams}
    titles.setdefault(SYNTHESIS_KEY, "Synthesis")
    return titles


def _policy(sid: str, record: PolicyEventRecord, titles: dict[str, str]) -> EngineEvent | None:
    """The stored line of a retry or cooldown, as an event (fields the store keeps)."""
    title = titles.get(record.workstream, record.workstream)
    delay = record.delay_s or 0.0
    provider = record.provider or ""
    match record.type:
        case "retry":
            numbers = _RETRY_OF.search(record.line)  # the store keeps them in the line only
            return _carried(
                record,
                RetryScheduled,
                sid,
                workstream_title=title,
                provider=provider,
                reason=record.reason or "",
                retry_no=int(numbers["no"]) if numbers else 1,
                max_retries=int(numbers["of"]) if numbers else 1,
                delay_s=delay,
            )
        case "cooldown":
            return _carried(
                record,
                ProviderCooldown,
                sid,
                workstream_title=title,
                provider=provider,
                seconds=delay,
                until=record.at,
            )
        case "cooldown_wait":
            given = {"workstream_title": title, "provider": provider, "delay_s": delay}
            return _carried(record, CooldownWait, sid, **given)
        case "thinking_downgraded":
            settings = (record.reason or "→").split("→")
            return _carried(
                record,
                ThinkingDowngraded,
                sid,
                workstream_title=title,
                from_setting=settings[0].strip(),
                to_setting=settings[-1].strip(),
            )
    return None
