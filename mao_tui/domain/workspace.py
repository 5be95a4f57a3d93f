"""Applying a synthesis's files to a workspace and verifying them: the records the events carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mao_tui.domain.ids import FRESH_WORKSPACE_PREFIX

__all__ = [
    "FRESH_WORKSPACE_PREFIX",
    "AppliedFile",
    "ApplyProposal",
    "Declined",
    "FileChangeView",
    "HunkView",
    "PlannedCheck",
]


class FileChangeView(BaseModel):
    """One file of a synthesis as it would change the workspace (shown before applying)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    kind: Literal["create", "modify", "unchanged", "refused"]
    diff: str = ""  # unified diff against the workspace; empty when unchanged or refused
    reason: str = ""  # why it is refused


class HunkView(BaseModel):
    """One search/replace hunk of a synthesis, as the review shows it: what it looks for, what
    it puts there, and whether it applies (a rejected one cannot be accepted)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    number: int  # 1-based, in the answer's order: the key to accept or decline it by
    search: str = ""  # empty: the hunk creates the file, whole
    replace: str = ""
    status: Literal["applied", "applied_loosely", "rejected"] = "applied"
    reason: str = ""  # why rejected
    line: int = 0  # 1-based line of the file where it applies

    @property
    def acceptable(self) -> bool:
        return self.status != "rejected"


@dataclass(frozen=True)
class Declined:
    """What the user declined in the review: hunks by number, files given whole by path."""

    hunks: frozenset[int] = frozenset()
    files: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.hunks or self.files)


class ApplyProposal(BaseModel):
    """What applying the latest synthesis would do: per-file changes, or why there is nothing
    to apply (``error``: no files found, an invalid manifest)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    round: int  # 0: the first synthesis; n: after fix round n
    workspace: str
    source: Literal["manifest", "fenced", "none"] = "none"
    changes: list[FileChangeView] = Field(default_factory=list)
    error: str = ""
    hunks: list[HunkView] = Field(default_factory=list)  # every hunk of the answer, in order

    @property
    def writable(self) -> list[FileChangeView]:
        return [c for c in self.changes if c.kind in ("create", "modify")]


class AppliedFile(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    status: Literal["written", "unchanged", "refused", "failed"]
    change: Literal["create", "modify", "unchanged", "refused"]
    backup: str | None = None  # where the earlier content was saved
    reason: str = ""  # why refused or failed


class PlannedCheck(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    argv: list[str]
    kind: str = "other"  # typecheck, build, test, lint, other
    source: str = ""  # where it came from: "package.json scripts.test", "verify.yaml"...
    timeout_s: float
    stop_on_failure: bool = False
