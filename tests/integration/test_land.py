"""`develop --apply --worktree` leaves the checkout as it was and commits on mao/ID in a worktree;
`mao land ID` brings that commit onto the checked-out branch; `mao clean` removes worktrees."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mao_tui.cli import main
from mao_tui.simulator.scripts import project_files


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = str(Path(sys.executable).parent)  # the shipped check runs `python -m pytest`
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "User")
    git(root, "config", "user.email", "user@example.com")
    (root / "README.md").write_text("# project\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
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
    argv = ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--worktree", "--db", str(db)]  # fmt: skip
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
    assert git(repo, "branch", "--list", "mao/*") == ""
    assert main(["land", session[:6]]) == 2  # landed and removed: nothing left to land
    assert "no session worktree" in capsys.readouterr().err


def test_worktree_options_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["develop", "x", "--simulate", "--worktree"]) == 2
    assert "--worktree goes with --apply" in capsys.readouterr().err
    assert main(["develop", "x", "--simulate", "--apply", "--yes", "--with-uncommitted"]) == 2
    assert "--with-uncommitted goes with --worktree" in capsys.readouterr().err


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
    argv = ["demo", "--repo", "--headless", "--apply", "--yes", "--workspace", str(ws),
            "--speed", "inf", "--db", str(db)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"mao: the sample repository is in {ws}" in err
    assert "+ invoices/export.py" in err and "4 passed" in err
    assert git(ws, "status", "--porcelain") == "" and not (ws / "invoices" / "export.py").exists()
    session = _session_id(db)
    branch = f"mao/{session[:8].lower()}"
    assert git(ws, "rev-list", "--count", f"main..{branch}") == "1\n"
    assert main(["land", session, "--workspace", str(ws)]) == 0
    assert (ws / "invoices" / "export.py").exists() and git(ws, "status", "--porcelain") == ""
    assert git(ws, "rev-list", "--count", "main") == "2\n"
    assert main([*argv[:-2], "--db", str(tmp_path / "other.db")]) == 2  # not empty now
    assert "give an empty or missing one" in capsys.readouterr().err
