"""Landing a session's worktree commit onto the user's checked-out branch (``mao land`` and the
dashboard's land key), and the dashboard session's worktree: made on the first apply, committed
after each, landed or left for ``mao land`` (docs/repository.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mao_tui.domain.errors import ControlError
from mao_tui.repo.git import arun_git
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

    async def commit_applied(self, message: str) -> str:
        """Commit what was applied; the new commit, or "" when nothing changed."""
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
