"""develop's files, end to end: the synthesis's manifest, applying it confined to the workspace
(through the Workbench the TUI and --apply use), verification with a real command, the fix loop
and its bound, and headless --apply on the simulator (`a` / `F` in the dashboard:
test_apply_fix_tui.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.apply_fix import (
    PYTEST,
    develop_argv,
    git_repo,
    put_python_on_path,
    rows,
    workbench_over,
)

from mao_tui.cli import main
from mao_tui.domain import (
    EngineEvent,
    FilesApplied,
    VerificationFinished,
    VerificationOutput,
)
from mao_tui.domain.errors import ControlError
from mao_tui.engine.files import FileBlock, manifest_block, synthesis_files
from mao_tui.settings.loader import ConfigError, config_layers, load_settings
from mao_tui.settings.schema import VerificationCommand
from mao_tui.simulator.scripts import BUG, project_files, script_for
from mao_tui.store import Store
from mao_tui.store.replay import events_from_detail


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_python_on_path(monkeypatch)


# -- the manifest -------------------------------------------------------------------------


def test_the_manifest_is_read_validated_and_fenced_code_is_the_fallback() -> None:
    files = [FileBlock("pkg/a.py", "a = 1\n"), FileBlock("README.md", "```\nnested fence\n```\n")]
    found = synthesis_files("Merged.\n\n" + manifest_block(files) + "\nReport.\n")
    assert (found.source, found.files, found.error) == ("manifest", files, "")

    fenced = synthesis_files("```python\n# pkg/b.py\nb = 2\n```\n")
    assert (fenced.source, [f.path for f in fenced.files]) == ("fenced", ["pkg/b.py"])

    bad_json = synthesis_files('text\n```json mao-files\n{"files": [\n```\n')
    assert bad_json.files == [] and "block at line 2 is not JSON" in bad_json.error
    twice = {"files": [{"path": "a.py", "content": ""}, {"path": "a.py", "content": "x"}]}
    dupes = synthesis_files(f"```json mao-files\n{json.dumps(twice)}\n```\n")
    assert "repeated: a.py" in dupes.error
    missing = synthesis_files('```json mao-files\n{"files": [{"path": "a.py"}]}\n```\n')
    assert "files.0.content: Field required" in missing.error
    assert synthesis_files("no code at all").source == "none"


def test_the_simulated_synthesis_carries_the_project_and_the_scripted_bug() -> None:
    good = synthesis_files(script_for("synthesis", "").answer)
    assert {f.path: f.content for f in good.files} == project_files(False)
    broken = synthesis_files(script_for("synthesis", "", failing_first=True).answer)
    search = {f.path: f.content for f in broken.files}[BUG[0]]
    assert BUG[2] in search and BUG[1] not in search
    after_fix = script_for("synthesis", "### Fix round 1 (by GPT-5.2)\n\n...", failing_first=True)
    assert {f.path: f.content for f in synthesis_files(after_fix.answer).files} == project_files(
        False
    )


# -- the Workbench over a session whose synthesis is given -------------------------------


async def test_confinement_through_the_real_apply_path(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    hostile = [
        FileBlock("/etc/mao-test", "x\n"),
        FileBlock("../outside/up.py", "x\n"),
        FileBlock("escape/evil.py", "x\n"),
        FileBlock(".git/hooks/pre-commit", "x\n"),
        FileBlock(".mao/verify.yaml", "develop: [{name: x, argv: [rm, -rf, /]}]\n"),
        FileBlock("ok/fine.py", "fine = True\n"),
    ]
    bench, events = workbench_over(root, manifest_block(hostile))
    proposal = bench.propose()
    reasons = {c.path: c.reason for c in proposal.changes if c.kind == "refused"}
    assert reasons == {
        "/etc/mao-test": "is absolute",
        "../outside/up.py": "climbs out with ..",
        "escape/evil.py": "leaves the workspace through a symlink",
        ".git/hooks/pre-commit": "is inside .git/",
        ".mao/verify.yaml": "is inside .mao/ (mao's own configuration)",
    }
    applied = await bench.apply(proposal)
    assert {f.path: f.status for f in applied.files} == {
        **{path: "refused" for path in reasons},
        "ok/fine.py": "written",
    }
    assert [e for e in events if isinstance(e, FilesApplied)] == [applied]
    assert list(outside.iterdir()) == []
    assert not (root / ".git" / "hooks").exists() and not (root / ".mao" / "verify.yaml").exists()
    assert (root / "ok" / "fine.py").read_text() == "fine = True\n"


async def test_backup_and_one_atomic_replace_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "keep.py").write_text("old = 1\n")
    os.chmod(root / "keep.py", 0o640)
    (root / "broken.py").write_text("before\n")
    files = [FileBlock("keep.py", "new = 2\n"), FileBlock("broken.py", "after\n")]
    bench, _ = workbench_over(root, manifest_block(files))
    proposal = bench.propose()
    assert [c.kind for c in proposal.changes] == ["modify", "modify"]
    assert "-old = 1\n+new = 2\n" in proposal.changes[0].diff

    real_replace = os.replace

    def replace(src: str, dst: str | Path) -> None:
        if str(dst).endswith("broken.py"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr("mao_tui.engine.apply.os.replace", replace)
    applied = await bench.apply(proposal)
    keep, broken = applied.files
    assert (keep.status, broken.status) == ("written", "failed")
    assert broken.reason == "No space left on device"
    assert (root / "keep.py").read_text() == "new = 2\n"
    assert (root / "keep.py").stat().st_mode & 0o777 == 0o640
    assert (root / "broken.py").read_text() == "before\n"  # untouched: never half-written
    assert keep.backup is not None and Path(keep.backup).read_text() == "old = 1\n"
    assert Path(keep.backup).is_relative_to(root / ".mao" / "backups")
    assert not [p for p in root.rglob("*.mao") if p.is_file()]  # no temporary file left
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)  # a real one, for git status
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert ".mao/backups" not in status  # the backups stay out of git
    with pytest.raises(ControlError, match="changed since they were shown"):
        await bench.apply(proposal)  # a proposal is applied once


async def test_verification_passes_and_fails_with_a_real_pytest(tmp_path: Path) -> None:
    good = [FileBlock(p, c) for p, c in project_files(False).items()]
    bench, events = workbench_over(git_repo(tmp_path / "good"), manifest_block(good), [PYTEST])
    await bench.apply(bench.propose())
    done = await bench.verify()
    assert done.passed and done.failed == []
    (finished,) = [e for e in events if isinstance(e, VerificationFinished)]
    assert finished.exit_code == 0 and "3 passed" in finished.output_tail
    streamed = [e.line for e in events if isinstance(e, VerificationOutput)]
    assert any("3 passed" in line for line in streamed)

    broken = [FileBlock(p, c) for p, c in project_files(True).items()]
    bench, events = workbench_over(
        git_repo(tmp_path / "bad"), manifest_block(broken), [PYTEST], rounds=0
    )
    await bench.apply(bench.propose())
    done = await bench.verify()
    assert (done.passed, done.failed, done.fix_rounds_left) == (False, ["tests"], 0)
    assert "still fails after 0 fix round(s)" in done.detail
    (finished,) = [e for e in events if isinstance(e, VerificationFinished)]
    assert finished.exit_code == 1 and "1 failed, 2 passed" in finished.output_tail
    with pytest.raises(ControlError, match="no fix rounds left"):
        await bench.fix()


async def test_a_missing_command_is_not_available_and_a_timeout_is_a_failure(
    tmp_path: Path,
) -> None:
    root = git_repo(tmp_path / "ws")
    commands = [
        VerificationCommand(name="missing", argv=["no-such-tool-xyz"]),
        VerificationCommand(
            name="slow",
            argv=[sys.executable, "-c", "import time; print('going', flush=True); time.sleep(60)"],
            timeout_s=1.0,
        ),
        VerificationCommand(
            name="env",
            argv=[sys.executable, "-c", "import os, sys; sys.exit(os.environ['MAO_T'] != '7')"],
            env={"MAO_T": "7"},
        ),
    ]
    bench, events = workbench_over(root, manifest_block([FileBlock("a.py", "a = 1\n")]), commands)
    await bench.apply(bench.propose())
    done = await bench.verify()
    assert done.failed == ["slow"] and done.unavailable == ["missing"]
    results = {e.name: e for e in events if isinstance(e, VerificationFinished)}
    assert results["missing"].outcome == "not available: 'no-such-tool-xyz' is not on PATH"
    assert not results["missing"].failed
    assert results["slow"].timed_out and results["slow"].outcome == "timed out"
    assert results["env"].passed


# -- configuration -----------------------------------------------------------------------


def test_a_project_verify_yaml_replaces_the_playbook_commands(tmp_path: Path) -> None:
    settings = load_settings(config_layers(tmp_path))
    assert [c.argv for c in settings.verification_for("develop")] == [
        ["python", "-m", "pytest", "-q"]
    ]
    (tmp_path / ".mao").mkdir()
    (tmp_path / ".mao" / "verify.yaml").write_text(
        "develop:\n  - {name: types, argv: [npx, tsc, --noEmit], timeout_s: 120}\n"
        "  - {name: build, argv: [npm, run, build], env: {CI: '1'}}\n"
    )
    settings = load_settings(config_layers(tmp_path))
    assert [(c.name, c.argv, c.env) for c in settings.verification_for("develop")] == [
        ("types", ["npx", "tsc", "--noEmit"], {}),
        ("build", ["npm", "run", "build"], {"CI": "1"}),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("develop:\n  - {name: t, argv: []}\n", ".mao/verify.yaml:2: develop.0.argv: List should"),
        (
            "develop:\n  - name: t\n    argv: [x]\n    timeout_s: -1\n",
            "verify.yaml:4: develop.0.timeout_s",
        ),
        (
            "develop:\n  - {name: t, argv: [x], shell: true}\n",
            "verify.yaml:2: develop.0.shell: unknown key",
        ),
        ("dvelop:\n  - {name: t, argv: [x]}\n", "verify.yaml:2: dvelop: unknown playbook 'dvelop'"),
    ],
)
def test_a_bad_verify_yaml_names_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".mao").mkdir()
    (tmp_path / ".mao" / "verify.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(config_layers(tmp_path))
    assert expected in str(error.value)


# -- headless --apply on the simulator ---------------------------------------------------


def test_apply_yes_writes_the_files_and_the_verification_passes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python_on_path: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    assert main([*develop_argv("--apply", "--yes", "--in-place"), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "✓ verify tests: passed" in err and "mao: applied; verification passed" in err
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py")) == sorted(
        project_files(False)
    )
    assert rows(db, "SELECT name, argv_json, exit_code FROM verifications") == [
        ("tests", '["python", "-m", "pytest", "-q"]', 0)
    ]
    assert rows(db, "SELECT count(*), min(status) FROM applied_files") == [(5, "written")]
    (tail,) = rows(db, "SELECT output_tail FROM verifications")[0]
    assert "3 passed" in tail


def test_failing_tests_get_a_fix_round_then_pass_json_events(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python_on_path: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    args = develop_argv("--apply", "--yes", "--in-place", "--json", "--sim-failing-tests")
    args += ["--fix-rounds", "2"]
    assert main([*args, "--db", str(db)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rounds = [(e["round"], e["passed"]) for e in events if e["type"] == "verification_done"]
    assert rounds == [(0, False), (1, True)]  # one fix round was enough; the bound was 2
    grown = [e for e in events if e["type"] == "plan"][-1]["plan"]
    assert [w["key"] for w in grown["workstreams"]][-1] == "fix1"
    fix_attempts = [
        e for e in events if e["type"] == "attempt_started" and e["workstream"] == "fix1"
    ]
    assert len(fix_attempts) == 1
    applied = [e for e in events if e["type"] == "files_applied"]
    changed = [(f["path"], f["change"]) for f in applied[1]["files"] if f["status"] == "written"]
    assert changed == [("snippets/search.py", "modify")]
    assert (repo / "snippets" / "search.py").read_text() == project_files(False)[BUG[0]]
    assert rows(db, "SELECT round, exit_code FROM verifications ORDER BY id") == [(0, 1), (1, 0)]
    assert rows(db, "SELECT key FROM workstreams WHERE key = 'fix1'") == [("fix1",)]
    # Review replays what was stored: every workspace event comes back, in the order it ran.
    workspace = {
        "files_applied",
        "verification_planned",
        "verification_finished",
        "verification_done",
    }
    live = [e["type"] for e in events if e["type"] in workspace]
    replayed = [e.type for e in asyncio.run(_replayed(db)) if e.type in workspace]
    assert replayed == live


async def _replayed(db: Path) -> list[EngineEvent]:
    async with await Store.open(db) as store:
        (summary,) = await store.list_sessions()
        detail = await store.get_session(summary.id)
    assert detail is not None
    return events_from_detail(detail)


def test_the_fix_loop_stops_after_n_rounds_with_a_clear_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / ".mao").mkdir()
    (repo / ".mao" / "verify.yaml").write_text(
        f"develop:\n  - {{name: always-red, argv: [{sys.executable}, -c, 'raise SystemExit(3)']}}\n"
    )
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    assert main([*develop_argv("--apply", "--yes", "--fix-rounds", "2"), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "mao: applied; verification failed (always-red) after 2 fix round(s) of 2" in err
    assert rows(db, "SELECT round, exit_code FROM verifications ORDER BY id") == [
        (0, 3),
        (1, 3),
        (2, 3),
    ]
    keys = [k for (k,) in rows(db, "SELECT key FROM workstreams ORDER BY position")]
    assert [k for k in keys if k.startswith("fix")] == ["fix1", "fix2"]
    assert rows(db, "SELECT detail FROM verification_rounds ORDER BY id")[-1] == (
        "verification still fails after 2 fix round(s); stopping",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--apply"], "there is no terminal to ask on; pass --yes"),
        (["--yes"], "--yes goes with --apply"),
        (["--apply", "--yes", "--workspace", "nowhere"], "--workspace nowhere: not a directory"),
    ],
)
def test_apply_options_are_checked_before_any_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*develop_argv(*extra), "--db", str(tmp_path / "mao.db")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "mao.db").exists()  # refused before a session started


def test_demo_applies_nothing_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--greenfield", "--headless", "--speed", "inf", "--no-planner"]
    args += ["--db", str(tmp_path / "m.db")]
    assert main(args) == 0
    assert not list(tmp_path.rglob("*.py")) and not (tmp_path / ".mao").exists()
    assert "verify" not in capsys.readouterr().err


def test_demo_apply_writes_into_a_fresh_temporary_workspace_not_the_checkout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python_on_path: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`mao demo --apply --yes` started in a checkout: the files go to a new temporary
    directory (named in the output), the checkout is untouched; --workspace still wins."""
    import tempfile

    checkout = git_repo(tmp_path / "checkout")
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    monkeypatch.chdir(checkout)
    args = ["demo", "--greenfield", "--headless", "--speed", "inf", "--no-planner", "--apply"]
    args += ["--yes"]
    assert main([*args, "--db", str(tmp_path / "m.db")]) == 0
    err = capsys.readouterr().err
    [workspace] = list(temp_root.glob("mao-demo-workspace-*"))
    assert f"in {workspace}" in err
    assert sorted(p.relative_to(workspace).as_posix() for p in workspace.rglob("*.py")) == sorted(
        project_files(False)
    )
    assert not list(checkout.rglob("*.py")) and not (checkout / ".mao").exists()
    chosen = git_repo(tmp_path / "chosen")
    chosen_argv = ["--workspace", str(chosen), "--in-place", "--db", str(tmp_path / "m.db")]
    assert main([*args, *chosen_argv]) == 0
    assert (chosen / "tests" / "test_snippets.py").exists()
    assert len(list(temp_root.glob("mao-demo-workspace-*"))) == 1


class _Terminal:
    """stdin as a terminal where the user types ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer


@pytest.mark.parametrize(("answer", "code"), [("n\n", 1), ("yes\n", 0)])
def test_apply_asks_on_a_terminal_and_no_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    python_on_path: None,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    code: int,
) -> None:
    repo = git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert main([*develop_argv("--apply", "--in-place"), "--db", str(tmp_path / "mao.db")]) == code
    err = capsys.readouterr().err
    assert "Write 5 file(s) into" in err and "+++ b/snippets/search.py" in err  # the diffs
    if code:
        assert "mao: not applied: declined" in err
        assert not (repo / "snippets").exists()
    else:
        assert (repo / "snippets" / "search.py").exists()
