"""A stored session as the engine events that made it, so the dashboard can show it again.

Review feeds these to the same dashboard a live session uses: one ``Delta`` per channel carries an
attempt's whole text. Events are ordered by their stored time; at equal times, in the order the
engine emits them (an attempt ends before its fallback, a workstream after its attempts).
"""

from __future__ import annotations

import re
from datetime import datetime

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
from mao_tui.domain.stored import PolicyEventRecord, SessionDetail
from mao_tui.store.budget import stored_estimate

_RETRY_OF = re.compile(r"retry (?P<no>\d+) of (?P<of>\d+)")
_ORDER = {
    "session_started": 0,
    "plan": 1,
    "cost_estimate": 1,  # right after the plan it estimates
    "attempt_started": 2,
    "delta": 3,
    "attempt_finished": 4,
    "retry": 5,
    "cooldown": 5,
    "cooldown_wait": 5,
    "thinking_downgraded": 5,
    "fallback": 6,
    "workstream_finished": 7,
    "synthesis_finished": 8,
    "output_written": 8,
    "qa_report": 8,
    "files_applied": 8,
    "verification_finished": 8,
    "verification_done": 8,
    "session_finished": 9,
}


def events_from_detail(detail: SessionDetail) -> list[EngineEvent]:
    sid = detail.id
    events: list[EngineEvent] = [
        SessionStarted(
            session_id=sid,
            at=detail.created_at,
            command=detail.command,
            playbook=detail.playbook,
            task=detail.task,
            simulated=detail.simulated,
            project_dir=detail.project_dir,
            spec_text=detail.spec_text,
        )
    ]
    if detail.plan is not None:
        events.append(PlanReady(session_id=sid, at=detail.created_at, plan=detail.plan))
        if detail.estimates or detail.budget_usd is not None:
            events.append(stored_estimate(detail))
    end = detail.finished_at or _latest(detail)
    for attempt in detail.attempts:
        events.append(
            AttemptStarted(
                session_id=sid,
                at=attempt.started_at,
                attempt_id=attempt.id,
                workstream=attempt.workstream,
                model=attempt.model,
                provider=attempt.provider,
                api_model=attempt.api_model,
                attempt_no=attempt.attempt_no,
                thinking=attempt.thinking,
            )
        )
        for channel, text in (("thinking", attempt.thinking_text), ("text", attempt.output_text)):
            if text:
                events.append(
                    Delta(
                        session_id=sid,
                        at=attempt.started_at,
                        attempt_id=attempt.id,
                        workstream=attempt.workstream,
                        channel="thinking" if channel == "thinking" else "text",
                        text=text,
                    )
                )
        status, kind, message = attempt.status, attempt.error_kind, attempt.error_message
        if status is AttemptStatus.RUNNING:  # its process died while it streamed
            status, kind, message = AttemptStatus.FAILED, "interrupted", "the process ended"
        events.append(
            AttemptFinished(
                session_id=sid,
                at=attempt.finished_at or end,
                attempt_id=attempt.id,
                workstream=attempt.workstream,
                model=attempt.model,
                status=status,
                error_kind=kind,
                error_message=message,
                usage=attempt.usage,
                elapsed_s=attempt.elapsed_s or 0.0,
            )
        )
    for fallback in detail.fallbacks:
        events.append(
            FallbackEvent(
                session_id=sid,
                at=fallback.at,
                workstream=fallback.workstream,
                workstream_title=fallback.workstream_title,
                from_model=fallback.from_model,
                to_model=fallback.to_model,
                reason=fallback.reason,
                detail=fallback.detail,
            )
        )
    titles = _titles(detail)
    events += [e for e in (_policy(sid, p, titles) for p in detail.policy_events) if e is not None]
    for ws in detail.workstreams:
        if ws.status not in (WorkstreamStatus.PENDING, WorkstreamStatus.RUNNING):
            events.append(
                WorkstreamFinished(
                    session_id=sid,
                    at=ws.finished_at or end,
                    workstream=ws.key,
                    model=ws.final_model,
                    status=ws.status,
                    usage=ws.usage,
                )
            )
    for synthesis in detail.syntheses:
        events.append(
            SynthesisFinished(
                session_id=sid,
                at=synthesis.created_at,
                model=synthesis.model,
                status=synthesis.status,
                text=synthesis.text,
                usage=synthesis.usage,
            )
        )
    events += [
        OutputWritten(session_id=sid, at=out.at, kind=out.kind, path=out.path, error=out.error)
        for out in detail.outputs
    ]
    if detail.qa_report is not None:  # after the synthesis it was built from
        at = detail.syntheses[-1].created_at if detail.syntheses else end
        events.append(QaReportReady(session_id=sid, at=at, report=detail.qa_report))
    events += detail.workspace  # applies and verifications, after the synthesis they applied
    session_status = detail.status
    if session_status is SessionStatus.RUNNING:  # running in another process: shown as it is now
        session_status = SessionStatus.INTERRUPTED
    events.append(
        SessionFinished(
            session_id=sid,
            at=end,
            status=session_status,
            totals=detail.usage,
            elapsed_s=detail.elapsed_s or 0.0,
            error=detail.error,
        )
    )
    indexed = list(enumerate(events))
    indexed.sort(key=lambda item: (item[1].at, _ORDER[item[1].type], item[0]))
    return [event for _, event in indexed]


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
    match record.type:
        case "retry":
            numbers = _RETRY_OF.search(record.line)  # the store keeps them in the line only
            return RetryScheduled(
                session_id=sid,
                at=record.at,
                workstream=record.workstream,
                workstream_title=title,
                model=record.model,
                provider=record.provider or "",
                reason=record.reason or "",
                retry_no=int(numbers["no"]) if numbers else 1,
                max_retries=int(numbers["of"]) if numbers else 1,
                delay_s=delay,
                detail=record.detail,
            )
        case "cooldown":
            return ProviderCooldown(
                session_id=sid,
                at=record.at,
                provider=record.provider or "",
                seconds=delay,
                until=record.at,
                workstream=record.workstream,
                workstream_title=title,
                model=record.model,
                detail=record.detail,
            )
        case "cooldown_wait":
            return CooldownWait(
                session_id=sid,
                at=record.at,
                workstream=record.workstream,
                workstream_title=title,
                model=record.model,
                provider=record.provider or "",
                delay_s=delay,
            )
        case "thinking_downgraded":
            settings = (record.reason or "→").split("→")
            return ThinkingDowngraded(
                session_id=sid,
                at=record.at,
                workstream=record.workstream,
                workstream_title=title,
                model=record.model,
                from_setting=settings[0].strip(),
                to_setting=settings[-1].strip(),
                detail=record.detail,
            )
    return None
