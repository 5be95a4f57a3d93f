"""Output kinds: what a playbook's output is beyond the synthesized text, as one interface the
engine calls.

A session's engine (:class:`~mao_tui.engine.session.SessionRun`, and the
:class:`~mao_tui.engine.controller.LiveSessionController` that keeps it open) takes one
:class:`OutputKind`: up to three pieces, each called at its point: after a workstream's chain
(``check``: QA's JSON validation with one repair round), before the synthesis
(``prompt_values``: more ``$placeholders`` for its template) and after the synthesis
(``deliver``: the journal writes its entry, QA builds its report). ``markdown`` and ``files``
have none (the files of a ``files`` synthesis are applied on request, by
:mod:`mao_tui.engine.fix_loop`); the ``qa_report`` and ``journal`` pieces live with their
playbooks (:mod:`mao_tui.playbooks.output_kinds`).
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


class AnswerCheck(Protocol):
    """Checks the answers of some workstreams (QA's reviewers) after their chain has run."""

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


# More ``$placeholders`` for the synthesis template, from the workstreams' outcomes (called
# before every synthesis).
PromptValues = Callable[[SessionRequest, Plan, Mapping[str, Outcome]], dict[str, str]]

# After a synthesis (whatever its status): the outcome that stands, and why the output was not
# delivered (None: it was, or there was nothing to deliver).
Deliver = Callable[[EngineHooks, SessionRequest, Outcome], Awaitable[tuple[Outcome, str | None]]]


@dataclass(frozen=True)
class OutputKind:
    """What a playbook's output kind does around the models' work: the pieces it has, each
    called by the engine at its point. ``markdown`` and ``files`` have none."""

    name: str = "markdown"
    check: AnswerCheck | None = None
    prompt_values: PromptValues | None = None
    deliver: Deliver | None = None
