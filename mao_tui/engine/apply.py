"""Write a synthesis's files into the workspace, confined to it, one atomic replace per file.

Refused, with the reason: absolute paths, `..`, anything under `.git/` or `.mao/`, and any path
whose resolved location (following symlinks in its folders or the file itself) leaves the
workspace. An existing file is copied to the backup folder (`.mao/backups/<session>/r<round>/`
for the fix loop) before it is replaced.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mao_tui.engine.files import FileBlock, path_problem

ChangeKind = Literal["create", "modify", "unchanged", "refused"]


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind
    diff: str = ""
    reason: str = ""  # why refused
    content: str = ""


def _confined(root: Path, rel: str) -> str | None:
    problem = path_problem(rel)
    if problem:
        return problem
    target = root / rel
    try:
        resolved = target.resolve(strict=False)
    except (OSError, RuntimeError) as exc:
        return f"cannot be resolved ({exc})"
    if not resolved.is_relative_to(root):
        return "leaves the workspace through a symlink"
    inside = resolved.relative_to(root).parts[:1]
    if inside in ((".git",), (".mao",)):
        return f"is inside {inside[0]}/ through a symlink"
    if target.is_dir():
        return "is a directory"
    return None


def plan_changes(root: Path, files: list[FileBlock]) -> list[Change]:
    root = root.resolve()
    changes = []
    for block in files:
        reason = _confined(root, block.path)
        if reason:
            changes.append(Change(block.path, "refused", reason=reason))
            continue
        target = root / block.path
        old = target.read_text(encoding="utf-8", errors="replace") if target.exists() else None
        if old == block.content:
            changes.append(Change(block.path, "unchanged", content=block.content))
            continue
        diff = "".join(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                block.content.splitlines(keepends=True),
                fromfile=f"a/{block.path}" if old is not None else "/dev/null",
                tofile=f"b/{block.path}",
            )
        )
        kind: ChangeKind = "create" if old is None else "modify"
        changes.append(Change(block.path, kind, diff=diff, content=block.content))
    return changes


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class Written:
    """What happened to one change when applied."""

    path: str
    status: Literal["written", "unchanged", "refused", "failed"]
    change: ChangeKind
    backup: Path | None = None
    reason: str = ""


def apply_changes(root: Path, changes: list[Change], backup_dir: Path) -> list[str]:
    """Write every create/modify change; returns the paths written. Re-checks confinement."""
    written = []
    for result in apply_all(root, changes, backup_dir):
        if result.status == "failed":
            raise OSError(f"{result.path}: {result.reason}")
        if result.status == "written":
            written.append(result.path)
    return written


def apply_all(root: Path, changes: list[Change], backup_dir: Path) -> list[Written]:
    """Apply every change, each on its own: one refused or failed file does not stop the rest."""
    root = root.resolve()
    results = []
    for change in changes:
        if change.kind == "refused":
            results.append(Written(change.path, "refused", change.kind, reason=change.reason))
            continue
        if change.kind == "unchanged":
            results.append(Written(change.path, "unchanged", change.kind))
            continue
        try:
            backup = _write_one(root, change, backup_dir)
        except _Refused as exc:
            results.append(Written(change.path, "refused", change.kind, reason=str(exc)))
        except OSError as exc:
            reason = f"{exc.strerror or exc}"
            results.append(Written(change.path, "failed", change.kind, reason=reason))
        else:
            results.append(Written(change.path, "written", change.kind, backup=backup))
    return results


def _write_one(root: Path, change: Change, backup_dir: Path) -> Path | None:
    """Back up, then replace atomically; returns the backup's path (None for a new file)."""
    reason = _confined(root, change.path)
    if reason:  # the workspace changed since the plan was made
        raise _Refused(reason)
    target = root / change.path
    backup: Path | None = None
    if target.exists():
        backup = backup_dir / change.path
        backup.parent.mkdir(parents=True, exist_ok=True)
        backup.write_bytes(target.read_bytes())
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".mao")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(change.content)
        # mkstemp makes the file 0600: keep an existing file's mode, else the umask's
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else _new_file_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def _new_file_mode() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return 0o666 & ~mask
