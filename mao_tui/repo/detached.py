"""Detached git worktrees for verifying a candidate race's answers (service/race.py): one per
candidate and one for the baseline, each ``git worktree add --detach`` of one commit, removed
(``git worktree remove --force``, then ``prune``) when the race's session ends.

No branch is made, the user's branch, index and working tree are never touched, and the
repository's hooks do not run (``core.hooksPath`` points at the null device: ``worktree add``
would run ``post-checkout``). The commit is the user's HEAD, or with their uncommitted changes a
snapshot commit on top of it made through a temporary index, as the session's own worktree is
(``worktree.py``'s ``--with-uncommitted``); the snapshot is on no ref.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from mao_tui.repo.git import GitError, arun_git, run_git
from mao_tui.repo.worktree import WorktreeError, _snapshot


def _no_hooks() -> list[str]:
    return ["-c", f"core.hooksPath={os.devnull}"]  # no hook can be found under it


async def base_commit(repo: Path, *, include_uncommitted: bool) -> str | None:
    """The commit candidates start from: HEAD, or the snapshot of the uncommitted changes on
    top of it; None when the repository has no commit yet (then copies are used)."""
    head = await arun_git(repo, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
    if head.returncode != 0:
        return None
    commit = head.stdout.strip()
    if include_uncommitted:
        try:
            commit = await _snapshot(repo, commit) or commit
        except WorktreeError:
            return commit  # the snapshot failed: HEAD as it is (the record says which)
    return commit


def add_detached(repo: Path, target: Path, commit: str) -> None:
    """A detached worktree of ``commit`` at ``target`` (GitError when git refuses)."""
    run_git(repo, [*_no_hooks(), "worktree", "add", "-q", "--detach", str(target), commit])


def remove_detached(repo: Path, targets: list[Path]) -> None:
    """Remove those worktrees (what is already gone is fine) and git's record of them."""
    for target in targets:
        with contextlib.suppress(GitError, OSError):
            run_git(repo, ["worktree", "remove", "--force", str(target)], check=False)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
    with contextlib.suppress(GitError, OSError):
        run_git(repo, ["worktree", "prune"], check=False)
