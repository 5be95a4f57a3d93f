"""Which output kind a session's playbook has, as the pieces its engine is given
(:mod:`mao_tui.engine.output`): ``markdown`` and ``files`` (nothing beyond the synthesis),
``journal`` (the entry written to a file) and ``qa_report`` (reviews checked, the report built)."""

from __future__ import annotations

from dataclasses import dataclass

from mao_tui.domain import WorkstreamStatus
from mao_tui.engine.chain import Outcome
from mao_tui.engine.output import EngineHooks, OutputKind
from mao_tui.engine.request import SessionRequest
from mao_tui.playbooks.journal_entry import JournalWriter
from mao_tui.playbooks.qa_output import QaReportOutput
from mao_tui.playbooks.runner import journal_folder
from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class JournalDelivery:
    """Output kind ``journal``: each successful synthesis is written as a new entry (an
    ``output_written`` event); a synthesis whose entry could not be written fails, and the
    session says why."""

    writer: JournalWriter

    async def __call__(
        self, hooks: EngineHooks, req: SessionRequest, outcome: Outcome
    ) -> tuple[Outcome, str | None]:
        if outcome.status is not WorkstreamStatus.DONE:
            return outcome, None
        written = await self.writer(req.session_id, outcome.text)
        await hooks.emit(written)
        if not written.error:
            return outcome, None
        failed = Outcome(WorkstreamStatus.FAILED, outcome.model, outcome.text, outcome.usage)
        return failed, f"{written.kind} not written: {written.error}"


def journal_output(writer: JournalWriter) -> OutputKind:
    return OutputKind("journal", deliver=JournalDelivery(writer))


def output_kind(settings: Settings, req: SessionRequest) -> OutputKind:
    """The output kind of ``req``'s playbook, for this session (a journal entry goes to
    ``req.out`` or the playbook's ``journal.folder``)."""
    playbook = settings.playbooks.get(req.playbook)
    if playbook is None:
        return OutputKind()
    if playbook.output == "journal":
        return journal_output(
            JournalWriter(journal_folder(playbook, req.project_dir, req.out), req.task)
        )
    if playbook.output == "qa_report" and playbook.qa is not None:
        qa = QaReportOutput(settings, playbook.qa, req.spec_text)
        return OutputKind(
            "qa_report", check=qa, prompt_values=qa.synthesis_values, deliver=qa.deliver
        )
    return OutputKind(playbook.output)
