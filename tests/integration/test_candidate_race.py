"""Candidate races end to end (issue 19's first Done-when): `mao develop --simulate --candidates 3
--apply --yes` runs the implementation workstream on three models at once, verifies each answer
in its own temporary copy of the workspace (never the workspace), selects by verification, and
the ensemble ledger (in --json, the store and `mao sessions show`) names the selected one and why.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import develop_argv, put_python_on_path, rows

from mao_tui.cli import main
from mao_tui.domain.candidate_events import CandidateCheck
from mao_tui.simulator.candidates import broken_for
from mao_tui.simulator.scripts import project_files


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_python_on_path(monkeypatch)


def _events(text: str, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [e for e in found if e["type"] == kind]


def test_three_candidates_each_verified_in_its_own_copy_selected_by_verification(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python_on_path: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    workspace, db = tmp_path / "ws", tmp_path / "m.db"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    argv = develop_argv("--candidates", "3", "--apply", "--yes", "--json", "--db", str(db))
    assert main(argv) == 0
    out = capsys.readouterr().out

    started = _events(out, "candidate_started")
    models = [e["model"] for e in started]
    assert models == ["sonnet-5.5", "gpt-6.2-sol", "opus-5.5"]  # the implementation chain
    assert {e["workstream"] for e in started} == {"implementation"}

    events = _events(out, "candidate_verified")
    assert sorted((e["passed"], e["failed"]) for e in events) == [(0, 1), (1, 0), (1, 0)]
    verified = {e["candidate"]["model"]: e["candidate"] for e in events}
    folders = [Path(c["check"]["folder"]) for c in verified.values()]
    assert len(set(folders)) == 3
    for folder in folders:  # each its own copy, under the temporary root, none in the workspace
        assert folder.is_relative_to(temp_root) and not folder.is_relative_to(workspace)
    assert not list(temp_root.glob("mao-race-*/*"))  # removed after the session
    for model, candidate in verified.items():
        check = candidate["check"]
        assert check["verified"] and check["files"] == len(project_files(False))
        expected = (["tests"], []) if broken_for(api_name(model)) else ([], ["tests"])
        assert (check["failed"], check["passed"]) == expected, model
    failing = [m for m, c in verified.items() if c["check"]["failed"]]
    passing = [m for m, c in verified.items() if not c["check"]["failed"]]
    assert failing and passing

    [selected] = _events(out, "candidate_selected")
    assert selected["model"] in passing
    assert selected["reason"].startswith("verification: 1 passed, 0 failed")
    assert [c["model"] for c in selected["candidates"]] == models
    assert selected["cheapest_passing_model"] in passing
    assert selected["baseline_failed"] == ["tests"]  # an empty workspace has no tests to pass
    [finished] = [
        e for e in _events(out, "workstream_finished") if e["workstream"] == "implementation"
    ]
    assert finished["model"] == selected["model"]
    # the workspace got the synthesis's files only, and they passed
    assert _events(out, "verification_done")[-1]["passed"] is True

    stored = rows(db, "SELECT model, reason, cheapest_passing_model FROM candidate_races")
    assert stored == [(selected["model"], selected["reason"], selected["cheapest_passing_model"])]
    assert rows(db, "SELECT model FROM candidates ORDER BY number") == [(m,) for m in models]

    session = _events(out, "session_started")[0]["session_id"]
    assert main(["sessions", "--db", str(db), "show", session[:12]]) == 0
    shown = capsys.readouterr().out
    assert "## Candidate races" in shown
    assert f"- selected: #{selected['number']} {selected['model']} — verification:" in shown
    for model in models:
        assert f"#### Candidate #{models.index(model) + 1}: {model}" in shown


def api_name(model: str) -> str:
    """The API model name the simulator sees for a registry id (config/models.yaml)."""
    return {
        "sonnet-5.5": "claude-sonnet-5-5",
        "opus-5.5": "claude-opus-5-5",
        "gpt-6.2-sol": "gpt-6.2-sol",
    }[model]


def test_unknown_candidates_key_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = develop_argv("--candidates", "nope=2", "--headless", "--db", str(tmp_path / "m.db"))
    assert main(argv) == 2
    assert "has no workstream 'nope'" in capsys.readouterr().err


def test_workspace_copies_verify_apart_from_the_workspace_and_go_away(
    tmp_path: Path, python_on_path: None
) -> None:
    import asyncio

    from mao_tui.engine.files import FileBlock, manifest_block
    from mao_tui.service.race import WorkspaceCopies
    from mao_tui.settings.loader import load_settings, shipped_config_dir

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "keep.txt").write_text("mine\n")
    settings = load_settings([shipped_config_dir()])
    copies = WorkspaceCopies(settings, "develop", lambda: workspace, "01TESTSESSION")
    passing = manifest_block([FileBlock("tests/test_ok.py", "def test_ok() -> None:\n    pass\n")])

    async def run() -> tuple[CandidateCheck, CandidateCheck, CandidateCheck]:
        baseline = await copies.baseline()
        good = await copies.verify("Here:\n\n" + passing, "w-1", baseline)
        none = await copies.verify("No files in this answer.", "w-2", baseline)
        return baseline, good, none

    baseline, good, none = asyncio.run(run())
    assert baseline.failed == ["tests"]  # no tests before
    assert good.passed == ["tests"] and good.files == 1
    assert Path(good.folder, "keep.txt").read_text() == "mine\n"
    assert not none.verified and none.detail
    assert sorted(p.name for p in workspace.iterdir()) == ["keep.txt"]  # untouched
    root = Path(good.folder).parent
    copies.close()
    assert not root.exists()
