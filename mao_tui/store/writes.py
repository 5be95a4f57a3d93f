"""The SQL each structural engine event turns into. Callers own the transaction."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from typing import assert_never

import aiosqlite

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
    FixRoundDone,
    OutputWritten,
    PlanReady,
    PolicyEvent,
    ProviderCooldown,
    QaReportReady,
    RetryScheduled,
    SessionFinished,
    SessionReopened,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    ThinkingDowngraded,
    TokenTotals,
    VerificationDone,
    VerificationFinished,
    VerificationOutput,
    VerificationPlanned,
    VerificationStarted,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.budget_events import BudgetChanged, BudgetExceeded, CostEstimated
from mao_tui.domain.candidate_events import (
    CandidateReviewed,
    CandidateSelected,
    CandidateStarted,
    CandidateVerified,
    LedgerProvenance,
)
from mao_tui.domain.pick_events import OutputPicked
from mao_tui.store.budget import write_budget_event
from mao_tui.store.candidates import write_candidate_event
from mao_tui.store.picks import write_pick
from mao_tui.store.qa import write_qa_report
from mao_tui.store.streamed import STREAMED_OUTPUT, STREAMED_THINKING
from mao_tui.store.workspace import write_workspace_event

# One SQL statement and its parameters.
Statement = tuple[str, tuple[object, ...]]


def iso(moment: datetime) -> str:
    """UTC, fixed width: stored timestamps sort as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _usage(usage: TokenTotals) -> tuple[int, int, int, float, bool, int]:
    """In the order of every usage column list below."""
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.thinking_tokens,
        usage.cost_usd,
        usage.cost_complete,
        usage.cached_input_tokens,
    )


def one_statement(event: EngineEvent) -> Statement | None:
    """The one statement that writes ``event``, or None when it takes several (a transaction).

    A statement is atomic by itself, its triggers included: the sink writes these outside a
    transaction, one round trip to SQLite's thread instead of three. Only a function that returns
    one ``Statement`` can answer here, so an event cannot be written alone with two.
    """
    match event:
        case SessionStarted():
            return _session_started(event)
        case SessionReopened():
            return _session_reopened(event)
        case AttemptStarted():  # its workstream set running by a trigger
            return _attempt_started(event)
        case AttemptFinished():
            return attempt_finished(event)
        case FallbackEvent():
            return _fallback(event)
        case RetryScheduled() | ProviderCooldown() | CooldownWait() | ThinkingDowngraded():
            return _policy_event(event)
        case WorkstreamFinished():
            return _workstream_finished(event)
        case SynthesisFinished():
            return _synthesis_finished(event)
        case OutputWritten():
            return (
                "INSERT INTO outputs (session_id, kind, path, error, at) VALUES (?, ?, ?, ?, ?)",
                (event.session_id, event.kind, event.path, event.error, iso(event.at)),
            )
        case (
            PlanReady()
            | SessionFinished()
            | QaReportReady()
            | FilesApplied()
            | VerificationPlanned()
            | VerificationStarted()
            | VerificationOutput()
            | VerificationFinished()
            | VerificationDone()
            | FixRoundDone()
            | CostEstimated()
            | BudgetExceeded()
            | BudgetChanged()
            | CandidateStarted()
            | CandidateVerified()
            | CandidateReviewed()
            | CandidateSelected()
            | LedgerProvenance()
            | OutputPicked()
            | Delta()
        ):
            return None
        case _:
            assert_never(event)


async def write_event(conn: aiosqlite.Connection, event: EngineEvent) -> None:
    statement = one_statement(event)
    if statement is not None:
        await conn.execute(*statement)
        return
    match event:
        case PlanReady():
            await _plan_ready(conn, event)
        case SessionFinished():
            await conn.execute(*_session_finished(event))
        case QaReportReady():
            await write_qa_report(conn, event, iso(event.at))
        case (
            FilesApplied()
            | VerificationPlanned()
            | VerificationStarted()
            | VerificationOutput()
            | VerificationFinished()
            | VerificationDone()
            | FixRoundDone()
        ):
            await write_workspace_event(conn, event, iso(event.at))
        case CostEstimated() | BudgetExceeded() | BudgetChanged():
            await write_budget_event(conn, event)
        case (
            CandidateStarted()
            | CandidateVerified()
            | CandidateReviewed()
            | CandidateSelected()
            | LedgerProvenance()
        ):
            await write_candidate_event(conn, event, iso(event.at))
        case OutputPicked():
            await write_pick(conn, event, iso(event.at))
        case Delta():
            raise TypeError("Delta events are buffered and appended with append_all")
        case _:
            raise TypeError(f"{type(event).__name__} has a statement of its own: one_statement")


def _session_started(event: SessionStarted) -> Statement:
    return (
        "INSERT INTO sessions (id, created_at, command, playbook, task, status, simulated,"
        " project_dir, pid, hostname, spec_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            iso(event.at),
            event.command,
            event.playbook,
            event.task,
            SessionStatus.RUNNING.value,
            event.simulated,
            event.project_dir,
            os.getpid(),
            socket.gethostname(),
            event.spec_text,
        ),
    )


def _session_reopened(event: SessionReopened) -> Statement:
    """Running again, in this process: if it dies now, the session shows as interrupted."""
    return (
        "UPDATE sessions SET status = ?, finished_at = NULL, pid = ?, hostname = ? WHERE id = ?",
        (SessionStatus.RUNNING.value, os.getpid(), socket.gethostname(), event.session_id),
    )


async def _plan_ready(conn: aiosqlite.Connection, event: PlanReady) -> None:
    plan = event.plan
    await conn.execute(
        "UPDATE sessions SET plan_json = ?, playbook = ? WHERE id = ?",
        (plan.model_dump_json(), plan.playbook, event.session_id),
    )
    # A re-plan keeps the status of workstreams it still contains and drops the others.
    await conn.executemany(
        "INSERT INTO workstreams (session_id, key, title, route, chain_json, depends_on_json,"
        " position, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (session_id, key) DO UPDATE SET title = excluded.title,"
        " route = excluded.route, chain_json = excluded.chain_json,"
        " depends_on_json = excluded.depends_on_json, position = excluded.position",
        [
            (
                event.session_id,
                ws.key,
                ws.title,
                ws.route,
                json.dumps(ws.chain),
                json.dumps(ws.depends_on),
                position,
                WorkstreamStatus.PENDING.value,
            )
            for position, ws in enumerate(plan.workstreams)
        ],
    )
    await conn.execute(
        "DELETE FROM workstreams WHERE session_id = ?"
        " AND key NOT IN (SELECT value FROM json_each(?))",
        (event.session_id, json.dumps([ws.key for ws in plan.workstreams])),
    )


def _attempt_started(event: AttemptStarted) -> Statement:
    return (
        "INSERT INTO attempts (id, session_id, workstream, model, provider, api_model,"
        " attempt_no, thinking, started_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.attempt_id,
            event.session_id,
            event.workstream,
            event.model,
            event.provider,
            event.api_model,
            event.attempt_no,
            event.thinking,
            iso(event.at),
            AttemptStatus.RUNNING.value,
        ),
    )


def attempt_finished(event: AttemptFinished, thinking: str = "", text: str = "") -> Statement:
    """The attempt's end, with its last buffered ``thinking`` and ``text``."""
    return (
        f"UPDATE attempts SET thinking_text = {STREAMED_THINKING} || ?,"
        f" output_text = {STREAMED_OUTPUT} || ?,"
        " finished_at = ?, status = ?, error_kind = ?, error_message = ?,"
        " input_tokens = ?, output_tokens = ?, thinking_tokens = ?, cost_usd = ?,"
        " cost_complete = ?, cached_input_tokens = ?, elapsed_s = ?, continuation_id = ?"
        " WHERE id = ?",
        (
            thinking,
            text,
            iso(event.at),
            event.status.value,
            event.error_kind,
            event.error_message,
            *_usage(event.usage),
            event.elapsed_s,
            event.continuation_id,
            event.attempt_id,
        ),
    )


def _fallback(event: FallbackEvent) -> Statement:
    return (
        "INSERT INTO fallbacks (session_id, workstream, workstream_title, at, from_model,"
        " to_model, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.workstream,
            event.workstream_title,
            iso(event.at),
            event.from_model,
            event.to_model,
            event.reason,
            event.detail,
        ),
    )


def _policy_event(event: PolicyEvent) -> Statement:
    provider: str | None = None
    reason: str | None = None
    delay: float | None = None
    detail = ""
    match event:
        case RetryScheduled():
            provider, reason, delay, detail = (
                event.provider,
                event.reason,
                event.delay_s,
                event.detail,
            )
        case ProviderCooldown():
            provider, reason, delay, detail = event.provider, "rate_limited", event.seconds, ""
        case CooldownWait():
            provider, reason, delay = event.provider, "cooldown", event.delay_s
        case ThinkingDowngraded():
            reason, detail = f"{event.from_setting} → {event.to_setting}", event.detail
        case _:
            assert_never(event)
    return (
        "INSERT INTO policy_events (session_id, at, type, workstream, model, provider, reason,"
        " delay_s, line, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            iso(event.at),
            event.type,
            event.workstream,
            event.model,
            provider,
            reason,
            delay,
            event.line,
            detail,
        ),
    )


def _workstream_finished(event: WorkstreamFinished) -> Statement:
    return (
        "UPDATE workstreams SET status = ?, final_model = ?, finished_at = ?, input_tokens = ?,"
        " output_tokens = ?, thinking_tokens = ?, cost_usd = ?, cost_complete = ?,"
        " cached_input_tokens = ?"
        " WHERE session_id = ? AND key = ?",
        (
            event.status.value,
            event.model,
            iso(event.at),
            *_usage(event.usage),
            event.session_id,
            event.workstream,
        ),
    )


def _synthesis_finished(event: SynthesisFinished) -> Statement:
    # The event names the model, not the attempt: link that model's latest synthesis attempt.
    return (
        "INSERT INTO syntheses (session_id, model, attempt_id, status, text, created_at,"
        " input_tokens, output_tokens, thinking_tokens, cost_usd, cost_complete,"
        " cached_input_tokens)"
        " VALUES (?, ?, (SELECT id FROM attempts WHERE session_id = ? AND workstream = ?"
        " AND model = ? ORDER BY seq DESC LIMIT 1), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.session_id,
            event.model,
            event.session_id,
            SYNTHESIS_KEY,
            event.model,
            event.status.value,
            event.text,
            iso(event.at),
            *_usage(event.usage),
        ),
    )


def _session_finished(event: SessionFinished) -> Statement:
    return (
        "UPDATE sessions SET status = ?, finished_at = ?, input_tokens = ?, output_tokens = ?,"
        " thinking_tokens = ?, cost_usd = ?, cost_complete = ?, cached_input_tokens = ?,"
        " elapsed_s = ?, error = ?"
        " WHERE id = ?",
        (
            event.status.value,
            iso(event.at),
            *_usage(event.totals),
            event.elapsed_s,
            event.error,
            event.session_id,
        ),
    )
