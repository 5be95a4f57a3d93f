"""`develop --apply` in a git repository leaves the checkout as it was and commits on mao/ID in a
worktree; `mao land ID` brings that commit onto the checked-out branch; `mao clean` removes
worktrees. `mao demo` does the same on a fresh copy of its sample repository."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.git_repo import committed_repo, git

from mao_tui.cli import main
from mao_tui.simulator.scripts import project_files


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = str(Path(sys.executable).parent)  # the shipped check runs `python -m pytest`
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    root = committed_repo(tmp_path / "repo", {"README.md": "# project\n"})
    monkeypatch.chdir(root)
    return root


def _session_id(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        ((session_id,),) = conn.execute("SELECT id FROM sessions").fetchall()
    return str(session_id)


def test_apply_in_a_worktree_then_land(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "mao.db"
    argv = [
        "develop",
        "Build the snippet store",
        "--simulate",
        "--speed",
        "inf",
        "--no-planner",
        "--apply",
        "--yes",
        "--db",
        str(db),
    ]  # fmt: skip (the worktree is the default)
    head = git(repo, "rev-parse", "HEAD")
    assert main(argv) == 0
    err = capsys.readouterr().err
    session = _session_id(db)
    branch = f"mao/{session[:8].lower()}"
    assert "mao: applied; verification passed" in err
    assert f"on {branch} (worktree " in err and f"`mao land {session[:10]}`" in err
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""
    assert sorted(p.name for p in repo.iterdir()) == [".git", "README.md"]
    assert git(repo, "log", "--format=%s", f"main..{branch}").startswith("mao: Build the snippet")
    assert main(["sessions", "show", session[:8], "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert f", branch {branch} (`mao land {session[:10]}`)" in shown
    monkeypatch.chdir(tmp_path)  # landing from elsewhere: the record names its repository
    assert main(["land", session[:6]]) == 0
    monkeypatch.chdir(repo)
    out = capsys.readouterr().out
    assert out.startswith("landed ") and f"from {branch}" in out
    assert git(repo, "rev-list", "--count", "HEAD") == "2\n"
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py")) == sorted(
        project_files(False)
    )
    tracked = git(repo, "ls-files").split()  # what the session wrote, not pytest's caches
    assert sorted(tracked) == sorted(["README.md", *project_files(False)])
    assert git(repo, "branch", "--list", "mao/*") == ""
    assert main(["land", session[:6]]) == 2  # landed and removed: nothing left to land
    assert "no session worktree" in capsys.readouterr().err


def test_with_uncommitted_the_worktree_starts_from_them_and_they_stay_yours(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "README.md").write_text("# project, edited\n")
    (repo / "notes.txt").write_text("untracked\n")
    db = tmp_path / "mao.db"
    argv = ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--with-uncommitted", "--db", str(db)]  # fmt: skip
    assert main(argv) == 0
    assert git(repo, "status", "--porcelain") == " M README.md\n?? notes.txt\n"
    session = _session_id(db)
    branch = f"mao/{session[:8].lower()}"
    assert git(repo, "show", f"{branch}~1:README.md") == "# project, edited\n"  # the snapshot
    assert git(repo, "show", f"{branch}~1:notes.txt") == "untracked\n"
    capsys.readouterr()
    assert main(["land", session[:8]]) == 0
    assert git(repo, "show", "HEAD:README.md") == "# project\n"  # yours stay uncommitted
    assert git(repo, "status", "--porcelain") == " M README.md\n?? notes.txt\n"
    assert (repo / "snippets" / "search.py").is_file()


def test_worktree_options_are_checked(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", str(tmp_path / "mao.db")]
    assert main(["develop", "x", "--simulate", "--worktree", *db]) == 2
    assert "--worktree goes with --apply" in capsys.readouterr().err
    assert main(["develop", "x", "--simulate", "--in-place", *db]) == 2
    assert "--in-place goes with --apply" in capsys.readouterr().err
    assert main(["develop", "x", "--simulate", "--with-uncommitted", *db]) == 2
    assert "--with-uncommitted goes with --apply" in capsys.readouterr().err
    apply = ["develop", "x", "--simulate", "--apply", "--yes", *db]
    assert main([*apply, "--in-place", "--worktree"]) == 2
    assert "--in-place writes into the workspace itself; --worktree does not" in (
        capsys.readouterr().err
    )
    empty, plain = tmp_path / "empty", tmp_path / "plain"
    empty.mkdir()
    plain.mkdir()
    git(empty, "init", "-q")
    assert main([*apply, "--workspace", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "has no commit yet" in err and "or pass --in-place" in err
    assert main([*apply, "--worktree", "--workspace", str(plain)]) == 2
    assert "is not inside a git repository" in capsys.readouterr().err
    assert not (tmp_path / "mao.db").exists()  # every one refused before a session started


def test_clean_lists_then_removes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from mao_tui.repo.worktree import create_worktree

    first = asyncio.run(create_worktree(repo, "aaaa1111"))
    asyncio.run(create_worktree(repo, "bbbb2222"))
    assert main(["clean"]) == 0
    listing = capsys.readouterr().out
    assert "mao/aaaa1111" in listing and "mao/bbbb2222" in listing
    assert main(["clean", "aaaa"]) == 0
    assert not Path(first.path).exists()
    assert main(["clean", "--all"]) == 0
    assert "removed mao/bbbb2222" in capsys.readouterr().out
    assert git(repo, "branch", "--list", "mao/*") == ""
    assert main(["clean", "--workspace", str(tmp_path / "nowhere")]) == 2


def test_demo_on_the_sample_repository_leaves_it_as_it_was_until_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.chdir(tmp_path)
    ws, db = tmp_path / "sample", tmp_path / "mao.db"
    argv = [
        "demo",
        "--headless",
        "--apply",
        "--yes",
        "--workspace",
        str(ws),
        "--speed",
        "inf",
        "--db",
        str(db),
    ]  # fmt: skip (no --repo: the sample is the default)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"mao: the sample repository is in {ws}" in err
    assert "+ invoices/export.py" in err and "4 passed" in err
    assert git(ws, "status", "--porcelain") == "" and not (ws / "invoices" / "export.py").exists()
    assert git(ws, "branch", "--show-current") == "main\n"
    assert git(ws, "rev-list", "--count", "main") == "1\n"
    session = _session_id(db)
    branch = f"mao/{session[:8].lower()}"
    assert git(ws, "rev-list", "--count", f"main..{branch}") == "1\n"
    changed = git(ws, "diff", "--name-status", "main", branch).split("\n")
    assert changed[:3] == ["M\tREADME.md", "M\tinvoices/__init__.py", "A\tinvoices/export.py"]
    assert main(["land", session, "--workspace", str(ws)]) == 0
    assert (ws / "invoices" / "export.py").exists() and git(ws, "status", "--porcelain") == ""
    assert git(ws, "rev-list", "--count", "main") == "2\n"
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ws, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout
    again = [*argv[:1], "--repo", *argv[1:-2], "--db", str(tmp_path / "other.db")]
    assert main(again) == 2  # --repo is still accepted (the default); DIR is not empty now
    assert "give an empty or missing folder" in capsys.readouterr().err


def test_a_workspace_below_the_top_is_the_same_folder_in_the_worktree(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = repo / "services" / "api"
    sub.mkdir(parents=True)
    (sub / "README.md").write_text("# api\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "api")
    db = tmp_path / "mao.db"
    argv = ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--workspace", str(sub), "--db", str(db)]  # fmt: skip
    assert main(argv) == 0
    assert git(repo, "status", "--porcelain") == ""
    session = _session_id(db)
    assert main(["land", session[:8]]) == 0
    landed = sorted(p.relative_to(sub).as_posix() for p in sub.rglob("*.py"))
    assert landed == sorted(project_files(False)) and not (repo / "snippets").exists()
