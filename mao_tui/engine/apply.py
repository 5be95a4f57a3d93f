"""Write a synthesis's files into the workspace, confined to it, one atomic replace per file.

Refused, with the reason: absolute paths, `..`, anything under `.git/`, and any path whose
resolved location (following symlinks in its folders or the file itself) leaves the workspace.
An existing file is copied to `.mao/backups/<session>/<path>` before it is replaced.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mao_tui.engine.files import FileBlock, path_problem


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "create" | "modify" | "unchanged" | "refused"
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
    if resolved.relative_to(root).parts[:1] == (".git",):
        return "is inside .git/ through a symlink"
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
        kind = "create" if old is None else "modify"
        changes.append(Change(block.path, kind, diff=diff, content=block.content))
    return changes


def apply_changes(root: Path, changes: list[Change], backup_dir: Path) -> list[str]:
    """Write every create/modify change; returns the paths written. Re-checks confinement."""
    root = root.resolve()
    written = []
    for change in changes:
        if change.kind not in ("create", "modify"):
            continue
        reason = _confined(root, change.path)
        if reason:  # the workspace changed since the plan was made
            raise PermissionError(f"{change.path}: {reason}")
        target = root / change.path
        if target.exists():
            backup = backup_dir / change.path
            backup.parent.mkdir(parents=True, exist_ok=True)
            backup.write_bytes(target.read_bytes())
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".mao")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(change.content)
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o777)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(change.path)
    return written
