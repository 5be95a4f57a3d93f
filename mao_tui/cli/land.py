"""``mao land ID`` and ``mao clean``: a session's result onto the user's branch or folder, and
removing what sessions left (docs/repository.md).

``mao land``'s exit status: 0 landed (or left, with ``--leave``), 1 refused with the reason and
nothing changed (uncommitted changes of yours in the files it changes, a conflict, a file of
yours changed since the session copied it), 2 bad input (no such session worktree or copy)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.repo.git import repo_root
from mao_tui.repo.workspace_copy import (
    WorkspaceCopy,
    land_copy,
    list_copies,
    remove_copy,
    session_copy,
)
from mao_tui.repo.worktree import (
    Worktree,
    WorktreeError,
    list_worktrees,
    load_worktree,
    remove_worktree,
    session_worktree,
    settled,
)
from mao_tui.service.landing import CopyLanded, land_worktree

Found = Worktree | WorkspaceCopy


def _folder(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The workspace (default: here) and the git repository it is in, if any."""
    folder = (args.workspace or Path.cwd()).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"--workspace {folder}: not a directory")
    return folder, repo_root(folder)


def _find(args: argparse.Namespace) -> Found:
    """The session's worktree (of the repository of --workspace or here, else of any) or, outside
    git, its temporary copy."""
    folder, root = _folder(args)
    try:
        found: Found | None = load_worktree(root, args.session_id) if root is not None else None
        if found is None and args.workspace is None:
            found = session_worktree(args.session_id)
        if found is None:
            copy = session_copy(args.session_id)
            if copy is not None and (args.workspace is None or Path(copy.source) == folder):
                found = copy
    except WorktreeError as exc:
        raise UsageError(str(exc)) from None
    if found is None:
        where = f" for {root or folder}" if args.workspace is not None else ""
        raise UsageError(
            f"no session worktree or copy {args.session_id!r}{where} (mao clean lists them)"
        )
    return found


def cmd_land(args: argparse.Namespace) -> int:
    found = _find(args)
    if isinstance(found, WorkspaceCopy):
        return _land_copy(args, found)
    if args.leave:
        tip = asyncio.run(_tip(found))
        asyncio.run(remove_worktree(found, keep_branch=True))
        sys.stdout.write(
            f"left {found.branch} at {tip[:10]} in {found.repo}; its worktree is removed: "
            f"`git merge {found.branch}` (or `git cherry-pick {tip[:10]}`) when you want it, "
            f"`git branch -D {found.branch}` to drop it\n"
        )
        return 0
    try:
        landed = asyncio.run(land_worktree(found, merge=args.merge))
    except WorktreeError as exc:
        sys.stderr.write(f"mao: not landed: {exc}\n")
        return 1
    sys.stdout.write(f"{landed.summary}\n")
    return 0


async def _tip(worktree: Worktree) -> str:
    from mao_tui.repo.git import arun_git

    result = await arun_git(Path(worktree.repo), ["rev-parse", f"refs/heads/{worktree.branch}"])
    return result.stdout.strip()


def _land_copy(args: argparse.Namespace, copy: WorkspaceCopy) -> int:
    if args.leave or args.merge:
        flag = "--leave" if args.leave else "--merge"
        raise UsageError(
            f"{flag} is for a git branch; outside git the session's files are in {copy.path} "
            f"(`mao clean {copy.prefix}` removes them)"
        )
    try:
        files = land_copy(copy)
    except WorktreeError as exc:
        sys.stderr.write(f"mao: not landed: {exc}\n")
        return 1
    remove_copy(copy)
    sys.stdout.write(f"{CopyLanded(copy.source, tuple(files)).summary}\n")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove one session's worktree or copy, or all of the workspace's; with neither, those
    that are settled (landed by hand, branch or folder gone), listing the others."""
    if args.session_id:
        chosen: list[Found] = [_find(args)]
    else:
        folder, root = _folder(args)
        worktrees = list_worktrees(root) if root is not None else []
        chosen = [*worktrees, *list_copies(folder)]
        if not args.all:
            return _clean_settled(worktrees, list_copies(folder))
    for found in chosen:
        _remove(found)
    return 0


def _remove(found: Found, reason: str = "") -> None:
    note = f" ({reason})" if reason else ""
    if isinstance(found, WorkspaceCopy):
        remove_copy(found)
        sys.stdout.write(f"removed the {found.name} in {found.path}{note}\n")
    else:
        asyncio.run(remove_worktree(found))
        sys.stdout.write(f"removed {found.branch} and {found.path}{note}\n")


def _clean_settled(worktrees: list[Worktree], copies: list[WorkspaceCopy]) -> int:
    left: list[str] = []
    for worktree in worktrees:
        reason = asyncio.run(settled(worktree))
        if reason:
            _remove(worktree, reason)
        else:
            left.append(f"{worktree.branch}  {worktree.path}")
    for copy in copies:
        if Path(copy.path).is_dir():
            left.append(f"{copy.name}  {copy.path}")
        else:
            _remove(copy, "its folder is gone")
    for line in left:
        sys.stdout.write(line + "\n")
    if left:
        sys.stdout.write(
            "mao land ID lands one; mao clean ID removes one; --all removes them all\n"
        )
    return 0
