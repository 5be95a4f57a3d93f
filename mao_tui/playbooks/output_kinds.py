"""Which output kind a session's playbook has, as the piece its engine is given
(:mod:`mao_tui.engine.output`): ``markdown`` and ``files`` (nothing beyond the synthesis),
``journal`` (the entry written to a file) and ``qa_report`` (reviews checked, the report built)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mao_tui.domain import Plan, PlannedWorkstream, WorkstreamStatus
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.output import EngineHooks, OutputKind, PlainOutput
from mao_tui.engine.request import SessionRequest
from mao_tui.playbooks.journal_entry import JournalWriter
from mao_tui.playbooks.qa_output import QaReportOutput
from mao_tui.playbooks.runner import journal_folder
from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class JournalOutput:
    """Output kind ``journal``: each successful synthesis is written as a new entry."""

    writer: JournalWriter
    name: str = "journal"

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
        """The entry written (an ``output_written`` event); a synthesis whose entry could not
        be written fails, and the session says why."""
        if outcome.status is not WorkstreamStatus.DONE:
            return outcome, None
        written = await self.writer(req.session_id, outcome.text)
        await hooks.emit(written)
        if not written.error:
            return outcome, None
        failed = Outcome(WorkstreamStatus.FAILED, outcome.model, outcome.text, outcome.usage)
        return failed, f"{written.kind} not written: {written.error}"


def output_kind(settings: Settings, req: SessionRequest) -> OutputKind:
    """The output kind of ``req``'s playbook, for this session (a journal entry goes to
    ``req.out`` or the playbook's ``journal.folder``)."""
    playbook = settings.playbooks.get(req.playbook)
    if playbook is None:
        return PlainOutput()
    if playbook.output == "journal":
        folder = journal_folder(playbook, req.project_dir, req.out)
        return JournalOutput(JournalWriter(folder, req.task))
    if playbook.output == "qa_report" and playbook.qa is not None:
        return QaReportOutput(settings, playbook.qa, req.spec_text)
    return PlainOutput(playbook.output)
