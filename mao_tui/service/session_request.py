"""Building a session's request: the one place a :class:`SessionRequest` is made.

The command line, Home and the MCP server gather their inputs differently (arguments, a form,
tool parameters) and hand them here as :class:`SessionInputs`; the checks and their wording are
the same for all three, each error naming the field as that front end calls it (:class:`Fields`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mao_tui.domain import new_id
from mao_tui.domain.errors import UsageError
from mao_tui.engine.request import SessionRequest
from mao_tui.playbooks.runner import require_playbook
from mao_tui.service.inputs import read_text, with_context

if TYPE_CHECKING:
    from mao_tui.domain.stored import SessionDetail
    from mao_tui.engine.sections import Section
    from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class Fields:
    """What a front end calls its inputs, so that an error names the field the user filled."""

    spec: str  # the spec file's option, as in "--spec expects a Markdown file"
    spec_needed: str  # what to add for sections, as in "--sections needs --spec FILE"
    sections: str
    task_example: str = ""  # an example task, after "say what to do, e.g. "


CLI_FIELDS = Fields(spec="--spec", spec_needed="--spec FILE", sections="--sections")
MCP_FIELDS = Fields(spec="spec_file", spec_needed="spec_file", sections="sections")
HOME_FIELDS = Fields(spec="Spec file", spec_needed="a spec file", sections="Sections")


@dataclass(frozen=True)
class SessionInputs:
    """What a front end gathered for one session, not yet checked."""

    playbook: str
    task: str
    project_dir: Path
    simulated: bool = False
    spec_path: Path | None = None  # a Markdown spec; its numbered sections can be chosen
    sections: str | None = None  # a selection of the spec's sections, e.g. "2,3"
    # The session's spec text when it is not the spec file's: the demo's spec, a qa listing, a
    # journal's material.
    spec_text: str | None = None
    context_paths: tuple[Path, ...] = ()  # files shown to the models after the spec
    command: str = ""  # the command that started it ("": the playbook's name)
    use_planner: bool = True
    out: Path | None = None  # where a journal entry goes (None: the playbook's journal.folder)
    # A folder in a git repository: the models see its map and relevant files (develop, qa).
    repository: Path | None = None


def build_request(
    settings: Settings, inputs: SessionInputs, fields: Fields = CLI_FIELDS
) -> SessionRequest:
    """The checked request, or a UsageError naming the input and what was expected: an empty
    task, an unknown playbook, a spec file that cannot be read, sections without a spec or not
    in it, a context file that cannot be read."""
    task = inputs.task.strip()
    if not task:
        example = f", e.g. {fields.task_example}" if fields.task_example else ""
        raise UsageError(f"the task is empty; say what to do{example}")
    limit = settings.registry.global_.limits.max_input_bytes
    spec = ""
    if inputs.spec_path is not None:
        spec = read_text(inputs.spec_path, option=fields.spec, limit=limit)
    sections = _sections(spec, inputs, fields)
    name = require_playbook(settings, inputs.playbook).name
    spec_text = spec if inputs.spec_text is None else inputs.spec_text
    if inputs.context_paths:
        context = [
            (path, read_text(path, "context file", "a context file", limit))
            for path in inputs.context_paths
        ]
        spec_text = with_context(spec_text, context)
    return _request(
        command=inputs.command or name,
        playbook=name,
        task=task,
        spec_text=spec_text,
        simulated=inputs.simulated,
        project_dir=inputs.project_dir,
        sections=sections,
        use_planner=inputs.use_planner,
        out=inputs.out,
        repository=inputs.repository,
    )


def stored_request(detail: SessionDetail) -> SessionRequest:
    """The request a stored session ran, for reruns in review: not checked again (its playbook
    may since have gone); a spec whose sections no longer parse gives the whole spec."""
    from mao_tui.engine.sections import SectionError, select_sections

    sections = []
    if detail.plan is not None and detail.plan.sections:
        try:
            sections = select_sections(detail.spec_text, list(detail.plan.sections), "spec")
        except SectionError:
            sections = []  # the workstreams then see the whole spec
    return _request(
        command=detail.command,
        playbook=detail.playbook,
        task=detail.task,
        spec_text=detail.spec_text,
        simulated=detail.simulated,
        project_dir=Path(detail.project_dir or "."),
        sections=sections,
        session_id=detail.id,
    )


def with_fields(fields: Fields, *, task_example: str) -> Fields:
    return replace(fields, task_example=task_example)


def _sections(spec: str, inputs: SessionInputs, fields: Fields) -> list[Section]:
    if inputs.sections is None:
        return []
    from mao_tui.engine.sections import SectionError, parse_selection, select_sections

    if inputs.spec_path is None:
        raise UsageError(
            f"{fields.sections} needs {fields.spec_needed}: the sections are the spec's"
        )
    try:
        return select_sections(spec, parse_selection(inputs.sections), str(inputs.spec_path))
    except SectionError as exc:
        raise UsageError(str(exc)) from None


def _request(
    *,
    command: str,
    playbook: str,
    task: str,
    spec_text: str,
    simulated: bool,
    project_dir: Path,
    sections: list[Section],
    use_planner: bool = True,
    out: Path | None = None,
    session_id: str = "",
    repository: Path | None = None,
) -> SessionRequest:
    return SessionRequest(
        command=command,
        playbook=playbook,
        task=task,
        spec_text=spec_text,
        simulated=simulated,
        project_dir=project_dir,
        sections=sections,
        use_planner=use_planner,
        out=out,
        session_id=session_id or new_id(),
        repository=repository,
    )


async def journal_request(
    settings: Settings,
    *,
    db_path: Path,
    project_dir: Path,
    session: str | None = None,
    since: str | None = None,
    out: Path | None = None,
    playbook: str = "journal",
    simulated: bool = False,
    use_planner: bool = True,
) -> SessionRequest:
    """A session of journal playbook ``playbook`` about a stored session or, with ``since``,
    the git history (:func:`mao_tui.playbooks.journal.journal_subject`). Its entry goes to
    ``out`` or the playbook's ``journal.folder``."""
    from mao_tui.playbooks.journal import journal_subject

    subject = await journal_subject(
        settings,
        db_path=db_path,
        project_dir=project_dir,
        session=session,
        since=since,
        playbook=playbook,
    )
    inputs = SessionInputs(
        playbook=subject.playbook,
        task=subject.label,
        project_dir=project_dir,
        simulated=simulated,
        spec_text=subject.material,
        command="journal",
        use_planner=use_planner,
        out=out,
    )
    return build_request(settings, inputs)


def qa_request(
    settings: Settings,
    *,
    playbook: str,
    targets: list[str],
    project_dir: Path,
    diff: str | None = None,
    prd: Path | None = None,
    task: str | None = None,
    simulated: bool = False,
    use_planner: bool = True,
    err: TextIO | None = None,
) -> SessionRequest:
    """A qa session reviewing ``targets`` (or the changes since ``diff``) against ``prd``
    (:func:`mao_tui.service.qa_input.prepare` gathers and checks them, saying on ``err`` what
    is reviewed)."""
    from mao_tui.service.qa_input import prepare

    found = prepare(
        settings, playbook, targets, root=project_dir, diff=diff, prd=prd, task=task, err=err
    )
    inputs = SessionInputs(
        playbook=playbook,
        task=found.task,
        project_dir=project_dir,
        simulated=simulated,
        spec_text=found.listing,
        command="qa",
        use_planner=use_planner,
    )
    return build_request(settings, inputs)
