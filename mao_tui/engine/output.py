"""Output kinds: what a playbook's output is beyond the synthesized text, as one interface the
engine calls.

A session's engine (:class:`~mao_tui.engine.session.SessionRun`, and the
:class:`~mao_tui.engine.controller.LiveSessionController` that keeps it open) takes one
:class:`OutputKind` and calls it at three points: after a workstream's chain (to check the
answer, e.g. QA's JSON validation with one repair round), before the synthesis (more
``$placeholders`` for its template) and after the synthesis (to deliver the output: the journal
writes its entry, QA builds its report). ``markdown`` and ``files`` do nothing there (the files
of a ``files`` synthesis are applied on request, by :mod:`mao_tui.engine.fix_loop`); the
``qa_report`` and ``journal`` kinds live with their playbooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from mao_tui.domain import EventSink, Plan, PlannedWorkstream, TokenTotals
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.request import SessionRequest


@dataclass(frozen=True)
class EngineHooks:
    """What an output kind may use of the engine running it."""

    emit: EventSink
    # One more run of a workstream's chain (a repair round), not announced: the kind reports it.
    run_once: Callable[[str, PlannedWorkstream, Prompts], Awaitable[Outcome]]
    # The usage of two runs of one workstream in a row, as the engine reports a workstream's.
    combined_usage: Callable[[Outcome, Outcome], TokenTotals]


class OutputKind(Protocol):
    """What a playbook's output kind does around the models' work."""

    @property
    def name(self) -> str:
        """The kind's name in playbooks (``output:``)."""
        ...

    def checks(self, ws: PlannedWorkstream) -> bool:
        """Whether :meth:`settle` checks this workstream's answers."""
        ...

    async def settle(
        self,
        hooks: EngineHooks,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        first: Outcome,
    ) -> tuple[Outcome, str]:
        """The outcome to report for a checked workstream's run, and a detail for it."""
        ...

    def synthesis_values(
        self, req: SessionRequest, plan: Plan, outcomes: Mapping[str, Outcome]
    ) -> dict[str, str]:
        """More ``$placeholders`` for the synthesis template (called before every synthesis)."""
        ...

    async def deliver(
        self, hooks: EngineHooks, req: SessionRequest, outcome: Outcome
    ) -> tuple[Outcome, str | None]:
        """After a synthesis (whatever its status): the outcome that stands, and why the output
        was not delivered (None: it was, or there was nothing to deliver)."""
        ...


@dataclass(frozen=True)
class PlainOutput:
    """``markdown`` and ``files``: the synthesized text is the output; nothing more to do."""

    name: str = "markdown"

    def checks(self, ws: PlannedWorkstream) -> bool:
        return False

    async def settle(
        self,
        hooks: EngineHooks,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        first: Outcome,
    ) -> tuple[Outcome, str]:
        return first, ""

    def synthesis_values(
        self, req: SessionRequest, plan: Plan, outcomes: Mapping[str, Outcome]
    ) -> dict[str, str]:
        return {}

    async def deliver(
        self, hooks: EngineHooks, req: SessionRequest, outcome: Outcome
    ) -> tuple[Outcome, str | None]:
        return outcome, None
