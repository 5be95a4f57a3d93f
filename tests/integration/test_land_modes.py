"""`mao land` and `mao clean` on real temporary repositories and folders: refusing (exit 1, the
user's tree untouched) when uncommitted changes of theirs touch the session's files; --merge and
--leave; clean removing what was landed by hand; and outside git, a temporary copy that nothing
of the user's sees until `mao land` copies the files back."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from fixtures.git_repo import committed_repo, git

from mao_tui.cli import main
from mao_tui.repo.workspace_copy import commit_copy, create_copy, session_copy
from mao_tui.repo.worktree import Worktree, commit_changes, create_worktree, session_worktree
from mao_tui.simulator.scripts import project_files

SESSION = "abcd1234-5678"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {"app.py": "def handler():\n    return 1\n", "notes.txt": "mine\n"}
    root = committed_repo(tmp_path / "repo", files)
    monkeypatch.chdir(root)
    return root


def _session_worktree(repo: Path) -> Worktree:
    """What `develop --apply` leaves: a worktree on mao/abcd1234 with one commit."""
    worktree = asyncio.run(create_worktree(repo, SESSION))
    (Path(worktree.path) / "app.py").write_text("def handler():\n    return 2\n")
    assert asyncio.run(commit_changes(worktree, "mao: return 2"))
    return worktree


def _state(root: Path) -> tuple[str, str, bytes, dict[str, str]]:
    files = {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
    index = (root / ".git" / "index").read_bytes()
    return git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain"), index, files


@pytest.mark.parametrize("staged", [False, True], ids=["unstaged", "staged"])
def test_land_refuses_when_your_uncommitted_changes_touch_its_files(
    repo: Path, capsys: pytest.CaptureFixture[str], staged: bool
) -> None:
    _session_worktree(repo)
    (repo / "app.py").write_text("def handler():\n    return 'my work'\n")
    if staged:
        git(repo, "add", "app.py")
    before = _state(repo)
    assert main(["land", "abcd"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "mao: not landed: your uncommitted changes touch app.py, which mao/abcd1234 changes: "
        "commit or stash them, then land again\n"
    )
    assert _state(repo) == before  # not a byte of the user's work moved
    assert session_worktree(SESSION) is not None  # still there to land later
    git(repo, "reset", "-q", "--hard")  # the user commits or drops theirs: now it lands
    assert main(["land", "abcd"]) == 0
    assert (repo / "app.py").read_text() == "def handler():\n    return 2\n"


def test_land_keeps_your_other_uncommitted_changes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _session_worktree(repo)
    (repo / "notes.txt").write_text("mine, edited\n")
    (repo / "draft.md").write_text("untracked\n")
    assert main(["land", "abcd"]) == 0
    assert capsys.readouterr().out.startswith("landed ")
    assert (repo / "notes.txt").read_text() == "mine, edited\n"
    assert (repo / "draft.md").read_text() == "untracked\n"
    assert git(repo, "status", "--porcelain") == " M notes.txt\n?? draft.md\n"
    assert git(repo, "log", "-1", "--format=%s%n%P").split("\n")[0] == "mao: return 2"


def test_land_merge_makes_a_merge_commit(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worktree = _session_worktree(repo)
    tip = git(repo, "rev-parse", worktree.branch).strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    assert main(["land", "abcd", "--merge"]) == 0
    assert capsys.readouterr().out.startswith("merged ")
    assert git(repo, "log", "-1", "--format=%P").split() == [head, tip]
    assert git(repo, "log", "-1", "--format=%s") == "Merge branch 'mao/abcd1234'\n"
    assert git(repo, "status", "--porcelain") == "" and "return 2" in (repo / "app.py").read_text()


def test_land_leave_keeps_the_branch_for_you_to_merge(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree = _session_worktree(repo)
    before = _state(repo)
    assert main(["land", "abcd", "--leave"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("left mao/abcd1234 at ") and "`git merge mao/abcd1234`" in out
    assert _state(repo) == before
    assert not Path(worktree.path).exists() and session_worktree(SESSION) is None
    assert git(repo, "branch", "--list", "mao/*").strip() == "mao/abcd1234"
    git(repo, "merge", "-q", "mao/abcd1234")
    assert "return 2" in (repo / "app.py").read_text()


def test_clean_removes_what_was_landed_by_hand_and_lists_the_rest(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worktree = _session_worktree(repo)
    pending = asyncio.run(create_worktree(repo, "ffff0000"))
    git(repo, "merge", "-q", "--ff-only", worktree.branch)  # the user merged it themselves
    assert main(["clean"]) == 0
    out = capsys.readouterr().out
    assert "removed mao/abcd1234 and " in out and "(landed: your branch holds its commit)" in out
    assert f"mao/ffff0000  {pending.path}" in out
    assert not Path(worktree.path).exists() and Path(pending.path).exists()
    assert git(repo, "branch", "--format=%(refname:short)", "--list", "mao/*") == "mao/ffff0000\n"


def test_outside_git_a_copy_lands_its_files_back_and_refuses_over_your_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "app.py").write_text("x = 1\n")
    (folder / "keep.txt").write_text("untouched\n")
    copy = asyncio.run(create_copy(folder, SESSION))
    (Path(copy.path) / "app.py").write_text("x = 2\n")
    (Path(copy.path) / "new.py").write_text("y = 1\n")
    commit_copy(copy, ["app.py", "new.py"])
    monkeypatch.chdir(tmp_path)
    (folder / "new.py").write_text("mine\n")  # the user made the same file meanwhile
    assert main(["land", "abcd"]) == 1
    assert capsys.readouterr().err.startswith(
        "mao: not landed: new.py changed in " + str(folder.resolve())
    )
    assert (folder / "app.py").read_text() == "x = 1\n" and (
        folder / "new.py"
    ).read_text() == "mine\n"
    (folder / "new.py").unlink()
    assert main(["land", "abcd", "--workspace", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("landed 2 file(s) into ")
    assert (folder / "app.py").read_text() == "x = 2\n" and (
        folder / "new.py"
    ).read_text() == "y = 1\n"
    assert (folder / "keep.txt").read_text() == "untouched\n"
    assert not Path(copy.path).exists() and session_copy(SESSION) is None


def test_develop_apply_outside_git_works_in_a_copy_until_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = str(Path(sys.executable).parent)  # the shipped check runs `python -m pytest`
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "README.md").write_text("# mine\n")
    monkeypatch.chdir(folder)
    db = tmp_path / "mao.db"
    argv = ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--db", str(db)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "mao: applied; verification passed; 5 file(s) in the temporary copy " in err
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]  # nothing of yours touched
    with sqlite3.connect(db) as conn:
        ((session,),) = conn.execute("SELECT id FROM sessions").fetchall()
    assert f"`mao land {session[:10]}` copies them into {folder.resolve()}" in err
    assert main(["sessions", "show", session[:8], "--db", str(db)]) == 0
    assert "- temporary copy: " in capsys.readouterr().out
    assert main(["land", session[:8]]) == 0
    landed = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py"))
    assert landed == sorted(project_files(False))
    assert not (folder / ".mao").exists()  # the backups and the test caches stayed in the copy
    assert not list(folder.rglob("__pycache__"))


def test_the_commit_holds_what_the_session_wrote_not_caches_nor_ignored_files(repo: Path) -> None:
    from mao_tui.service.isolation import Isolated, settle

    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ignore logs")
    worktree = asyncio.run(create_worktree(repo, SESSION))
    where = Path(worktree.path)
    (where / "app.py").write_text("def handler():\n    return 3\n")
    (where / "debug.log").write_text("written by the model\n")
    (where / "__pycache__").mkdir()
    (where / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0cache")
    ok, tail = asyncio.run(
        settle(Isolated(where, worktree), SESSION, "t", "done", ["app.py", "debug.log"])
    )
    assert ok and "not committed, as .gitignore excludes them: debug.log" in tail
    assert git(repo, "show", "--name-only", "--format=", worktree.branch) == "app.py\n"


def test_an_apply_interrupted_before_writing_leaves_no_worktree(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mao_tui.service import apply_run

    def interrupted(err: object) -> object:
        async def confirm(proposal: object) -> bool:
            raise KeyboardInterrupt  # Ctrl+C while the files are shown

        return confirm

    monkeypatch.setattr(apply_run, "auto_confirm", interrupted)
    argv = ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--db", str(tmp_path / "mao.db")]  # fmt: skip
    assert main(argv) == 130
    assert git(repo, "branch", "--format=%(refname:short)", "--list", "mao/*") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
