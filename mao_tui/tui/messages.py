"""Textual messages: one small class per engine event, posted by the session sink.

Workers never touch widgets; the sink turns each :data:`~mao_tui.domain.EngineEvent` into one of
these and posts it to the dashboard screen, whose ``@on`` handlers own every state change.
Lifecycle messages bubble on to the app (which tracks the exit code); the hot ``Delta`` does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mao_tui import domain
from mao_tui.domain.budget_events import (
    BudgetChanged,
    BudgetEvent,
    BudgetExceeded,
    CostEstimated,
)


class EngineMessage(Message):
    """Base class of every message carrying an engine event."""


@dataclass
class SessionStarted(EngineMessage):
    event: domain.SessionStarted


@dataclass
class PlanReady(EngineMessage):
    event: domain.PlanReady


@dataclass
class AttemptStarted(EngineMessage):
    event: domain.AttemptStarted


@dataclass
class Delta(EngineMessage, bubble=False):
    event: domain.Delta


@dataclass
class Deltas(EngineMessage, bubble=False):
    """Consecutive deltas, one message for all of them (see ``DashboardScreen._sink``): a
    message per delta cost more in dispatch than the rendering it led to."""

    events: list[domain.Delta]


@dataclass
class AttemptFinished(EngineMessage):
    event: domain.AttemptFinished


@dataclass
class Fallback(EngineMessage):
    event: domain.FallbackEvent


@dataclass
class WorkstreamFinished(EngineMessage):
    event: domain.WorkstreamFinished


@dataclass
class SynthesisFinished(EngineMessage):
    event: domain.SynthesisFinished


@dataclass
class SessionFinished(EngineMessage):
    event: domain.SessionFinished


@dataclass
class SessionReopened(EngineMessage):
    event: domain.SessionReopened


@dataclass
class OutputWritten(EngineMessage):
    """A journal entry written to a file (or why it was not)."""

    event: domain.OutputWritten


@dataclass
class Workspace(EngineMessage, bubble=False):
    """Files applied, a verification command's start, output line or end, a round's result,
    a fix round's end."""

    event: domain.WorkspaceEvent


@dataclass
class QaReport(EngineMessage):
    """Output kind qa_report: the weighted score and the merged, categorized findings."""

    event: domain.QaReportReady


@dataclass
class Policy(EngineMessage):
    """A retry, a provider cooldown, a wait for one, or a thinking downgrade."""

    event: domain.PolicyEvent


@dataclass
class Budget(EngineMessage, bubble=False):
    """The plan's cost estimate, a stop at the budget, or a budget raised or lifted."""

    event: BudgetEvent


def to_message(event: domain.EngineEvent) -> EngineMessage:
    """The message for one engine event."""
    match event:
        case domain.Delta():
            return Delta(event)
        case domain.SessionStarted():
            return SessionStarted(event)
        case domain.PlanReady():
            return PlanReady(event)
        case domain.AttemptStarted():
            return AttemptStarted(event)
        case domain.AttemptFinished():
            return AttemptFinished(event)
        case domain.FallbackEvent():
            return Fallback(event)
        case domain.WorkstreamFinished():
            return WorkstreamFinished(event)
        case domain.SynthesisFinished():
            return SynthesisFinished(event)
        case domain.SessionFinished():
            return SessionFinished(event)
        case domain.SessionReopened():
            return SessionReopened(event)
        case domain.QaReportReady():
            return QaReport(event)
        case domain.OutputWritten():
            return OutputWritten(event)
        case (
            domain.FilesApplied()
            | domain.VerificationPlanned()
            | domain.VerificationStarted()
            | domain.VerificationOutput()
            | domain.VerificationFinished()
            | domain.VerificationDone()
            | domain.FixRoundDone()
        ):
            return Workspace(event)
        case (
            domain.RetryScheduled()
            | domain.ProviderCooldown()
            | domain.CooldownWait()
            | domain.ThinkingDowngraded()
        ):
            return Policy(event)
        case CostEstimated() | BudgetExceeded() | BudgetChanged():
            return Budget(event)
    raise TypeError(f"not an engine event: {event!r}")
