"""`mao journal`: the request for a journal session, from a stored session or git history."""

from __future__ import annotations

from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.engine.session import SessionRequest
from mao_tui.playbooks.journal_entry import JournalWriter
from mao_tui.playbooks.journal_source import git_material, load_session, session_material
from mao_tui.playbooks.runner import journal_folder, require_playbook
from mao_tui.settings.schema import Settings


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
) -> SessionRequest:
    """A session of journal playbook ``playbook`` about stored session ``session`` (an id or
    a prefix; None: the latest that is not itself a journal), or, with ``since``, about the
    git history of ``project_dir`` since that date. Its entry goes to ``out`` or the
    playbook's ``journal.folder``."""
    pb = require_playbook(settings, playbook)
    journals = sorted(n for n, p in settings.playbooks.items() if p.output == "journal")
    if pb.output != "journal":
        raise UsageError(
            f"--playbook {pb.name}: its output is {pb.output!r}, not 'journal'; "
            f"journal playbooks: {', '.join(journals) or 'none'}"
        )
    if session is not None and since is not None:
        raise UsageError("--session and --since name two different sources; give one")
    if since is not None:
        source = git_material(project_dir, since)
    else:
        source = session_material(await load_session(db_path, session, set(journals)))
    return SessionRequest(
        command="journal",
        playbook=pb.name,
        task=source.label,
        spec_text=source.material,
        simulated=simulated,
        project_dir=project_dir,
        deliver=JournalWriter(journal_folder(pb, project_dir, out), source.label),
    )
