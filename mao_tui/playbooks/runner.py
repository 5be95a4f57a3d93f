"""Any playbook by name: the shipped ones and the user's own (``.mao/playbooks/NAME.yaml``, found
by the layered loader like every other configuration file), and where a journal playbook's
entries go."""

from __future__ import annotations

from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.settings.schema import Playbook, Settings

USER_PLAYBOOKS = ".mao/playbooks/NAME.yaml"


def known_playbooks(settings: Settings) -> str:
    return ", ".join(sorted(settings.playbooks)) or "none"


def require_playbook(settings: Settings, name: str) -> Playbook:
    """The playbook called ``name``, or a UsageError that lists the known ones."""
    playbook = settings.playbooks.get(name)
    if playbook is None:
        raise UsageError(
            f"no playbook named {name!r}; known playbooks: {known_playbooks(settings)} "
            f"(add your own as {USER_PLAYBOOKS}, its prompts under .mao/prompts/)"
        )
    return playbook


def journal_folder(playbook: Playbook, project_dir: Path, override: Path | None = None) -> Path:
    """Where the playbook's journal entries go: ``override`` (``--out``), else its
    ``journal.folder``; relative to the project directory."""
    folder = (override or Path(playbook.journal.folder)).expanduser()
    return folder if folder.is_absolute() else project_dir / folder
