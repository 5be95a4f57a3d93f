"""`mao journal`: what a journal session is about, from a stored session or git history."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.playbooks.journal_source import git_material, load_session, session_material
from mao_tui.playbooks.runner import require_playbook
from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class JournalSubject:
    """A journal session's inputs: its playbook, what it is about, and the material."""

    playbook: str
    label: str  # the session's task, and the entry's subject
    material: str  # the session's spec text


async def journal_subject(
    settings: Settings,
    *,
    db_path: Path,
    project_dir: Path,
    session: str | None = None,
    since: str | None = None,
    playbook: str = "journal",
) -> JournalSubject:
    """What journal playbook ``playbook`` writes about: stored session ``session`` (an id or a
    prefix; None: the latest that is not itself a journal), or, with ``since``, the git
    history of ``project_dir`` since that date."""
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
    return JournalSubject(pb.name, source.label, source.material)
