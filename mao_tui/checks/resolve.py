"""Which checks verify a playbook's files in a workspace: the project's ``verify.yaml`` when it
names the playbook, else the checks detected from the project's own files, else the playbook's
shipped commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mao_tui.checks.detect import detect_checks
from mao_tui.settings.schema import Settings, VerificationCommand

Origin = Literal["verify.yaml", "detected", "playbook"]


@dataclass(frozen=True)
class CheckPlan:
    origin: Origin
    commands: list[VerificationCommand]
    why: str
    notes: list[str] = field(default_factory=list)


def resolve_checks(settings: Settings, playbook: str, workspace: Path) -> CheckPlan:
    """ProjectFileError when a project file detection needs is malformed (and verify.yaml does
    not name the playbook)."""
    if playbook in settings.verification:
        return CheckPlan(
            "verify.yaml",
            list(settings.verification[playbook]),
            f"verify.yaml names playbook {playbook!r}; nothing is detected",
        )
    found = detect_checks(workspace)
    if found.checks:
        return CheckPlan(
            "detected",
            found.checks,
            f"detected from the project's files in {workspace}",
            found.notes,
        )
    pb = settings.playbooks.get(playbook)
    commands = list(pb.verification) if pb is not None else []
    return CheckPlan(
        "playbook",
        commands,
        f"no project checks found in {workspace}; playbook {playbook!r}'s own commands",
        found.notes,
    )
