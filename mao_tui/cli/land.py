"""``mao land ID`` and ``mao clean``: a session's worktree commit onto the checked-out branch,
and removing session worktrees (docs/repository.md). Exit status: 0 done, 1 refused (the
checkout is as it was), 2 bad input."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.repo.git import repo_root
from mao_tui.repo.worktree import (
    Worktree,
    WorktreeError,
    list_worktrees,
    load_worktree,
    remove_worktree,
    session_worktree,
)
from mao_tui.service.landing import land_worktree


def _repository(args: argparse.Namespace) -> Path:
    folder = (args.workspace or Path.cwd()).expanduser()
    root = repo_root(folder)
    if root is None:
        raise UsageError(f"{folder} is not inside a git repository")
    return root


def _worktree(root: Path, session_id: str) -> Worktree:
    try:
        found = load_worktree(root, session_id)
    except WorktreeError as exc:
        raise UsageError(str(exc)) from None
    if found is None:
        raise UsageError(f"no session worktree {session_id!r} for {root} (mao clean lists them)")
    return found


def _landing(args: argparse.Namespace) -> Worktree:
    """The worktree to land: of the repository the workspace (default: here) is in, else,
    without --workspace, of whichever repository the session worked on."""
    if args.workspace is None:
        here = repo_root(Path.cwd())
        try:
            found = load_worktree(here, args.session_id) if here is not None else None
            found = found or session_worktree(args.session_id)
        except WorktreeError as exc:
            raise UsageError(str(exc)) from None
        if found is None:
            raise UsageError(f"no session worktree {args.session_id!r} (mao clean lists them)")
        return found
    return _worktree(_repository(args), args.session_id)


def cmd_land(args: argparse.Namespace) -> int:
    worktree = _landing(args)
    try:
        landed = asyncio.run(land_worktree(worktree))
    except WorktreeError as exc:
        sys.stderr.write(f"mao: not landed: {exc}\n")
        return 1
    sys.stdout.write(f"{landed.summary}\n")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    root = _repository(args)
    if args.session_id:
        chosen = [_worktree(root, args.session_id)]
    else:
        chosen = list_worktrees(root)
        if not args.all:
            for w in chosen:
                sys.stdout.write(f"{w.branch}  {w.path}\n")
            if chosen:
                sys.stdout.write("mao clean ID removes one; mao clean --all removes them all\n")
            return 0
    for worktree in chosen:
        asyncio.run(remove_worktree(worktree))
        sys.stdout.write(f"removed {worktree.branch} and {worktree.path}\n")
    return 0
