"""A session's git worktree, on real temporary repositories: the user's tree and index stay
untouched until land, and land refuses rather than damage anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.git_repo import git

from mao_tui.repo.worktree import (
    Worktree,
    WorktreeError,
    changed_files,
    commit_changes,
    create_worktree,
    land,
    list_worktrees,
    load_worktree,
    remove_worktree,
)

SESSION = "0193ab-cdef-4711"


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "user-repo"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "User")
    git(root, "config", "user.email", "user@example.com")
    (root / "app.py").write_text("def handler():\n    return 1\n")
    (root / "other.py").write_text("x = 1\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def _state(root: Path) -> tuple[str, str, bytes, dict[str, str]]:
    """What the user sees: HEAD, status, the index's bytes and every file's text."""
    files = {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
    index = (root / ".git" / "index").read_bytes()
    return git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain"), index, files


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return _repo(tmp_path)


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    return tmp_path / "data" / "worktrees"


async def test_a_worktree_is_a_new_branch_outside_the_repository(repo: Path, parent: Path) -> None:
    before = _state(repo)
    wt = await create_worktree(repo, SESSION, parent=parent)
    assert wt.branch == "mao/0193abcd"
    assert Path(wt.path).is_relative_to(parent) and not Path(wt.path).is_relative_to(repo)
    assert (Path(wt.path) / "app.py").read_text() == "def handler():\n    return 1\n"
    assert git(repo, "rev-parse", "mao/0193abcd") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert load_worktree(repo, SESSION, parent=parent) == wt
    assert load_worktree(repo, "0193A", parent=parent) == wt  # a prefix, any case
    assert load_worktree(repo, "ffff", parent=parent) is None
    other = await create_worktree(repo, "0193ffff", parent=parent)
    assert list_worktrees(repo, parent=parent) == [wt, other]
    with pytest.raises(WorktreeError, match="names several session worktrees"):
        load_worktree(repo, "0193", parent=parent)
    assert _state(repo) == before
    with pytest.raises(WorktreeError, match="exists already"):
        await create_worktree(repo, SESSION, parent=parent)


async def test_commit_then_land_brings_one_commit_onto_the_users_branch(
    repo: Path, parent: Path
) -> None:
    wt = await create_worktree(repo, SESSION, parent=parent)
    (Path(wt.path) / "app.py").write_text("def handler():\n    return 2\n")
    (Path(wt.path) / "new.py").write_text("y = 2\n")
    assert await commit_changes(wt, "mao: handler returns 2") != ""
    assert await commit_changes(wt, "nothing more") == ""
    assert await changed_files(wt) == ["app.py", "new.py"]
    before = _state(repo)
    assert _state(repo) == before  # committing in the worktree left the user's side alone
    landed = await land(wt)
    assert landed.files == ("app.py", "new.py")
    assert git(repo, "rev-parse", "HEAD").strip() == landed.commit
    assert git(repo, "log", "-1", "--format=%s|%an|%cn").strip() == (
        "mao: handler returns 2|mao|User"
    )
    assert (repo / "app.py").read_text() == "def handler():\n    return 2\n"
    assert (repo / "new.py").read_text() == "y = 2\n"
    assert git(repo, "status", "--porcelain") == ""
    await remove_worktree(wt)
    assert not Path(wt.path).exists() and not wt.record.exists()
    assert git(repo, "branch", "--list", "mao/*") == ""


async def test_uncommitted_changes_are_snapshotted_without_touching_the_users_index(
    repo: Path, parent: Path
) -> None:
    (repo / "other.py").write_text("x = 'edited'\n")
    git(repo, "add", "other.py")
    (repo / "app.py").write_text("def handler():\n    return 'wip'\n")  # unstaged
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "debug.log").write_text("ignored\n")
    before = _state(repo)
    wt = await create_worktree(repo, SESSION, include_uncommitted=True, parent=parent)
    assert _state(repo) == before
    assert wt.snapshot and wt.base != wt.head
    inside = Path(wt.path)
    assert (inside / "other.py").read_text() == "x = 'edited'\n"
    assert (inside / "app.py").read_text() == "def handler():\n    return 'wip'\n"
    assert (inside / "notes.txt").read_text() == "untracked\n"
    assert not (inside / "debug.log").exists()
    (inside / "new.py").write_text("z = 3\n")
    await commit_changes(wt, "mao: add new.py")
    assert await changed_files(wt) == ["new.py"]  # the snapshot is not mao's change
    landed = await land(wt)  # the user's dirty files are not ones mao touched
    assert landed.files == ("new.py",)
    assert (repo / "new.py").read_text() == "z = 3\n"
    assert (repo / "app.py").read_text() == "def handler():\n    return 'wip'\n"
    status = git(repo, "status", "--porcelain")
    assert "M  other.py" in status and " M app.py" in status  # staged and unstaged, as they were
    clean = await create_worktree(repo, "other-session", include_uncommitted=False, parent=parent)
    assert not clean.snapshot


async def test_land_refuses_when_the_users_changes_touch_the_same_file(
    repo: Path, parent: Path
) -> None:
    wt = await create_worktree(repo, SESSION, parent=parent)
    (Path(wt.path) / "app.py").write_text("def handler():\n    return 2\n")
    await commit_changes(wt, "mao: change")
    (repo / "app.py").write_text("def handler():\n    return 'mine'\n")
    before = _state(repo)
    with pytest.raises(WorktreeError, match=r"your uncommitted changes touch app\.py"):
        await land(wt)
    assert _state(repo) == before


async def test_land_refuses_on_conflict_and_leaves_the_tree_as_it_was(
    repo: Path, parent: Path
) -> None:
    wt = await create_worktree(repo, SESSION, parent=parent)
    (Path(wt.path) / "app.py").write_text("def handler():\n    return 2\n")
    await commit_changes(wt, "mao: change")
    (repo / "app.py").write_text("def handler():\n    return 3\n")
    git(repo, "commit", "-q", "-am", "the user's own change")
    before = _state(repo)
    with pytest.raises(WorktreeError, match=r"conflicts with your branch \(app\.py\)"):
        await land(wt)
    assert _state(repo) == before


async def test_land_applies_on_top_of_commits_made_since(repo: Path, parent: Path) -> None:
    wt = await create_worktree(repo, SESSION, parent=parent)
    (Path(wt.path) / "app.py").write_text("def handler():\n    return 2\n")
    await commit_changes(wt, "mao: change")
    (repo / "other.py").write_text("x = 5\n")
    git(repo, "commit", "-q", "-am", "meanwhile")
    landed = await land(wt)
    assert git(repo, "log", "--format=%s", "-3").split("\n")[:3] == [
        "mao: change",
        "meanwhile",
        "start",
    ]
    assert (repo / "other.py").read_text() == "x = 5\n" and landed.files == ("app.py",)


async def test_nothing_to_land_and_no_commit_are_clear_errors(
    tmp_path: Path, repo: Path, parent: Path
) -> None:
    wt = await create_worktree(repo, SESSION, parent=parent)
    with pytest.raises(WorktreeError, match="has no change to land"):
        await land(wt)
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(WorktreeError, match="has no commit yet"):
        await create_worktree(empty, SESSION, parent=parent)
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorktreeError, match="not a git repository"):
        await create_worktree(plain, SESSION, parent=parent)


async def test_the_callers_git_variables_do_not_redirect_git(
    repo: Path, parent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = _repo(tmp_path / "decoy")
    monkeypatch.setenv("GIT_DIR", str(decoy / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(decoy / ".git" / "index"))
    wt = await create_worktree(repo, SESSION, parent=parent)
    assert Path(wt.repo) == repo.resolve()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git(decoy, "branch", "--list", "mao/*") == ""


async def test_removing_a_worktree_whose_folder_is_gone_still_cleans_up(
    repo: Path, parent: Path
) -> None:
    import shutil

    wt = await create_worktree(repo, SESSION, parent=parent)
    shutil.rmtree(wt.path)
    await remove_worktree(wt)
    await remove_worktree(wt)  # twice is fine
    assert git(repo, "branch", "--list", "mao/*") == ""
    assert isinstance(await create_worktree(repo, SESSION, parent=parent), Worktree)
