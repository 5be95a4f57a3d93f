"""The apply view's hunk review (issue 18): hunks accepted or rejected one by one, only the
accepted ones written and committed; a hunk whose SEARCH did not match cannot be accepted; `L`
lands a worktree session's commit, or says why not."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import GUARD_S, git_repo, put_python_on_path, workbench_over
from fixtures.launches import fast_launch
from textual.app import App
from textual.pilot import Pilot

from mao_tui.domain import Declined, HunkView
from mao_tui.domain.errors import ControlError
from mao_tui.engine.session import SessionRequest
from mao_tui.samples.sample_repo import SAMPLE_TASK, write_sample_repo
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.widgets.hunk_diff import side_by_side, unified

ORIGINAL = "one = 1\ntwo = 2\nthree = 3\n"


def _hunk(search: str, replace: str, path: str = "a.py") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n\n"


SYNTHESIS = (
    _hunk("one = 1\n", "one = 10\n")
    + _hunk("three = 3\n", 'three = "[bold red]30[/]"\n')
    + _hunk("four = 4\n", "four = 40\n")  # matches nothing: rejected, with the reason
)


class _Host(App[None]):
    pass


async def _review(
    proposal: Any, keys: list[str], size: tuple[int, int] = (160, 48)
) -> tuple[list[Declined | None], ApplyScreen, list[str]]:
    """Open the review of ``proposal``, press ``keys``; what it dismissed with, and the
    notifications."""
    results: list[Declined | None] = []
    app = _Host()
    async with app.run_test(size=size) as pilot:
        screen = ApplyScreen(proposal)
        app.push_screen(screen, results.append)
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        said = [n.message for n in app._notifications]
    return results, screen, said


async def test_only_the_accepted_hunk_is_written(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "a.py").write_text(ORIGINAL)
    bench, _ = workbench_over(root, SYNTHESIS)
    proposal = bench.propose()
    assert [(h.number, h.status) for h in proposal.hunks] == [
        (1, "applied"),
        (2, "applied"),
        (3, "rejected"),
    ]
    results, screen, _ = await _review(proposal, ["r", "y"])  # reject hunk 1, apply
    assert results == [Declined(hunks=frozenset({1}))]
    assert "[bold red]30[/]" in screen.shown  # model output shown as it is, never as markup
    await bench.apply(proposal, results[0])
    assert (root / "a.py").read_text() == 'one = 1\ntwo = 2\nthree = "[bold red]30[/]"\n'


async def test_a_hunk_rejected_by_its_match_cannot_be_accepted(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "a.py").write_text(ORIGINAL)
    bench, _ = workbench_over(root, SYNTHESIS)
    proposal = bench.propose()
    results, screen, said = await _review(proposal, ["j", "j", "a", "A", "escape"])
    assert screen.cursor == 2
    rejected = screen.review.files[0].units[2]
    assert rejected.hunk is not None and rejected.hunk.number == 3
    assert not rejected.acceptable and not screen.review.accepted(rejected)
    assert any(m.startswith("hunk 3 cannot be accepted: SEARCH matches nothing") for m in said)
    assert "SEARCH matches nothing in the file" in screen.shown  # its reason, on display
    assert results == [None]  # Esc: nothing applied
    assert (root / "a.py").read_text() == ORIGINAL


async def test_everything_rejected_is_not_applied(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "a.py").write_text(ORIGINAL)
    bench, _ = workbench_over(root, SYNTHESIS)
    results, _, said = await _review(bench.propose(), ["R", "y"])
    assert results == []  # still open: nothing accepted to write
    assert any(m.startswith("Nothing is accepted") for m in said)


def test_an_accepted_hunk_needing_a_declined_one_is_refused(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "ws")
    (root / "a.py").write_text(ORIGINAL)
    chained = _hunk("one = 1\n", "one = 10\n") + _hunk("one = 10\n", "one = 100\n")
    bench, _ = workbench_over(root, chained)
    proposal = bench.propose()
    with pytest.raises(ControlError, match=r"hunk\(s\) 2 no longer apply"):
        bench.check(proposal, Declined(hunks=frozenset({1})))


def test_hunks_render_escaped_in_both_layouts() -> None:
    from rich.console import Console

    hunk = HunkView(
        path="a.py", number=1, search="x = 1\n", replace="x = '\x1b[2J[bold]boom[/]\u202e'\n"
    )
    for renderable in (unified(hunk), side_by_side(hunk)):
        console = Console(width=100, record=True, force_terminal=True)
        console.print(renderable)
        text = console.export_text()
        assert "␛[2J[bold]boom[/]⟨U+202E⟩" in text and "\x1b[2J" not in text


# -- the dashboard: a, review, y in the worktree, then L -------------------------------------


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _sample_app(repo: Path) -> MaoApp:
    # a git repository with a commit: the apply goes to a worktree by default
    launch = fast_launch(repo, db=repo.parent / "mao.db", workspace=repo)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=SAMPLE_TASK,
        simulated=True,
        project_dir=repo,
        use_planner=False,
        repository=repo,
    )
    session = OpenSession(launch, req)
    return MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))


async def _until(pilot: Pilot[Any], done: Any) -> None:
    async def wait() -> None:
        while not done():
            await pilot.pause()

    await asyncio.wait_for(wait(), GUARD_S)


async def test_the_worktree_commit_holds_only_accepted_hunks_and_l_lands_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_python_on_path(monkeypatch)
    repo = write_sample_repo(tmp_path / "sample")
    init_before = (repo / "invoices" / "__init__.py").read_text()
    head = _git(repo, "rev-parse", "HEAD")
    app = _sample_app(repo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.press("L")  # nothing applied yet: said so
        said = app._notifications
        await _until(pilot, lambda: any("nothing to land: apply (a)" in n.message for n in said))
        await pilot.press("a")
        await _until(pilot, lambda: isinstance(app.screen, ApplyScreen))
        dialog = app.screen
        assert isinstance(dialog, ApplyScreen)
        paths = [f.path for f in dialog.review.files]
        assert paths == ["invoices/export.py", "invoices/__init__.py", "README.md"]
        await pilot.press("j", "r", "y")  # hunk 1 (the new file) kept; hunk 2 rejected
        pane = screen.verification
        await _until(pilot, lambda: pane.result is not None)
        assert pane.result is not None and pane.result.passed
        assert _git(repo, "rev-parse", "HEAD") == head  # the user's checkout is untouched
        assert not (repo / "invoices" / "export.py").exists()
        tip = [b for b in _git(repo, "branch", "--format=%(refname:short)").split() if "mao/" in b]
        assert len(tip) == 1
        changed = _git(repo, "diff", "--name-only", "HEAD", tip[0]).split()
        assert sorted(changed) == ["README.md", "invoices/export.py"]  # not the rejected hunk
        await _until(pilot, lambda: screen.check_action("land", ()) is True)
        readme = (repo / "README.md").read_text()
        (repo / "README.md").write_text(readme + "A note of mine, not committed.\n")
        await pilot.press("L")  # the user's own change touches a file the branch changes
        await _until(pilot, lambda: sum(n.title == "Land" for n in app._notifications) == 2)
        refusal = [n.message for n in app._notifications if n.title == "Land"][-1]
        assert refusal.startswith("not landed: your uncommitted changes touch README.md")
        assert _git(repo, "rev-parse", "HEAD") == head  # refused: nothing changed
        (repo / "README.md").write_text(readme)
        await pilot.press("L")
        await _until(pilot, lambda: any(n.title == "Landed" for n in app._notifications))
        landed = next(n.message for n in app._notifications if n.title == "Landed")
        assert landed.startswith("landed ") and f"from {tip[0]} onto main" in landed
        await pilot.press("q")
    assert (repo / "invoices" / "export.py").exists()
    assert (repo / "invoices" / "__init__.py").read_text() == init_before
    assert _git(repo, "rev-parse", "HEAD^") == head
    assert _git(repo, "branch", "--list", "mao/*") == ""  # landed: branch and worktree gone


async def test_a_file_of_many_hunks_is_drawn_a_page_at_a_time(tmp_path: Path) -> None:
    from mao_tui.tui.apply_screen import PAGE

    root = git_repo(tmp_path / "ws")
    (root / "big.py").write_text("".join(f"v{i} = {i}\n" for i in range(30)))
    edits = "".join(_hunk(f"v{i} = {i}\n", f"v{i} = {i * 10}\n", "big.py") for i in range(30))
    bench, _ = workbench_over(root, edits)
    results, screen, _ = await _review(bench.propose(), ["j"] * (PAGE + 1) + ["r", "y"])
    assert screen.cursor == PAGE + 1 and screen.page == PAGE
    assert len(screen._blocks) <= PAGE  # never the whole file at once
    assert results == [Declined(hunks=frozenset({PAGE + 2}))]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts)


async def test_a_repository_with_no_commit_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git repository with no commit yet: `a` says to commit once, and writes nothing into
    the user's folder (it used to fall back to writing there, in place)."""
    put_python_on_path(monkeypatch)
    repo = write_sample_repo(tmp_path / "sample")
    shutil.rmtree(repo / ".git")
    _git(repo, "init", "-q")
    before = _files(repo)
    app = _sample_app(repo)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.press("a")
        said = app._notifications
        await _until(pilot, lambda: any("has no commit yet" in n.message for n in said))
        assert not isinstance(app.screen, ApplyScreen)
        await pilot.press("q")
    assert _files(repo) == before
    assert _git(repo, "branch", "--list", "mao/*") == ""
