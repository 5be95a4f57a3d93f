"""develop's files in the dashboard: `a` shows the diff and applies it, `F` runs a fix round."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import (
    GUARD_S,
    git_repo,
    put_python_on_path,
    rows,
    workbench_over,
)
from textual.pilot import Pilot

from mao_tui.domain import (
    WorkstreamStatus,
)
from mao_tui.engine.files import FileBlock, manifest_block
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.settings.loader import config_layers, load_settings
from mao_tui.tui.app import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_python_on_path(monkeypatch)


# -- the dashboard: a, then F ------------------------------------------------------------


def _app(tmp_path: Path, **launch: Any) -> MaoApp:
    options: dict[str, Any] = {"simulate": True, "speed": math.inf, "faults": False}
    launch_ = Launch(
        project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db", **options, **launch
    )
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
        use_planner=False,
    )
    session = OpenSession(launch_, req)
    return MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch_))


async def _until(pilot: Pilot[Any], done: Any) -> None:
    async def wait() -> None:
        while not done():
            await pilot.pause()

    await asyncio.wait_for(wait(), GUARD_S)


async def _ended(pilot: Pilot[Any]) -> DashboardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    await asyncio.wait_for(screen.ended(1), GUARD_S)
    await pilot.pause()
    return screen


async def test_a_shows_the_diff_and_applies_on_confirmation(
    tmp_path: Path, python_on_path: None
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "snippets").mkdir()
    (repo / "snippets" / "__init__.py").write_text('"""An older package."""\n')
    app = _app(repo, in_place=True)  # outside git it would apply in a copy (test_copy_apply_tui)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _ended(pilot)
        assert not screen.verification.display  # no pane before the first apply
        await pilot.press("F")  # nothing applied yet: said so, not silence
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any(m.startswith("nothing to fix: apply (a) and verify first") for m in said)
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        dialog = app.screen
        assert isinstance(dialog, ApplyScreen)
        kinds = {c.path: c.kind for c in dialog.proposal.changes}
        assert kinds["snippets/__init__.py"] == "modify"
        assert kinds["tests/test_snippets.py"] == "create"
        assert '-"""An older package."""\n' in dialog.shown  # the first file's diff
        await pilot.press("escape")  # cancel: nothing written
        await pilot.pause()
        assert not (repo / "tests").exists()
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        await pilot.press("y")
        pane = screen.verification
        await _until(pilot, lambda: pane.result is not None)
        assert pane.result is not None and pane.result.passed
        assert pane.display and "-passed" in pane.classes
        assert any("3 passed" in line for line in pane.plain_lines)
        assert (repo / "tests" / "test_snippets.py").exists()
        await pilot.press("F")  # nothing failed: nothing to fix, said so
        await pilot.pause()
        assert not screen.fix_pending
        said = [n.message for n in app._notifications]
        assert "nothing to fix: the verification passed" in said
        await pilot.press("q")
    assert rows(repo / "mao.db", "SELECT exit_code FROM verifications") == [(0,)]


async def test_the_demo_dialog_shows_its_fresh_workspace_and_y_writes_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python_on_path: None
) -> None:
    import tempfile

    checkout = git_repo(tmp_path / "checkout")
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    app = _app(checkout, fresh_workspace=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _ended(pilot)
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        dialog = app.screen
        assert isinstance(dialog, ApplyScreen)
        workspace = Path(dialog.proposal.workspace)
        assert workspace.parent == temp_root and workspace.name.startswith("mao-demo-workspace-")
        summary = str(dialog.query_one("#apply-summary").render())
        assert str(workspace) in summary and "fresh temporary workspace" in summary
        await pilot.press("y")
        pane = screen.verification
        await _until(pilot, lambda: pane.result is not None)
        assert pane.result is not None and pane.result.passed
        await pilot.press("q")
    assert (workspace / "tests" / "test_snippets.py").exists()
    assert not list(checkout.rglob("*.py")) and not (checkout / ".mao").exists()


async def test_f_runs_a_fix_round_and_offers_the_new_files(
    tmp_path: Path, python_on_path: None
) -> None:
    repo = git_repo(tmp_path / "repo")
    app = _app(repo, sim_failing_first=True, fix_rounds=1)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _ended(pilot)
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        await pilot.press("y")
        pane = screen.verification
        await _until(pilot, lambda: pane.result is not None)
        assert pane.result is not None and not pane.result.passed
        assert "F: fix round" in str(pane.border_subtitle)
        await pilot.press("F")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))  # offered when ready
        assert "fix1" in screen.lanes and screen.lanes["fix1"].status is WorkstreamStatus.DONE
        dialog = app.screen
        assert isinstance(dialog, ApplyScreen) and dialog.proposal.round == 1
        writable = [(c.path, c.kind) for c in dialog.proposal.writable]
        assert writable == [("snippets/search.py", "modify")]
        await pilot.press("y")
        await _until(pilot, lambda: pane.result is not None and pane.result.round == 1)
        assert pane.result is not None and pane.result.passed
        await pilot.press("F")  # the bound: one round, used
        await pilot.pause()
        assert not screen.fix_pending
        await pilot.press("q")
    assert rows(repo / "mao.db", "SELECT round, exit_code FROM verifications ORDER BY id") == [
        (0, 1),
        (1, 0),
    ]


def test_apply_and_fix_have_remappable_ids(tmp_path: Path) -> None:
    from mao_tui.settings.keys import DEFAULT_KEYS

    assert (DEFAULT_KEYS["apply"], DEFAULT_KEYS["fix"], DEFAULT_KEYS["attempts"]) == ("a", "F", "A")
    (tmp_path / "keys.yaml").write_text("keybindings:\n  apply: ctrl+a\n  fix: f9\n")
    settings = load_settings([*config_layers(tmp_path), tmp_path])
    assert settings.keybindings == {"apply": "ctrl+a", "fix": "f9"}


async def test_help_lists_apply_and_fix_with_the_keys_in_effect() -> None:
    from textual.app import App
    from textual.widgets import Static

    from mao_tui.tui.help import HelpScreen

    app: App[None] = App()
    async with app.run_test(size=(140, 60)) as pilot:
        await app.push_screen(HelpScreen({"fix": "f9"}))
        await pilot.pause()
        lines = str(app.screen.query_one("#help-keys", Static).render()).splitlines()
    apply_line = next(line for line in lines if line.endswith("[apply]"))
    fix_line = next(line for line in lines if line.endswith("[fix]"))
    assert apply_line.split()[:2] == ["a", "Apply"]
    assert fix_line.split()[:2] == ["f9", "Fix"]


async def test_a_second_apply_of_a_round_keeps_the_first_backups(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "a.py").write_text("original\n")
    bench, _ = workbench_over(root, manifest_block([FileBlock("a.py", "first\n")]))
    first = (await bench.apply(bench.propose())).files[0].backup
    (root / "a.py").write_text("edited by hand\n")
    second = (await bench.apply(bench.propose())).files[0].backup
    assert first is not None and second is not None and first != second
    assert Path(first).read_text() == "original\n"
    assert Path(second).read_text() == "edited by hand\n"
