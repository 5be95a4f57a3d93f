"""Headless consumers of the event stream: human progress on stderr, or JSON lines on stdout."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TextIO, assert_never

from mao_tui.checks.report import finished_line, plan_lines
from mao_tui.domain import (
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
    Plan,
    PlanReady,
    ProviderCooldown,
    QaReportReady,
    RetryScheduled,
    SessionFinished,
    SessionReopened,
    SessionStarted,
    SynthesisFinished,
    ThinkingDowngraded,
    TokenTotals,
    VerificationDone,
    VerificationFinished,
    VerificationOutput,
    VerificationPlanned,
    VerificationStarted,
    WorkspaceEvent,
    WorkstreamFinished,
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
from mao_tui.domain.sanitize import shown


def format_cost(totals: TokenTotals) -> str:
    if totals.cost_usd == 0 and not totals.cost_complete:
        return "cost unknown"
    text = f"${totals.cost_usd:.4f}"
    return text if totals.cost_complete else f"{text} + unknown (a model has no price)"


def format_tokens(totals: TokenTotals) -> str:
    cached = f" ({totals.cached_input_tokens:,} cached)" if totals.cached_input_tokens else ""
    return (
        f"{totals.input_tokens:,} in{cached} / {totals.output_tokens:,} out "
        f"({totals.thinking_tokens:,} thinking)"
    )


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null: its reader has gone (``| head``), and
    what is still buffered, flushed at exit, must not raise a second ``BrokenPipeError``."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a StringIO): nothing flushes it at exit
        pass


class JsonLinesSink:
    """One JSON object per event on ``out``, each with its ``type``.

    When the reader closes the pipe (``mao demo --json | head``), the sink stops writing, points
    ``out`` at /dev/null and calls ``on_closed`` once with the event it could not write (the
    CLI cancels the session then, unless that event was its end)."""

    def __init__(self, out: TextIO, on_closed: Callable[[EngineEvent], None] | None = None) -> None:
        self._out = out
        self._on_closed = on_closed
        self.closed = False

    async def __call__(self, event: EngineEvent) -> None:
        if self.closed:
            return
        try:
            self._out.write(event.model_dump_json() + "\n")
            self._out.flush()
        except BrokenPipeError:
            self.closed = True
            silence(self._out)
            if self._on_closed is not None:
                self._on_closed(event)


class ProgressSink:
    """Readable progress lines; the synthesized output itself goes to stdout at the end."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._closed = False
        self._titles: dict[str, str] = {"orchestrator": "Plan", "dependency_check": "Pre-flight"}

    def _say(self, line: str) -> None:
        if self._closed:
            return
        try:
            self._err.write(shown(line) + "\n")  # bidi and zero-width characters visible
            self._err.flush()
        except BrokenPipeError:  # progress is a courtesy: the session goes on without it
            self._closed = True
            silence(self._err)

    async def __call__(self, event: EngineEvent) -> None:
        match event:
            case SessionStarted():
                label = " [SIMULATED]" if event.simulated else ""
                self._say(f"mao {event.command}{label}: session {event.session_id}")
            case PlanReady() if self._titles.keys() & {ws.key for ws in event.plan.workstreams}:
                for ws in event.plan.workstreams:  # the plan grew (a fix round): only what is new
                    if ws.key not in self._titles:
                        self._titles[ws.key] = ws.title
                        self._say(f"+ {ws.title:<16} {' → '.join(ws.chain)}")
            case PlanReady():
                self._plan(event.plan)
            case AttemptStarted():
                self._say(
                    f"▶ {self._titles.get(event.workstream, event.workstream)}: "
                    f"{event.model} (attempt {event.attempt_no})"
                )
            case AttemptFinished():
                if event.status == AttemptStatus.FAILED:
                    self._say(
                        f"✗ {self._titles.get(event.workstream, event.workstream)}: {event.model} "
                        f"failed ({event.error_kind}: {event.error_message})"
                    )
            case FallbackEvent():
                self._say(f"↪ {event.line}")
            case RetryScheduled() | ProviderCooldown() | CooldownWait() | ThinkingDowngraded():
                self._say(f"↻ {event.line}")
            case WorkstreamFinished():
                mark = "✓" if event.model else "✗"
                self._say(
                    f"{mark} {self._titles.get(event.workstream, event.workstream)}: "
                    f"{event.status} on {event.model or 'no model'}, "
                    f"{format_tokens(event.usage)}" + (f" — {event.detail}" if event.detail else "")
                )
            case SynthesisFinished():
                self._say(
                    f"{'✓' if event.model else '✗'} Synthesis: {event.status} "
                    f"on {event.model or 'no model'}, {format_tokens(event.usage)}"
                )
            case OutputWritten():
                self._say(f"{'✗' if event.error else '✓'} {event.line}")
            case QaReportReady():
                self._say(f"✓ {event.line}")
            case CostEstimated():
                self._say(event.line)
                for row in event.rows:
                    self._say(f"  {row.line}")
            case BudgetExceeded():
                self._say(f"✗ {event.line}")
            case BudgetChanged():
                self._say(f"$ {event.line}")
            case SessionFinished():
                self._say(
                    f"session {event.status} in {event.elapsed_s:.1f}s: "
                    f"{format_tokens(event.totals)}, {format_cost(event.totals)}"
                    + (f" — {event.error}" if event.error else "")
                )
            case (
                FilesApplied()
                | VerificationPlanned()
                | VerificationStarted()
                | VerificationOutput()
                | VerificationFinished()
                | VerificationDone()
                | FixRoundDone()
            ):
                for line in workspace_lines(event):
                    self._say(line)
            case CandidateStarted():
                self._say(f"▶ {event.line}")
            case CandidateVerified():
                self._say(f"{'✓' if event.candidate.check.verified else '•'} {event.line}")
            case CandidateReviewed():
                self._say(f"{'✓' if event.review.valid else '✗'} {event.line}")
            case CandidateSelected():
                self._say(f"{'✓' if event.model else '✗'} {event.line}")
                for line in event.ledger_lines:
                    self._say(line)
            case LedgerProvenance():
                self._say(f"◆ {event.line}")
                for line in event.file_lines:
                    self._say(line)
            case OutputPicked():
                self._say(f"◆ {event.line}")
            case Delta() | SessionReopened():
                pass  # the synthesized text goes to stdout at the end; a rerun shows its attempts
            case _:
                assert_never(event)

    def _plan(self, plan: Plan) -> None:
        diversity = f", diversity {plan.diversity:.2f}" if plan.diversity is not None else ""
        self._say(
            f"plan ({plan.source}): {len(plan.workstreams)} workstreams + synthesis{diversity}"
        )
        for finding in plan.findings:
            self._say(f"  pre-flight {finding.severity}: {finding.message}")
        if plan.rationale:
            self._say(f"  rationale: {plan.rationale}")
        for ws in [*plan.workstreams, plan.synthesis]:
            self._titles[ws.key] = ws.title
            after = f"  (after {', '.join(ws.depends_on)})" if ws.depends_on else ""
            if ws.key == plan.synthesis.key:
                after = "  (after all)"
            race = ""
            if ws.candidates:  # engine/candidates.py: the race's models are told as it starts
                reviewed = ", cross-reviewed" if ws.cross_review else ""
                race = f"  (candidates: {ws.candidates}{reviewed})"
            self._say(f"  {ws.title:<16} {' → '.join(ws.chain)}{after}{race}")


def workspace_lines(event: WorkspaceEvent) -> list[str]:
    """Progress lines for applying files and verifying them."""
    match event:
        case FilesApplied():
            marks = {"create": "+", "modify": "~", "unchanged": "=", "refused": "✗"}
            lines = [f"✓ round {event.round}: {event.line} in {event.workspace}"]
            for f in event.files:
                mark = "✗" if f.status in ("refused", "failed") else marks[f.change]
                note = f" ({f.status}: {f.reason})" if f.reason else ""
                if f.backup:
                    note += f" (backup: {f.backup})"
                lines.append(f"  {mark} {f.path}{note}")
            return lines
        case VerificationStarted():
            line = f"▶ verify {event.name}: {' '.join(event.argv)}"
            return [line + (f" ({event.sandbox})" if event.sandbox else "")]
        case VerificationOutput():
            return [f"  │ {event.line}"]
        case FixRoundDone() if event.ok:
            return [f"✓ fix round {event.round}: a new synthesis is ready to apply"]
        case FixRoundDone():
            return [f"✗ fix round {event.round}: {event.detail}"]
        case VerificationFinished():
            return [finished_line(event, "verify ")]
        case VerificationPlanned():
            return plan_lines(event)
        case VerificationDone():
            detail = f" — {event.detail}" if event.detail else ""
            if event.passed:
                return [f"✓ verification passed (round {event.round}){detail}"]
            failed = ", ".join(event.failed)
            return [f"✗ verification failed (round {event.round}): {failed}{detail}"]
        case _:
            assert_never(event)
