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
from pathlib import Path, PurePosixPath
from typing import Literal

from mao_tui.domain.sanitize import shown
from mao_tui.engine.files import PATH_MAX, FileBlock, git_alias, path_problem
from mao_tui.settings.schema import Limits

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
    size = len(os.fsencode(target))
    if size >= PATH_MAX:
        return f"makes a path of {size:,} bytes, over the file system's limit of {PATH_MAX:,}"
    try:
        resolved = target.resolve(strict=False)
        if not resolved.is_relative_to(root):
            return "leaves the workspace through a symlink"
        inside = resolved.relative_to(root).parts
        aliases = [alias for alias in map(git_alias, inside) if alias]
        if aliases:
            return f"is inside {aliases[0]}/ through a symlink"
        if _in_git_dir(root, resolved.parent):
            return "is inside a git directory (a folder with HEAD, objects/ and refs/)"
        if target.is_dir():
            return "is a directory"
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop...
        return f"cannot be checked ({getattr(exc, 'strerror', None) or exc})"
    return None


def _in_git_dir(root: Path, folder: Path) -> bool:
    """True when ``folder`` or a folder above it (up to ``root``) is a bare git directory:
    git would read its ``config`` (``core.fsmonitor`` runs a command) from inside it."""
    while folder.is_relative_to(root):
        if (
            (folder / "HEAD").is_file()
            and (folder / "objects").is_dir()
            and (folder / "refs").is_dir()
        ):
            return True
        if folder == root:
            return False
        folder = folder.parent
    return False


def _planted_git_dirs(files: list[FileBlock]) -> set[PurePosixPath]:
    """Folders the files would make look like a git directory: HEAD, objects/ and refs/ in
    one folder (git treats such a folder as a bare repository and runs its config)."""
    heads, objects, refs = set(), set(), set()
    for block in files:
        parts = PurePosixPath(block.path).parts
        for i, part in enumerate(parts):
            folder = PurePosixPath(*parts[:i])
            if part == "HEAD" and i == len(parts) - 1:
                heads.add(folder)
            elif part == "objects" and i < len(parts) - 1:
                objects.add(folder)
            elif part == "refs" and i < len(parts) - 1:
                refs.add(folder)
    return {f for f in heads if f in objects and f in refs}


def plan_changes(root: Path, files: list[FileBlock], limits: Limits | None = None) -> list[Change]:
    root = root.resolve()
    limits = limits or Limits()
    planted = _planted_git_dirs(files)
    changes = []
    total = 0
    for n, block in enumerate(files, 1):
        size = len(block.content.encode("utf-8"))
        reason = block.problem or _over_limit(limits, n, size, total + size)
        reason = reason or _confined(root, block.path)
        if not reason and any(PurePosixPath(block.path).is_relative_to(f) for f in planted):
            reason = "would make a git directory (HEAD, objects/ and refs/ in one folder)"
        if reason:
            changes.append(Change(block.path, "refused", reason=reason))
            continue
        target = root / block.path
        try:
            old = _read_existing(target)
        except (OSError, ValueError) as exc:
            reason = f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
            changes.append(Change(block.path, "refused", reason=reason))
            continue
        total += size
        content = _line_endings_of(old, block.content)
        if old == content:
            changes.append(Change(block.path, "unchanged", content=content))
            continue
        kind: ChangeKind = "create" if old is None else "modify"
        diff = unified_diff(block.path, old, content)
        changes.append(Change(block.path, kind, diff=diff, content=content))
    return changes


def _over_limit(limits: Limits, n: int, size: int, total: int) -> str | None:
    if n > limits.max_files:
        return f"is file {n:,}, over the limit of {limits.max_files:,} files (limits.max_files)"
    if size > limits.max_file_bytes:
        return (
            f"is {size:,} bytes, over the limit of {limits.max_file_bytes:,} "
            "(limits.max_file_bytes)"
        )
    if total > limits.max_total_bytes:
        return (
            f"brings the files to {total:,} bytes, over the limit of "
            f"{limits.max_total_bytes:,} (limits.max_total_bytes)"
        )
    return None


def _lines(text: str) -> list[str]:
    """``text`` split after each LF only (str.splitlines also splits at FF, U+2028...)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _read_existing(target: Path) -> str | None:
    if not target.exists():
        return None
    with target.open(encoding="utf-8", errors="replace", newline="") as handle:
        return handle.read()


def _line_endings_of(old: str | None, new: str) -> str:
    """``new`` with the existing file's CR LF line endings when it used only those and ``new``
    uses plain LF; otherwise ``new`` as the model gave it."""
    if old and "\r\n" in old and "\n" not in old.replace("\r\n", "") and "\r" not in new:
        return new.replace("\n", "\r\n")
    return new


def unified_diff(path: str, old: str | None, new: str) -> str:
    """A unified diff fit to be shown: each line ends properly (``\\ No newline at end of
    file`` where the text does not), CR shows as ␍, and controls, bidi and zero-width
    characters are visible (see sanitize.py); the bytes written are the content's."""
    lines = difflib.unified_diff(
        _lines(old or ""),
        _lines(new),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}",
    )
    out = []
    for line in lines:
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        body = body.replace("\r", "\u240d")
        out.append(shown(body) + "\n")
        if not end:
            out.append(NO_NEWLINE)
    return "".join(out)


NO_NEWLINE = "\\ No newline at end of file\n"


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
