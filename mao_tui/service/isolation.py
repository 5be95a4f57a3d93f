"""Where a session's apply (headless ``--apply`` and the dashboard's ``a``) writes: never the
user's own files until they land the result.

In a git repository the session works in a git worktree on ``mao/<id prefix>`` (its commit is
landed by ``mao land``); outside git, in a temporary copy of the workspace (landed by copying the
files it wrote back). ``--in-place`` writes into the workspace itself, as mao did before; so does
the greenfield demo's fresh temporary workspace, which is nobody's checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mao_tui.repo.git import repo_root
from mao_tui.repo.workspace_copy import WorkspaceCopy, commit_copy, create_copy, remove_copy
from mao_tui.repo.worktree import (
    Worktree,
    WorktreeError,
    commit_changes,
    create_worktree,
    ignored,
    remove_worktree,
)
from mao_tui.service.launch import Launch


@dataclass(frozen=True)
class Isolated:
    """The folder to apply, verify and fix in, and what it is a part of."""

    workspace: Path
    worktree: Worktree | None = None
    copy: WorkspaceCopy | None = None


def in_place(launch: Launch) -> bool:
    """Whether the apply writes into the workspace itself."""
    return launch.in_place or (launch.workspace is None and launch.fresh_workspace)


def applies_in_worktree(launch: Launch) -> bool:
    """Whether a dashboard session's apply goes to a worktree: asked for (--worktree), or by
    default in a git repository (outside git: see :func:`applies_in_copy`). A repository with
    no commit yet is refused when the worktree is made, never written in place."""
    if launch.worktree:
        return True
    if in_place(launch):
        return False
    return repo_root(launch.workspace_dir.resolve()) is not None


def applies_in_copy(launch: Launch) -> bool:
    """Whether a dashboard session's apply goes to a temporary copy of the workspace: outside
    git, unless it applies in place (--in-place, the greenfield demo's fresh folder) or the
    folder is not there yet (nothing of the user's in it to overwrite)."""
    if launch.worktree or in_place(launch):
        return False
    workspace = launch.workspace_dir.resolve()
    return workspace.is_dir() and repo_root(workspace) is None


async def isolate(launch: Launch, session_id: str) -> Isolated:
    """The session's worktree or copy, made now (WorktreeError when it cannot be)."""
    workspace = launch.workspace_dir.resolve()
    if in_place(launch):
        return Isolated(workspace)
    root = repo_root(workspace)
    if root is None:
        if launch.worktree:
            raise WorktreeError(f"--worktree: {workspace} is not inside a git repository")
        copy = await create_copy(workspace, session_id)
        return Isolated(Path(copy.path), copy=copy)
    worktree = await create_worktree(
        workspace, session_id, include_uncommitted=launch.with_uncommitted
    )
    inner = workspace.relative_to(root) if workspace.is_relative_to(root) else Path()
    return Isolated(Path(worktree.path) / inner, worktree=worktree)


async def discard(isolated: Isolated) -> None:
    """Remove the session's worktree (and branch) or copy, holding nothing to land."""
    if isolated.worktree is not None:
        await remove_worktree(isolated.worktree)
    if isolated.copy is not None:
        remove_copy(isolated.copy)


async def settle(
    isolated: Isolated, session_id: str, task: str, summary: str, written: list[str]
) -> tuple[bool, str]:
    """Commit what the session wrote (``written``: paths relative to the workspace) where it
    worked, or remove the worktree or copy when it wrote nothing; whether that went well, and
    the end of the summary that says where the result is and how to land it."""
    land = f"`mao land {session_id[:10]}`"
    if isolated.worktree is not None:
        where = isolated.workspace
        return await _commit(isolated.worktree, where, session_id, task, summary, written)
    if isolated.copy is not None:
        copy = isolated.copy
        if not written:
            remove_copy(copy)
            return True, "; nothing written: the temporary copy is removed"
        try:
            commit_copy(copy, written)
        except OSError as exc:
            return False, f"; the copy's record could not be written: {exc}"
        count = len(set(written))
        return True, (
            f"; {count} file(s) in the temporary copy {copy.path}; {land} copies them into "
            f"{copy.source}"
        )
    return True, ""


async def _commit(
    worktree: Worktree,
    workspace: Path,
    session_id: str,
    task: str,
    summary: str,
    written: list[str],
) -> tuple[bool, str]:
    """Commit exactly the files the session wrote, not what verification left there (caches,
    builds), nor a file .gitignore excludes (said so)."""
    title = " ".join(task.split())[:72]
    message = f"mao: {title}\n\nmao session {session_id}: {summary}\n"
    land = f"`mao land {session_id[:10]}`"
    inner = workspace.relative_to(worktree.path)
    paths = sorted({(inner / path).as_posix() for path in written})
    try:
        skipped = await ignored(worktree, paths)
        kept = [path for path in paths if path not in skipped]
        commit = await commit_changes(worktree, message, kept)
    except WorktreeError as exc:
        return False, f"; not committed: {exc}"
    note = f"; not committed, as .gitignore excludes them: {', '.join(skipped)}" if skipped else ""
    if not commit:
        await remove_worktree(worktree)
        return True, f"{note}; nothing to commit: {worktree.branch} and its worktree are removed"
    where = f"committed {commit[:10]} on {worktree.branch} (worktree {worktree.path})"
    return True, f"{note}; {where}; {land} brings it onto your branch"
