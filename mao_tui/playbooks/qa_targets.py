"""What `mao qa` reviews: files, globs, directories or a git diff, gathered into one listing.

Directories skip version-control and tool folders (and, inside a git work tree, what
.gitignore ignores); binary and huge files are skipped with the reason. The listing numbers
every line, so reviewers can cite ``file:line`` and code can check the citation.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.domain.errors import UsageError

MAX_FILE_BYTES = 256 * 1024
GIT_TIMEOUT_S = 30.0
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".mao", "node_modules", "__pycache__", ".venv", "venv",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", "dist", "build",
    }
)  # fmt: skip
_GLOB_CHARS = frozenset("*?[")


@dataclass
class Targets:
    root: Path
    files: list[tuple[str, str]] = field(default_factory=list)  # path relative to root, text
    skipped: list[tuple[str, str]] = field(default_factory=list)  # path, why
    diff: str = ""  # `git diff REV` output, when reviewing a diff
    diff_rev: str = ""

    def summary(self) -> str:
        """One line for the user: what is reviewed and what was skipped, with reasons."""
        text = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''} to review"
        if self.diff_rev:
            text += f" (changed since {self.diff_rev})"
        if self.skipped:
            shown = "; ".join(f"{p} ({why})" for p, why in self.skipped[:8])
            more = f"; and {len(self.skipped) - 8} more" if len(self.skipped) > 8 else ""
            text += f"; skipped {len(self.skipped)}: {shown}{more}"
        return text


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _skipped_dir(path: Path, root: Path) -> bool:
    rel = Path(_relative(path, root))
    return any(part in SKIP_DIRS for part in rel.parts[:-1])


def _read(path: Path, max_bytes: int) -> tuple[str | None, str]:
    """(text, "") or (None, why it is skipped)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, f"{size // 1024:,} KB, over the {max_bytes // 1024:,} KB limit"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"unreadable: {exc.strerror}"
    if b"\0" in data[:8192]:
        return None, "binary"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "binary (not UTF-8)"


def _git(root: Path, args: Sequence[str], *, stdin: str | None = None) -> str:
    """``git ARGS`` in ``root`` (argv, no shell); UsageError with git's own message."""
    exe = shutil.which("git")
    if exe is None:
        raise UsageError("git is not on PATH (needed for --diff and .gitignore)")
    try:
        done = subprocess.run(
            [exe, *args],
            cwd=root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {' '.join(args)}: no answer in {GIT_TIMEOUT_S:g}s") from None
    ok = (0, 1) if args[0] == "check-ignore" else (0,)  # check-ignore: 1 = nothing ignored
    if done.returncode not in ok:
        first = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise UsageError(f"git {' '.join(args)}: {first}")
    return done.stdout


def _in_work_tree(root: Path) -> bool:
    if shutil.which("git") is None:
        return False
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def _ignored(root: Path, paths: list[str]) -> set[str]:
    if not paths or not _in_work_tree(root):
        return set()
    out = _git(root, ["check-ignore", "--stdin"], stdin="\n".join(paths) + "\n")
    return {line for line in out.splitlines() if line}


def collect(targets: Sequence[str], root: Path, *, max_file_bytes: int = MAX_FILE_BYTES) -> Targets:
    """Files named, matched by a glob, or found under a directory (relative to ``root``)."""
    found = Targets(root)
    named: list[Path] = []  # asked for by name: reviewed even if .gitignore ignores them
    walked: list[Path] = []
    for target in targets:
        path = root / target if not Path(target).is_absolute() else Path(target)
        if any(c in target for c in _GLOB_CHARS):
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise UsageError(f"{target}: the pattern matches no file")
            walked += files
        elif path.is_dir():
            walked += sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink())
        elif path.is_file():
            named.append(path)
        elif path.exists():
            raise UsageError(f"{target}: not a regular file or directory")
        else:
            raise UsageError(f"{target}: no such file or directory")
    walked = [p for p in walked if not _skipped_dir(p, root)]
    rel_walked = [_relative(p, root) for p in walked]
    ignored = _ignored(root, rel_walked)
    seen: set[str] = set()
    for path in [*named, *walked]:
        rel = _relative(path, root)
        if rel in seen:
            continue
        seen.add(rel)
        if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
            found.skipped.append((rel, "symlink out of the project"))
            continue
        if rel in ignored and path not in named:
            found.skipped.append((rel, "ignored by .gitignore"))
            continue
        _take(found, rel, path, max_file_bytes)
    return found


def _take(found: Targets, rel: str, path: Path, max_file_bytes: int) -> None:
    """``path`` among the files to review, or among the skipped with the reason."""
    text, why = _read(path, max_file_bytes)
    if text is None:
        found.skipped.append((rel, why))
    else:
        found.files.append((rel, text))


def collect_diff(
    rev: str, root: Path, paths: Sequence[str] = (), *, max_file_bytes: int = MAX_FILE_BYTES
) -> Targets:
    """The changes since ``rev`` (``git diff REV [-- PATHS]``) and each changed file in full."""
    if rev.startswith("-"):
        raise UsageError(f"--diff {rev!r}: expected a revision, not an option")
    if not _in_work_tree(root):
        raise UsageError(f"--diff: {root} is not inside a git work tree")
    pathspec = ["--", *paths] if paths else []
    diff = _git(root, ["diff", rev, *pathspec])
    names = _git(root, ["diff", "--name-only", rev, *pathspec]).splitlines()
    found = Targets(root, diff=diff, diff_rev=rev)
    top = Path(_git(root, ["rev-parse", "--show-toplevel"]).strip())
    for name in names:
        path = top / name
        rel = _relative(path, root)
        if not path.exists():
            found.skipped.append((rel, "deleted"))
            continue
        if _skipped_dir(path, root):
            found.skipped.append((rel, "tool folder"))
            continue
        _take(found, rel, path, max_file_bytes)
    return found


def _fence(text: str) -> str:
    return "~~~~" if "```" in text else "```"


def render_listing(targets: Targets, prd: tuple[str, str] | None) -> str:
    """The requirements, the diff (if any) and every file with numbered lines: the session's
    spec text, which the reviewers get as ``$spec``."""
    parts = ["## Requirements", ""]
    if prd is not None:
        name, text = prd
        parts += [f"The PRD ({name}):", "", text.rstrip(), ""]
    else:
        parts += ["No PRD was given: the task above is the requirement.", ""]
    if targets.diff_rev:
        fence = _fence(targets.diff)
        parts += [
            f"## Changes under review (git diff {targets.diff_rev})",
            "",
            f"{fence}diff",
            targets.diff.rstrip() or "(no changes)",
            fence,
            "",
        ]
    count = len(targets.files)
    parts += [f"## Code under review ({count} file{'s' if count != 1 else ''})", ""]
    for path, text in targets.files:
        lines = text.splitlines()
        fence = _fence(text)
        numbered = "\n".join(f"{n:>4} | {line}" for n, line in enumerate(lines, 1))
        parts += [
            f"#### File: {path} ({len(lines)} line{'s' if len(lines) != 1 else ''})",
            "",
            fence,
            numbered,
            fence,
            "",
        ]
    if not targets.files:
        parts.append("(no files)")
    return "\n".join(parts).rstrip() + "\n"
