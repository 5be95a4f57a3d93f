"""Outside git, a session's temporary copy of the workspace: apply, verification and fix rounds
happen in the copy, in mao's data folder; the user's folder is untouched until they land the
result, which copies back the files the session wrote (and the user accepted).

Landing refuses, changing nothing, when one of those files changed in the user's folder since the
copy was made (or appeared there, for a new file): the copy's content would overwrite their work.
Each file is written back atomically (a temporary file beside it, then one rename).

A JSON record beside each copy (``<prefix>.json``) holds the source folder, the SHA-256 of every
file at copy time and, once committed, the files to land.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath

from mao_tui.repo.worktree import WorktreeError, branch_prefix, worktrees_dir

MAX_FILES = 20_000
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class WorkspaceCopy:
    source: str  # the user's folder
    path: str  # the copy
    prefix: str  # the session id's first letters and digits
    files: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 when copied
    applied: dict[str, str | None] = field(default_factory=dict)  # to land: path -> hash before

    @property
    def record(self) -> Path:
        return Path(self.path).with_suffix(".json")

    @property
    def name(self) -> str:
        return f"copy {self.prefix}"


def copies_dir() -> Path:
    return worktrees_dir().parent / "copies"


def _folder_for(parent: Path, source: Path) -> Path:
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", source.name)[:40] or "folder"
    return parent / f"{slug}-{digest}"


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(source: Path) -> dict[str, str]:
    """Every regular file under ``source`` (symlinks are copied as links, not followed), with
    its hash; WorktreeError past the limits."""
    files: dict[str, str] = {}
    total = 0
    for top, dirs, names in os.walk(source):
        dirs.sort()
        for name in sorted(names):
            path = Path(top) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            total += info.st_size
            if len(files) >= MAX_FILES or total > MAX_BYTES:
                raise WorktreeError(
                    f"{source} is too large to copy for the session (over {MAX_FILES:,} files "
                    f"or {MAX_BYTES // (1024 * 1024)} MiB): make it a git repository, or pass "
                    "--in-place to apply there directly"
                )
            files[path.relative_to(source).as_posix()] = _sha(path)
    return files


def _save(copy: WorkspaceCopy) -> WorkspaceCopy:
    temp = copy.record.with_suffix(".json.tmp")
    temp.write_text(json.dumps(asdict(copy), indent=1) + "\n", encoding="utf-8")
    os.replace(temp, copy.record)
    return copy


async def create_copy(folder: Path, session_id: str, parent: Path | None = None) -> WorkspaceCopy:
    """A copy of ``folder`` for ``session_id``, outside it, recorded for ``mao land``."""
    return await asyncio.to_thread(_create, folder.resolve(), session_id, parent)


def _create(source: Path, session_id: str, parent: Path | None) -> WorkspaceCopy:
    if not source.is_dir():
        raise WorktreeError(f"{source} is not a folder")
    prefix = branch_prefix(session_id)
    target = _folder_for((parent or copies_dir()).resolve(), source) / prefix
    if target.is_relative_to(source) or source.is_relative_to(target):
        raise WorktreeError(f"the copy {target} and the workspace {source} would overlap")
    if target.exists() or target.with_suffix(".json").exists():
        raise WorktreeError(f"{target} exists already: `mao clean {prefix}` removes it")
    files = _manifest(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, symlinks=True)
    except (OSError, shutil.Error) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise WorktreeError(f"cannot copy {source}: {exc}") from None
    return _save(WorkspaceCopy(str(source), str(target), prefix, files))


def commit_copy(copy: WorkspaceCopy, written: list[str]) -> WorkspaceCopy:
    """Record the files the session wrote in the copy (relative paths) as the ones to land."""
    applied = dict(copy.applied)
    for path in written:
        applied.setdefault(path, copy.files.get(path))
    return _save(replace(copy, applied=applied))


def _load(record: Path) -> WorkspaceCopy | None:
    try:
        return WorkspaceCopy(**json.loads(record.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # a record that is not ours: left alone


def list_copies(source: Path, parent: Path | None = None) -> list[WorkspaceCopy]:
    folder = _folder_for((parent or copies_dir()).resolve(), source.resolve())
    records = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [c for c in map(_load, records) if c is not None]


def session_copy(session_id: str, parent: Path | None = None) -> WorkspaceCopy | None:
    """The copy of the session whose id starts with ``session_id``, of any folder; None when
    there is none. WorktreeError when several match."""
    base = (parent or copies_dir()).resolve()
    records = sorted(base.glob(f"*/{branch_prefix(session_id)}*.json")) if base.is_dir() else []
    found = [c for c in map(_load, records) if c is not None]
    if len(found) > 1:
        names = ", ".join(c.name for c in found)
        raise WorktreeError(f"{session_id!r} names several session copies: {names}")
    return found[0] if found else None


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` through no symlink."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise WorktreeError(f"{relative!r} is not a path inside {root}")
    if any(part.lower() in (".git", ".mao") for part in pure.parts):
        raise WorktreeError(f"{relative!r} is inside .git or .mao")
    target = root.joinpath(*pure.parts)
    for step in [*reversed(target.parents), target]:
        if step.is_relative_to(root) and step != root and step.is_symlink():
            raise WorktreeError(f"{relative!r} goes through the symlink {step}")
    return target


def _current(path: Path) -> str | None:
    return _sha(path) if path.is_file() and not path.is_symlink() else None


def land_copy(copy: WorkspaceCopy) -> list[str]:
    """Copy the session's files back into the user's folder; the paths landed. WorktreeError,
    with nothing written, when one of them changed there since the copy was made."""
    source, where = Path(copy.source), Path(copy.path)
    if not copy.applied:
        raise WorktreeError(f"the {copy.name} has no change to land")
    if not source.is_dir():
        raise WorktreeError(f"{source} is not there any more")
    plan: list[tuple[Path, Path]] = []
    changed = []
    for relative, before in sorted(copy.applied.items()):
        target, origin = _inside(source, relative), _inside(where, relative)
        if not origin.is_file():
            raise WorktreeError(f"{relative} is missing from the copy {where}")
        exists = target.exists() or target.is_symlink()
        if (before is None and exists) or (before is not None and _current(target) != before):
            changed.append(relative)
        plan.append((origin, target))
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise WorktreeError(
            f"{shown} changed in {source} since the session copied it: nothing was landed; "
            f"keep your version, or copy the session's from {where} yourself"
        )
    for origin, target in plan:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".mao", dir=target.parent)
        os.close(fd)
        try:
            shutil.copy2(origin, temp)
            os.replace(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    return sorted(copy.applied)


def remove_copy(copy: WorkspaceCopy) -> None:
    """Remove the copy's folder and its record; what is already gone is fine."""
    shutil.rmtree(copy.path, ignore_errors=True)
    copy.record.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        copy.record.parent.rmdir()
