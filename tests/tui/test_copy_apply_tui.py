"""The dashboard's apply outside git (issue 18): `a` + `y` write the accepted hunks into a
temporary copy of the workspace, verified there, the user's folder untouched; `L` copies them
back, or refuses, changing nothing, when the user changed one of them meanwhile; a session not
landed leaves its copy for `mao land`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import GUARD_S, put_python_on_path
from fixtures.launches import fast_launch
from textual.pilot import Pilot

from mao_tui.cli import main
from mao_tui.engine.session import SessionRequest
from mao_tui.repo.workspace_copy import copies_dir, session_copy
from mao_tui.samples.sample_repo import SAMPLE_TASK, sample_repo_files
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen


def _folder(path: Path) -> Path:
    """The sample repository's files in a plain folder: no git."""
    for name, text in sample_repo_files().items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _app(folder: Path) -> tuple[MaoApp, SessionRequest]:
    launch = fast_launch(folder, db=folder.parent / "mao.db", workspace=folder)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=SAMPLE_TASK,
        simulated=True,
        project_dir=folder,
        use_planner=False,
        repository=folder,
    )
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    return app, req


async def _until(pilot: Pilot[Any], done: Any) -> None:
    async def wait() -> None:
        while not done():
            await pilot.pause()

    await asyncio.wait_for(wait(), GUARD_S)


async def _apply(pilot: Pilot[Any], keys: tuple[str, ...]) -> tuple[DashboardScreen, Path]:
    """The session ended, `a`, ``keys`` in the review, verified: the dashboard and the copy."""
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    await asyncio.wait_for(screen.ended(1), GUARD_S)
    await pilot.press("a")
    await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
    dialog = app.screen
    assert isinstance(dialog, ApplyScreen)
    copy = Path(dialog.proposal.workspace)
    assert copy.is_relative_to(copies_dir())  # the review's diffs are against the copy
    await pilot.press(*keys)
    pane = screen.verification
    await _until(pilot, lambda: pane.result is not None)
    assert pane.result is not None and pane.result.passed
    return screen, copy


async def test_outside_git_y_writes_in_a_copy_and_l_copies_the_accepted_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_python_on_path(monkeypatch)
    folder = _folder(tmp_path / "invoices-app")
    before = _contents(folder)
    app, _ = _app(folder)
    async with app.run_test(size=(160, 48)) as pilot:
        said = app._notifications
        await pilot.press("L")  # nothing applied yet: said so
        await _until(pilot, lambda: any("nothing to land: apply (a)" in n.message for n in said))
        screen, copy = await _apply(pilot, ("j", "r", "y"))  # the __init__.py hunk rejected
        assert _contents(folder) == before  # the user's folder is untouched
        assert (copy / "invoices" / "export.py").exists()
        assert (copy / "invoices" / "__init__.py").read_bytes() == before["invoices/__init__.py"]
        assert (copy / ".pytest_cache").is_dir()  # verified in the copy
        assert not (folder / ".pytest_cache").exists()
        await _until(pilot, lambda: screen.check_action("land", ()) is True)
        readme = before["README.md"]
        (folder / "README.md").write_bytes(readme + b"A note of mine.\n")
        await pilot.press("L")  # the user changed a file the session wrote
        await _until(pilot, lambda: sum(n.title == "Land" for n in said) == 2)
        refusal = [n.message for n in said if n.title == "Land"][-1]
        assert refusal.startswith("not landed: README.md changed in ")
        assert not (folder / "invoices" / "export.py").exists()  # refused: nothing changed
        export = (copy / "invoices" / "export.py").read_bytes()
        (folder / "README.md").write_bytes(readme)
        await pilot.press("L")
        await _until(pilot, lambda: any(n.title == "Landed" for n in said))
        landed = next(n.message for n in said if n.title == "Landed")
        assert landed == f"landed 2 file(s) into {folder}: README.md, invoices/export.py"
        assert screen.check_action("land", ()) is not True  # nothing left to land
        await pilot.press("q")
    after = _contents(folder)
    assert after["invoices/export.py"] == export
    assert after["README.md"] != readme  # the session's README
    assert after["invoices/__init__.py"] == before["invoices/__init__.py"]  # rejected: not landed
    assert not copy.exists()  # landed: the copy is removed


async def test_a_copy_not_landed_is_left_for_mao_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put_python_on_path(monkeypatch)
    folder = _folder(tmp_path / "invoices-app")
    before = _contents(folder)
    app, req = _app(folder)
    async with app.run_test(size=(160, 48)) as pilot:
        _, copy = await _apply(pilot, ("y",))
        await pilot.press("q")
    assert _contents(folder) == before
    left = session_copy(req.session_id)
    assert left is not None and Path(left.path) == copy
    assert sorted(left.applied) == ["README.md", "invoices/__init__.py", "invoices/export.py"]
    assert main(["land", req.session_id[:8]]) == 0
    assert "landed 3 file(s) into" in capsys.readouterr().out
    assert (folder / "invoices" / "export.py").exists() and not copy.exists()


async def test_a_copy_nothing_was_written_in_is_removed_when_the_dashboard_closes(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path / "invoices-app")
    app, req = _app(folder)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        assert session_copy(req.session_id) is not None
        await pilot.press("escape", "q")
    assert session_copy(req.session_id) is None
