"""A session's own git worktree: created from HEAD on a branch ``mao/<session prefix>`` in mao's
data folder (never inside the user's repository), committed to there, landed onto the user's
checked-out branch only when asked, then removed.

The user's working tree and index are left alone until ``land``:

- Including the uncommitted changes snapshots them through a *temporary* index (a copy of the
  user's, ``git add -A`` into it, ``write-tree``, ``commit-tree``): the snapshot holds tracked
  changes and untracked files .gitignore allows, and the branch starts from it. (``git stash
  create`` would leave untracked files out.)
- Commits in the worktree are plumbing (``write-tree``, ``commit-tree``, ``update-ref``): none of
  the repository's hooks run, and they are authored by mao.
- ``land`` takes the changes between the branch's start and its tip, applies them three-way to a
  temporary index holding the user's HEAD, and makes one commit of the result on top of HEAD;
  only then does it refuse or proceed: refused when the user's uncommitted changes touch one of
  the files or the changes conflict (nothing touched), otherwise the user's index and tree move
  from HEAD to the new commit as ``git checkout`` would (their other uncommitted changes, staged
  or not, stay) and the branch ref follows, compare-and-swap.

A small JSON record beside each worktree (``<prefix>.json``) lets a later process find it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from mao_tui.repo.git import GitError, arun_git

MAO_IDENTITY = {
    "GIT_AUTHOR_NAME": "mao",
    "GIT_AUTHOR_EMAIL": "mao@localhost",
    "GIT_COMMITTER_NAME": "mao",
    "GIT_COMMITTER_EMAIL": "mao@localhost",
}
PREFIX_CHARS = 8


class WorktreeError(Exception):
    """What cannot be done with the worktree, and why, in one message for the user."""


@dataclass(frozen=True)
class Worktree:
    repo: str  # the user's repository (top of its work tree)
    path: str  # the worktree's folder
    branch: str  # mao/<prefix>
    base: str  # the commit the branch started from: HEAD, or the snapshot on top of it
    head: str  # the user's HEAD when it was created
    snapshot: bool  # whether ``base`` holds the user's uncommitted changes

    @property
    def record(self) -> Path:
        return Path(self.path).with_suffix(".json")


@dataclass(frozen=True)
class Landed:
    commit: str  # the new commit on the user's branch
    files: tuple[str, ...]


def worktrees_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("mao", appauthor=False)) / "worktrees"


def branch_prefix(session_id: str) -> str:
    prefix = re.sub(r"[^A-Za-z0-9]", "", session_id)[:PREFIX_CHARS].lower()
    if not prefix:
        raise WorktreeError(f"session id {session_id!r} has no letter or digit to name a branch")
    return prefix


def _repo_folder(parent: Path, repo: Path) -> Path:
    digest = hashlib.sha256(str(repo).encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", repo.name)[:40] or "repo"
    return parent / f"{slug}-{digest}"


async def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    try:
        return (await arun_git(cwd, args, env=env)).stdout.strip()
    except GitError as exc:
        raise WorktreeError(str(exc)) from None


async def _top(folder: Path) -> Path:
    top = await _git(folder, "rev-parse", "--show-toplevel")
    if not top:
        raise WorktreeError(f"{folder} is not inside a git work tree")
    return Path(top).resolve()


async def _head(repo: Path) -> str:
    result = await arun_git(repo, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
    if result.returncode != 0:
        raise WorktreeError(f"{repo} has no commit yet: commit once, then start the session")
    return result.stdout.strip()


async def create_worktree(
    folder: Path, session_id: str, *, include_uncommitted: bool = False, parent: Path | None = None
) -> Worktree:
    """A new worktree for ``session_id`` of the repository ``folder`` is in."""
    repo = await _top(folder)
    head = await _head(repo)
    prefix = branch_prefix(session_id)
    branch = f"mao/{prefix}"
    target = _repo_folder((parent or worktrees_dir()).resolve(), repo) / prefix
    if target.is_relative_to(repo):
        raise WorktreeError(f"the worktree folder {target} would be inside the repository")
    if target.exists():
        raise WorktreeError(f"{target} exists already: remove the old worktree first")
    exists = await arun_git(
        repo, ["rev-parse", "--verify", "-q", f"refs/heads/{branch}"], check=False
    )
    if exists.returncode == 0:
        raise WorktreeError(f"branch {branch} exists already: remove it or land it first")
    base = head
    if include_uncommitted:
        base = await _snapshot(repo, head) or head
    target.parent.mkdir(parents=True, exist_ok=True)
    await _git(repo, "worktree", "add", "-q", "-b", branch, str(target), base)
    worktree = Worktree(str(repo), str(target), branch, base, head, base != head)
    worktree.record.write_text(json.dumps(asdict(worktree), indent=1) + "\n")
    return worktree


async def _snapshot(repo: Path, head: str) -> str | None:
    """A commit on top of ``head`` holding the user's uncommitted changes, made without
    touching their index or tree; None when there are none."""
    index = Path(await _git(repo, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    with tempfile.TemporaryDirectory(prefix="mao-snapshot-") as scratch:
        temp_index = Path(scratch) / "index"
        if index.is_file():
            shutil.copyfile(index, temp_index)
        env = {"GIT_INDEX_FILE": str(temp_index)}
        if not index.is_file():
            await _git(repo, "read-tree", head, env=env)
        await _git(repo, "add", "-A", env=env)
        tree = await _git(repo, "write-tree", env=env)
    if tree == await _git(repo, "rev-parse", f"{head}^{{tree}}"):
        return None
    message = "mao: the uncommitted changes when the session started"
    return await _git(repo, "commit-tree", tree, "-p", head, "-m", message, env=MAO_IDENTITY)


def list_worktrees(repo: Path, parent: Path | None = None) -> list[Worktree]:
    """Every session worktree recorded for ``repo`` (its top folder), by branch."""
    folder = _repo_folder((parent or worktrees_dir()).resolve(), repo.resolve())
    found = []
    for record in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(Worktree(**json.loads(record.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # a record that is not ours: left alone
    return found


def load_worktree(repo: Path, session_id: str, parent: Path | None = None) -> Worktree | None:
    """The worktree of the session whose id starts with ``session_id`` (letters and digits,
    any case), for ``repo``; None when there is none. WorktreeError when several match."""
    wanted = branch_prefix(session_id)
    found = [w for w in list_worktrees(repo, parent) if w.branch.startswith(f"mao/{wanted}")]
    if len(found) > 1:
        names = ", ".join(w.branch for w in found)
        raise WorktreeError(f"{session_id!r} names several session worktrees: {names}")
    return found[0] if found else None


def session_worktree(session_id: str, parent: Path | None = None) -> Worktree | None:
    """The worktree of the session whose id starts with ``session_id``, in any repository;
    None when there is none. WorktreeError when several match."""
    base = (parent or worktrees_dir()).resolve()
    records = sorted(base.glob(f"*/{branch_prefix(session_id)}*.json")) if base.is_dir() else []
    found = []
    for record in records:
        try:
            found.append(Worktree(**json.loads(record.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    if len(found) > 1:
        names = ", ".join(w.branch for w in found)
        raise WorktreeError(f"{session_id!r} names several session worktrees: {names}")
    return found[0] if found else None


async def commit_changes(worktree: Worktree, message: str, paths: list[str] | None = None) -> str:
    """Commit the worktree's changes (all, or those under ``paths``) on its branch; the new
    commit, or "" when there was nothing to commit."""
    if paths == []:
        return ""
    where = Path(worktree.path)
    literal = [f":(literal){p}" for p in paths] if paths is not None else []
    await _git(where, "add", "-A", "--", *literal)
    tree = await _git(where, "write-tree")
    parent = await _git(where, "rev-parse", "HEAD")
    if tree == await _git(where, "rev-parse", "HEAD^{tree}"):
        return ""
    commit = await _git(where, "commit-tree", tree, "-p", parent, "-m", message, env=MAO_IDENTITY)
    await _git(where, "update-ref", "-m", f"mao: {message[:60]}", "HEAD", commit, parent)
    return commit


async def ignored(worktree: Worktree, paths: list[str]) -> list[str]:
    """Those of ``paths`` (relative to the worktree) that the repository's .gitignore excludes
    (a tracked file is never excluded). One ``git check-ignore -q`` per path: exact for any name."""
    found = []
    for path in paths:
        result = await arun_git(
            Path(worktree.path), ["check-ignore", "-q", "--", f"./{path}"], check=False
        )
        if result.returncode == 0:
            found.append(path)
        elif result.returncode != 1:  # 1: not ignored
            raise WorktreeError(f"git check-ignore failed: {result.stderr.strip()[:200]}")
    return found


async def changed_files(worktree: Worktree) -> list[str]:
    tip = f"refs/heads/{worktree.branch}"
    out = await _git(Path(worktree.repo), "diff", "--name-only", "-z", worktree.base, tip)
    return [name for name in out.split("\0") if name]


async def land(worktree: Worktree, *, merge: bool = False) -> Landed:
    """Bring the branch's changes onto the user's checked-out branch as one commit: a copy of
    the branch's commit (as ``git cherry-pick`` would make), or with ``merge`` a merge commit
    whose second parent is the branch's tip."""
    repo = Path(worktree.repo)
    files = await changed_files(worktree)
    if not files:
        raise WorktreeError(f"{worktree.branch} has no change to land")
    if merge and worktree.snapshot:
        raise WorktreeError(
            f"{worktree.branch} starts from a snapshot of your uncommitted changes, which a "
            "merge would record as committed: land it without --merge"
        )
    head = await _head(repo)
    dirty = await _dirty(repo, files)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise WorktreeError(
            f"your uncommitted changes touch {shown}, which {worktree.branch} changes: "
            "commit or stash them, then land again"
        )
    tree = await _merged_tree(repo, worktree, head)
    tip_ref = f"refs/heads/{worktree.branch}"
    message = await _git(repo, "log", "-1", "--format=%B", tip_ref) or f"mao: {worktree.branch}"
    parents = ["-p", head]
    if merge:
        parents += ["-p", await _git(repo, "rev-parse", tip_ref)]
        message = f"Merge branch '{worktree.branch}'\n\n{message}"
    commit = await _git(
        repo, "commit-tree", tree, *parents, "-m", message, env=await _committer(repo)
    )
    await _git(repo, "read-tree", "-m", "-u", head, commit)
    moved = await arun_git(
        repo, ["update-ref", "-m", f"mao land {worktree.branch}", "HEAD", commit, head], check=False
    )
    if moved.returncode != 0:  # the branch moved meanwhile: put the tree back as it was
        await _git(repo, "read-tree", "-m", "-u", commit, head)
        raise WorktreeError("the checked-out branch moved while landing; nothing was landed")
    return Landed(commit, tuple(files))


async def _dirty(repo: Path, files: list[str]) -> list[str]:
    literal = [f":(literal){p}" for p in files]
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *literal]
    try:
        out = (await arun_git(repo, args)).stdout  # not stripped: " M" starts with a space
    except GitError as exc:
        raise WorktreeError(str(exc)) from None
    dirty: set[str] = set()
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) > 3:
            dirty.add(entry[3:])
            if entry[0] in "RC":  # a rename or copy: its source path follows, bare
                dirty.add(next(entries, ""))
    return sorted(dirty - {""})


async def _merged_tree(repo: Path, worktree: Worktree, head: str) -> str:
    """The tree of ``head`` with the branch's changes applied three-way, in a scratch index."""
    tip = f"refs/heads/{worktree.branch}"
    with tempfile.TemporaryDirectory(prefix="mao-land-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        await _git(repo, "read-tree", head, env=env)
        patch_file = Path(scratch) / "changes.patch"  # written by git: the bytes stay bytes
        await _git(
            repo, "diff", "--binary", "--full-index", f"--output={patch_file}", worktree.base, tip
        )
        applied = await arun_git(
            repo, ["apply", "--cached", "--3way", str(patch_file)], check=False, env=env
        )
        if applied.returncode != 0:
            clashes = re.findall(r"with conflicts|^error: (.*)$", applied.stderr, re.M)
            unmerged = await _git(repo, "diff", "--name-only", "--diff-filter=U", env=env)
            names = ", ".join(unmerged.split()) or "; ".join(c for c in clashes if c)
            raise WorktreeError(
                f"{worktree.branch} conflicts with your branch ({names or 'see git apply'}): "
                f"nothing was landed; merge {worktree.branch} yourself to resolve it"
            )
        return await _git(repo, "write-tree", env=env)


async def _committer(repo: Path) -> dict[str, str]:
    """mao as the author; the user as committer when git knows them, else mao."""
    env = {k: v for k, v in MAO_IDENTITY.items() if k.startswith("GIT_AUTHOR")}
    known = await arun_git(repo, ["config", "user.email"], check=False)
    return env if known.stdout.strip() else dict(MAO_IDENTITY)


async def settled(worktree: Worktree) -> str:
    """Why the worktree has nothing left to land ("" when it has): its branch is already in
    the user's HEAD (merged by hand), its branch or its folder is gone. A branch with no commit
    yet is not settled: its session may still be running."""
    repo = Path(worktree.repo)
    tip = await arun_git(
        repo, ["rev-parse", "--verify", "-q", f"refs/heads/{worktree.branch}"], check=False
    )
    if tip.returncode != 0:
        return "its branch is gone"
    if not Path(worktree.path).is_dir():
        return "its folder is gone"
    if tip.stdout.strip() == worktree.base:
        return ""
    merged = await arun_git(
        repo, ["merge-base", "--is-ancestor", tip.stdout.strip(), "HEAD"], check=False
    )
    return "landed: your branch holds its commit" if merged.returncode == 0 else ""


async def remove_worktree(worktree: Worktree, *, keep_branch: bool = False) -> None:
    """Remove the worktree's folder, its branch (unless ``keep_branch``) and its record; what
    is already gone is fine."""
    repo = Path(worktree.repo)
    if Path(worktree.path).exists():
        await arun_git(repo, ["worktree", "remove", "--force", worktree.path], check=False)
        if Path(worktree.path).exists():
            shutil.rmtree(worktree.path, ignore_errors=True)
    await arun_git(repo, ["worktree", "prune"], check=False)
    if not keep_branch:
        await arun_git(repo, ["branch", "-D", "-q", worktree.branch], check=False)
    worktree.record.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the repository's folder, once it holds nothing more
        worktree.record.parent.rmdir()
