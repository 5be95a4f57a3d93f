"""Running git: an argument list (never a shell) in a given folder, with an environment that
holds none of the caller's ``GIT_*`` variables (a ``GIT_DIR`` or ``GIT_INDEX_FILE`` left over from
a hook would point every command at another repository), no pager, no prompt, and none of the
repository configuration's hooks that run programs on a read (``core.fsmonitor``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 60.0
_SAFE_OPTIONS = ("--no-pager", "-c", "core.quotepath=off", "-c", "core.fsmonitor=false")


class GitError(Exception):
    """A git command failed; the message quotes git's own first line of error."""


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs with: the caller's, minus every ``GIT_*`` variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="true",
        GIT_MERGE_AUTOEDIT="no",
        LC_ALL="C",
    )
    env.update(extra or {})
    return env


def _argv(args: Sequence[str]) -> list[str]:
    return ["git", *_SAFE_OPTIONS, *args]


def _failure(args: Sequence[str], result: GitResult) -> GitError:
    lines = (result.stderr or result.stdout).strip().splitlines()
    first = lines[0] if lines else f"exit status {result.returncode}"
    return GitError(f"git {' '.join(args[:2])} failed: {first}")


def run_git(
    cwd: Path, args: Sequence[str], *, check: bool = True, env: Mapping[str, str] | None = None
) -> GitResult:
    """``git args`` in ``cwd``, synchronously; GitError when git is missing, times out or
    (with ``check``) exits non-zero."""
    try:
        done = subprocess.run(
            _argv(args),
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
            env=git_env(env),
        )
    except FileNotFoundError:
        raise GitError("git is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args[:2])} took over {GIT_TIMEOUT_S:g}s") from None
    result = GitResult(done.returncode, done.stdout, done.stderr)
    if check and result.returncode != 0:
        raise _failure(args, result)
    return result


async def arun_git(
    cwd: Path, args: Sequence[str], *, check: bool = True, env: Mapping[str, str] | None = None
) -> GitResult:
    """``git args`` in ``cwd`` as an asyncio subprocess; the same errors as ``run_git``."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *_argv(args),
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=git_env(env),
        )
    except FileNotFoundError:
        raise GitError("git is not on PATH") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise GitError(f"git {' '.join(args[:2])} took over {GIT_TIMEOUT_S:g}s") from None
    result = GitResult(
        proc.returncode or 0,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )
    if check and result.returncode != 0:
        raise _failure(args, result)
    return result


def repo_root(folder: Path) -> Path | None:
    """The top of the git work tree ``folder`` is in, or None (not in one, or no git)."""
    try:
        result = run_git(folder, ["rev-parse", "--show-toplevel"], check=False)
    except (GitError, OSError):
        return None
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return Path(result.stdout.strip()).resolve()


def listed_files(root: Path) -> list[str]:
    """The files git knows in ``root``: tracked ones, and untracked ones .gitignore does not
    exclude (a file the user just made belongs in the map), as POSIX paths, sorted."""
    result = run_git(root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    return sorted({name for name in result.stdout.split("\0") if name})
