"""The ensemble ledger (issue 19), on the simulator with the real SDKs: in a git repository each
candidate (and the baseline) verifies in its own detached worktree, leaving the user's branch,
index and files as they were and no worktree behind; a `develop --candidates 3 --apply` ledger
names the selected candidate, why, each candidate's verification delta and where every applied
file came from (in --json, the store, `mao sessions show` and the export); the plan's estimate
counts every candidate of a race."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import develop_argv, rows
from fixtures.git_repo import committed_repo, git

from mao_tui.cli import main
from mao_tui.domain.candidate_events import CandidateCheck
from mao_tui.engine.files import FileBlock, manifest_block
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend
from mao_tui.service.race import WorkspaceCopies
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.simulator.scripts import project_files


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = str(Path(sys.executable).parent)  # the shipped check runs `python -m pytest`
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    files = {"README.md": "# project\n", "notes.txt": "committed\n"}
    return committed_repo(tmp_path / "repo", files)


def _state(root: Path) -> tuple[str, str, str, str, bytes]:
    """The user's branch, HEAD, status, worktrees, and the index file's bytes."""
    return (
        git(root, "branch", "--list"),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain", "--untracked-files=all"),
        git(root, "worktree", "list", "--porcelain"),
        (root / ".git" / "index").read_bytes(),
    )


def _verify(copies: WorkspaceCopies) -> tuple[CandidateCheck, CandidateCheck, CandidateCheck]:
    passing = manifest_block([FileBlock("tests/test_ok.py", "def test_ok() -> None:\n    pass\n")])
    failing = manifest_block([FileBlock("tests/test_ok.py", "def test_ok() -> None:\n    1 / 0\n")])

    async def run() -> tuple[CandidateCheck, CandidateCheck, CandidateCheck]:
        baseline = await copies.baseline()
        good, bad = await asyncio.gather(
            copies.verify("Here:\n\n" + passing, "w-1", baseline),
            copies.verify("Here:\n\n" + failing, "w-2", baseline),
        )
        return baseline, good, bad

    return asyncio.run(run())


@pytest.mark.parametrize("with_uncommitted", [False, True])
def test_candidates_verify_in_detached_worktrees_and_leave_the_repository_alone(
    repo: Path, with_uncommitted: bool
) -> None:
    (repo / "notes.txt").write_text("changed, not committed\n")  # the user's own work
    git(repo, "add", "notes.txt")  # staged: the index holds it
    (repo / "draft.txt").write_text("untracked\n")
    before = _state(repo)
    settings = load_settings([shipped_config_dir()])
    copies = WorkspaceCopies(
        settings, "develop", lambda: repo, "01TESTSESSION", with_uncommitted=with_uncommitted
    )
    baseline, good, bad = _verify(copies)

    assert baseline.failed == ["tests"] and baseline.worktree  # no tests before
    assert good.passed == ["tests"] and good.newly_passing == ["tests"] and good.worktree
    assert bad.failed == ["tests"] and bad.new_failures == [] and bad.newly_passing == []
    folders = {Path(c.folder) for c in (baseline, good, bad)}
    assert len(folders) == 3
    listed = git(repo, "worktree", "list", "--porcelain")
    for folder in folders:
        assert (folder / ".git").is_file()  # a linked worktree, not a copy
        assert f"worktree {folder}\n" in listed and not folder.is_relative_to(repo)
    assert listed.count("detached") == 3  # no branch made for them
    expected = "changed, not committed\n" if with_uncommitted else "committed\n"
    assert (Path(good.folder) / "notes.txt").read_text() == expected
    assert (Path(good.folder) / "draft.txt").exists() is with_uncommitted
    assert _state(repo)[:3] == before[:3] and _state(repo)[4] == before[4]

    copies.close()
    assert _state(repo) == before  # the worktrees are gone, git's record of them too
    assert not any(folder.exists() for folder in folders)
    assert not (repo / ".git" / "worktrees").exists() or not any(
        (repo / ".git" / "worktrees").iterdir()
    )


def _events(text: str, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [e for e in found if e["type"] == kind]


def test_a_raced_develop_in_a_git_repository_keeps_a_ledger_of_where_the_files_came_from(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(repo)
    db = tmp_path / "m.db"
    before = _state(repo)
    argv = develop_argv("--candidates", "3", "--apply", "--yes", "--json", "--db", str(db))
    assert main(argv) == 0
    out = capsys.readouterr().out

    verified = [e["candidate"] for e in _events(out, "candidate_verified")]
    assert len(verified) == 3 and all(c["check"]["worktree"] for c in verified)
    [selected] = _events(out, "candidate_selected")
    assert selected["model"] == "sonnet-5.5"
    assert selected["reason"].startswith("verification: 1 passed, 0 failed")
    assert selected["baseline_failed"] == ["tests"]
    deltas = {c["model"]: c["check"]["newly_passing"] for c in selected["candidates"]}
    assert deltas == {"sonnet-5.5": ["tests"], "gpt-6.2-sol": ["tests"], "opus-5.5": []}

    stages = [e["stage"] for e in _events(out, "ledger_provenance")]
    assert stages == ["synthesis", "applied"]
    applied = _events(out, "ledger_provenance")[-1]
    assert sorted(f["path"] for f in applied["files"]) == sorted(project_files(False))
    for f in applied["files"]:  # the synthesis carried the selected candidate's files
        source = f["source"]
        assert (source["how"], source["workstream"], source["number"]) == (
            "exact",
            "implementation",
            1,
        ), f["path"]
        assert source["model"] == "sonnet-5.5" and 2 in source["also"]
        assert 3 not in source["also"] or f["path"] != "snippets/search.py"  # opus's bug

    # the race's worktrees are gone; the user's checkout is as it was (the session's own
    # worktree on mao/<id> holds the applied files until `mao land`)
    after = _state(repo)
    assert after[1:3] == before[1:3] and after[4] == before[4]
    assert git(repo, "worktree", "list", "--porcelain").count("detached") == 0

    stored = rows(db, "SELECT path, how, number, model FROM ledger_files WHERE hunk = 0")
    assert sorted(stored) == sorted((p, "exact", 1, "sonnet-5.5") for p in project_files(False))
    session = _events(out, "session_started")[0]["session_id"]
    assert main(["sessions", "--db", str(db), "show", session[:12]]) == 0
    shown = capsys.readouterr().out
    assert "- selected: #1 sonnet-5.5 — verification: 1 passed, 0 failed" in shown
    assert "+1 passing (tests), 0 new failures (none)" in shown
    assert f"### Where the {len(project_files(False))} file(s) applied came from" in shown
    assert "| `snippets/storage.py` | whole file | implementation #1 sonnet-5.5" in shown
    assert "| worktree " in shown
    launch = Launch(project_dir=tmp_path, config_dir=None, db_path=db)
    markdown = asyncio.run(AppBackend(launch).export(session, "markdown", tmp_path / "s.md"))
    text = markdown.read_text()  # the dashboard's export (e)
    assert "## Candidate races" in text and "applied came from" in text
    dumped = asyncio.run(AppBackend(launch).export(session, "json", tmp_path / "s.json"))
    data = json.loads(dumped.read_text())
    assert data["races"][0]["model"] == "sonnet-5.5"
    assert data["provenance"]["stage"] == "applied"


def _estimate(out: str) -> dict[str, Any]:
    [estimate] = _events(out, "cost_estimate")
    [row] = [r for r in estimate["rows"] if r["workstream"] == "implementation"]
    return {"row": row, "total": estimate["total_usd"]}


def test_the_estimate_counts_every_candidate_of_a_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the race verifies in copies of this (empty) folder
    argv = develop_argv("--json", "--db", str(tmp_path / "one.db"))
    assert main(argv) == 0
    single = _estimate(capsys.readouterr().out)
    argv = develop_argv("--candidates", "3", "--json", "--db", str(tmp_path / "three.db"))
    assert main(argv) == 0
    raced = _estimate(capsys.readouterr().out)

    models = ["sonnet-5.5", "gpt-6.2-sol", "opus-5.5"]
    assert raced["row"]["candidates"] == models and single["row"]["candidates"] == []
    settings = load_settings([shipped_config_dir()])
    most = sum(settings.model(m).max_output_tokens for m in models)
    assert raced["row"]["output_tokens"] == most  # no history: each at its max output
    assert single["row"]["output_tokens"] == settings.model("sonnet-5.5").max_output_tokens
    assert raced["row"]["cost_usd"] > single["row"]["cost_usd"]
    assert raced["total"] - single["total"] == pytest.approx(
        raced["row"]["cost_usd"] - single["row"]["cost_usd"], rel=0.05
    )
