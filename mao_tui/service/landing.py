"""Landing a session's worktree commit onto the user's checked-out branch (``mao land`` and the
dashboard's land key), and where the dashboard session applies: its worktree in a git repository,
or outside git its temporary copy of the workspace; made on the first apply, committed (the copy:
its written files recorded) after each, landed or left for ``mao land`` (docs/repository.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mao_tui.domain.errors import ControlError
from mao_tui.repo.git import arun_git
from mao_tui.repo.workspace_copy import (
    WorkspaceCopy,
    commit_copy,
    create_copy,
    land_copy,
    remove_copy,
)
from mao_tui.repo.worktree import (
    Worktree,
    WorktreeError,
    commit_changes,
    create_worktree,
    land,
    remove_worktree,
)


@dataclass(frozen=True)
class LandOutcome:
    commit: str
    branch: str  # the session's branch, now removed
    onto: str  # the user's checked-out branch ("HEAD" when detached)
    files: tuple[str, ...]
    merged: bool = False  # a merge commit rather than one new commit

    @property
    def summary(self) -> str:
        files = ", ".join(self.files)
        how = "merged" if self.merged else "landed"
        return f"{how} {self.commit[:10]} from {self.branch} onto {self.onto}: {files}"


async def land_worktree(worktree: Worktree, *, merge: bool = False) -> LandOutcome:
    """Land ``worktree``'s changes on the checked-out branch (one new commit, or with ``merge``
    a merge commit), then remove the worktree and its branch; WorktreeError (nothing changed)
    when refused."""
    landed = await land(worktree, merge=merge)
    await remove_worktree(worktree)
    onto = await _branch(worktree.repo)
    return LandOutcome(landed.commit, worktree.branch, onto, tuple(landed.files), merge)


async def _branch(repo: str) -> str:
    found = await arun_git(Path(repo), ["symbolic-ref", "-q", "--short", "HEAD"], check=False)
    name = found.stdout.strip() if found.returncode == 0 else ""
    return name or "HEAD"


@dataclass(frozen=True)
class CopyLanded:
    source: str  # the user's folder
    files: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"landed {len(self.files)} file(s) into {self.source}: {', '.join(self.files)}"


class SessionPlace(Protocol):
    """Where a dashboard session applies, verifies and fixes, until the land key brings the
    result over: a worktree (:class:`SessionWorktree`) or a copy (:class:`SessionCopy`)."""

    @property
    def folder(self) -> Path | None:
        """The folder to apply in, once made (None before the first apply)."""
        ...

    async def open(self) -> Path: ...

    async def commit_applied(self, message: str, written: Sequence[str]) -> str: ...

    @property
    def landable(self) -> str: ...

    async def land(self) -> LandOutcome | CopyLanded: ...

    def close(self) -> None:
        """The dashboard closes: what holds nothing to land may go; the rest is left for
        ``mao land``."""
        ...


class SessionWorktree:
    """The dashboard session's worktree: created when the first apply needs it, committed after
    each apply, landed by the land key (or left for ``mao land``)."""

    def __init__(self, repo: Path, session_id: str, *, include_uncommitted: bool) -> None:
        self._repo = repo
        self._session_id = session_id
        self._include_uncommitted = include_uncommitted
        self.worktree: Worktree | None = None
        self.commit = ""  # the last commit made on its branch

    async def open(self) -> Path:
        """The worktree's folder, created on first use."""
        if self.worktree is None:
            try:
                self.worktree = await create_worktree(
                    self._repo, self._session_id, include_uncommitted=self._include_uncommitted
                )
            except WorktreeError as exc:
                raise ControlError(f"no worktree to apply in: {exc}") from None
        return Path(self.worktree.path)

    @property
    def folder(self) -> Path | None:
        return Path(self.worktree.path) if self.worktree is not None else None

    async def commit_applied(self, message: str, written: Sequence[str] = ()) -> str:
        """Commit what was applied (every change in the worktree, made before verifying); the
        new commit, or "" when nothing changed."""
        if self.worktree is None:
            return ""
        commit = await commit_changes(self.worktree, message)
        self.commit = commit or self.commit
        return commit

    @property
    def landable(self) -> str:
        """The branch the land key would bring over ("" before anything was committed)."""
        return self.worktree.branch if self.worktree is not None and self.commit else ""

    async def land(self) -> LandOutcome:
        """Land the branch (ControlError with the reason when refused); the worktree is gone
        after, and the next apply makes a new one."""
        if self.worktree is None or not self.commit:
            raise ControlError("nothing to land: apply (a) first; its commit is what lands")
        try:
            outcome = await land_worktree(self.worktree)
        except WorktreeError as exc:
            raise ControlError(f"not landed: {exc}") from None
        self.worktree, self.commit = None, ""
        return outcome

    def close(self) -> None:
        """The worktree and its branch are left as they are, for ``mao land`` or ``mao clean``."""


class SessionCopy:
    """Outside git, the dashboard session's temporary copy of the workspace: created when the
    first apply needs it, the files each apply wrote recorded as headless ``--apply`` records
    them, landed by the land key (copied back; refused, changing nothing, when one of them
    changed in the user's folder since) or left for ``mao land``."""

    def __init__(self, workspace: Path, session_id: str) -> None:
        self._workspace = workspace
        self._session_id = session_id
        self.copy: WorkspaceCopy | None = None

    async def open(self) -> Path:
        """The copy's folder, made on first use."""
        if self.copy is None:
            try:
                self.copy = await create_copy(self._workspace, self._session_id)
            except WorktreeError as exc:
                raise ControlError(f"no temporary copy to apply in: {exc}") from None
        return Path(self.copy.path)

    @property
    def folder(self) -> Path | None:
        return Path(self.copy.path) if self.copy is not None else None

    async def commit_applied(self, message: str, written: Sequence[str] = ()) -> str:
        """Record ``written`` (paths relative to the copy) as files to land; "" when there were
        none, else the copy's name."""
        if self.copy is None or not written:
            return ""
        try:
            self.copy = await asyncio.to_thread(commit_copy, self.copy, list(written))
        except OSError as exc:
            raise ControlError(f"the copy's record could not be written: {exc}") from None
        return self.copy.name

    @property
    def landable(self) -> str:
        """The copy the land key would bring over ("" before any file was written)."""
        return self.copy.name if self.copy is not None and self.copy.applied else ""

    async def land(self) -> CopyLanded:
        """Copy the recorded files back (ControlError with the reason when refused, nothing
        changed); the copy is gone after, and the next apply makes a new one."""
        if self.copy is None or not self.copy.applied:
            raise ControlError(
                "nothing to land: apply (a) first; the files it writes are what lands"
            )
        copy = self.copy
        try:
            files = await asyncio.to_thread(land_copy, copy)
        except WorktreeError as exc:
            raise ControlError(f"not landed: {exc}") from None
        await asyncio.to_thread(remove_copy, copy)
        self.copy = None
        return CopyLanded(copy.source, tuple(files))

    def close(self) -> None:
        """A copy with nothing to land is removed; one with files is left for ``mao land``."""
        if self.copy is not None and not self.copy.applied:
            remove_copy(self.copy)
            self.copy = None
