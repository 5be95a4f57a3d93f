"""Compare side by side, a pick for the synthesis, and races from the dashboard (issue 19).

On the simulator: a session's row rerun on another model, then ``c`` shows both answers with
their differences styled; ``1``/``2`` pick the one the synthesis is given (checked on what the
synthesis is given, and on the stored ``output_picked``); ``R`` reruns a row as a race whose
candidates the lane's log names; plan review's ``c`` sets a race before the run."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import GUARD_S
from fixtures.launches import fast_launch
from rich.style import Style
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Static

from mao_tui.engine import session_prompts
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.service.session_reports import print_session
from mao_tui.store import Store
from mao_tui.store.picks import session_picks
from mao_tui.tui.app import MaoApp
from mao_tui.tui.compare_screen import STYLES, CompareScreen
from mao_tui.tui.dashboard import DashboardScreen

KEY = "implementation"
OTHER = "gpt-6.2-sol"


def _launch(tmp_path: Path) -> Launch:
    return fast_launch(tmp_path)


def _request(tmp_path: Path, **extra: Any) -> SessionRequest:
    return SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
        use_planner=False,
        **extra,
    )


def _app(tmp_path: Path, **extra: Any) -> tuple[MaoApp, OpenSession]:
    launch = _launch(tmp_path)
    session = OpenSession(launch, _request(tmp_path, **extra))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    return app, session


async def _select(pilot: Pilot[Any], screen: DashboardScreen, key: str) -> None:
    table = screen.plan_table
    table.focus()
    table.cursor_row = table.row_keys.index(key)
    await pilot.pause()


async def _rerun_on_other(pilot: Pilot[Any], session: OpenSession) -> DashboardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    await asyncio.wait_for(screen.ended(1), GUARD_S)
    session.rerun(KEY, OTHER)
    await asyncio.wait_for(screen.ended(2), GUARD_S)
    await _select(pilot, screen, KEY)
    return screen


def _backgrounds(widget: Static) -> set[str]:
    """The background colours of the widget's rendered segments (what the terminal shows)."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return {
        seg.style.bgcolor.name
        for strip in strips
        for seg in strip
        if seg.style is not None and seg.style.bgcolor is not None
    }


def _name(style: Style) -> str:
    assert style.bgcolor is not None
    return style.bgcolor.name


async def test_compare_after_a_rerun_on_another_model_shows_both_answers(tmp_path: Path) -> None:
    app, session = _app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await _rerun_on_other(pilot, session)
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        left, right = compare.shown
        assert (left.model, right.model) == ("sonnet-5.5", OTHER)
        headers = [
            str(compare.query_one(f"#compare-{side}-header", Static).render())
            for side in ("left", "right")
        ]
        assert "attempt 1" in headers[0] and "selected" not in headers[0]
        assert "attempt 2" in headers[1] and "✓ selected" in headers[1]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_a_raced_row_compares_its_candidates_and_a_pick_changes_the_synthesis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[str] = []  # what each synthesis was given as the workstreams' outputs
    original = session_prompts.format_outputs

    def spy(items: list[Any], settings: Any) -> str:
        text = original(items, settings)
        if len(items) > 1:  # the synthesis (a workstream's inputs are its dependencies)
            given.append(text)
        return text

    monkeypatch.setattr(session_prompts, "format_outputs", spy)
    app, _ = _app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await _select(pilot, screen, KEY)
        await pilot.press("R")  # race the row: the dialog offers 3 first
        await pilot.pause()
        await pilot.press("enter")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        lane = screen.state.lanes[KEY]
        started = [n for n in lane.notes if "Implementation: candidate " in n and " of 3 on " in n]
        assert len(started) == 3
        assert any("Implementation: selected #" in n for n in lane.notes)
        assert {a.candidate for a in lane.history} == {None, 1, 2, 3}

        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert len(compare.entries) == 4 and len(compare.pairs) == 6
        for _ in range(len(compare.pairs)):  # to the pair of the two candidates that differ
            left, right = compare.shown
            if left.candidate and right.model == "opus-5.5":
                break
            await pilot.press("right_square_bracket")
        left, right = compare.shown
        assert right.model == "opus-5.5" and left.candidate is not None
        diff = compare.query_one("#compare-diff", Static)
        colours = _backgrounds(diff)
        assert {_name(STYLES["changed"]), _name(STYLES["inline"])} <= colours, colours

        before = len(given)
        await pilot.press("2")  # opus's candidate: the synthesis ran on another answer
        await pilot.pause()
        await pilot.press("y")  # synthesize again with it
        await asyncio.wait_for(screen.ended(3), GUARD_S)
        assert len(given) == before + 1
        assert "### Implementation (by Claude Opus 5.5)" in given[-1]
        assert "### Implementation (by Claude Opus 5.5)" not in given[before - 1]
        assert lane.used == right.attempt_id

    store = await Store.open(tmp_path / "mao.db")
    try:
        async with store.transaction(write=False) as conn:
            [picked] = await session_picks(conn, screen.state.session_id)
    finally:
        await store.close()
    assert (picked.workstream, picked.model, picked.synthesized) == (KEY, "opus-5.5", True)
    assert picked.attempt_id == right.attempt_id and picked.candidate == right.candidate


async def test_plan_review_sets_a_race_that_the_run_makes(tmp_path: Path) -> None:
    from dataclasses import replace

    from textual.widgets import DataTable

    from mao_tui.cli.running import plan_reviewer
    from mao_tui.domain import Plan
    from mao_tui.tui.plan_review import PlanReviewScreen
    from mao_tui.tui.race_dialog import RaceDialog

    launch = _launch(tmp_path)
    shown = asyncio.Event()
    app_ref: list[MaoApp] = []
    reviewer = plan_reviewer(launch, app_ref)

    async def review(plan: Plan) -> Plan | None:
        shown.set()
        return await reviewer(plan)

    session = OpenSession(launch, replace(_request(tmp_path), review=review))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    app_ref.append(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(shown.wait(), GUARD_S)
        await pilot.pause()
        plan_review = app.screen
        assert isinstance(plan_review, PlanReviewScreen)
        table = plan_review.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(KEY))
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RaceDialog)
        await pilot.press("down", "enter")  # 3 is offered first; one down: 4
        await pilot.pause()
        assert app.screen is plan_review and plan_review.candidates == {KEY: 4}
        assert "race of 4" in str(table.get_cell(KEY, "chain"))
        await pilot.press("enter")  # accept
        await asyncio.wait_for(app.session_done.wait(), GUARD_S)
        await pilot.pause()
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        notes = dashboard.state.lanes[KEY].notes
        started = [n for n in notes if "Implementation: candidate " in n and " of 4 on " in n]
        assert len(started) == 4


async def test_review_shows_a_stored_pick(tmp_path: Path) -> None:
    """The pick is stored: review replays it in time order (the lane's output is the picked
    answer, the synthesis after it is not stale), and `mao sessions show` lists it."""
    app, session = _app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _rerun_on_other(pilot, session)
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        first = compare.shown[0]
        await pilot.press("1")  # sonnet's first answer again, over the rerun's
        await pilot.pause()
        await pilot.press("y")
        await asyncio.wait_for(screen.ended(3), GUARD_S)
        session_id = screen.state.session_id
        await pilot.press("escape")
        await pilot.press("ctrl+c")
    review = MaoApp(backend=AppBackend(_launch(tmp_path)))
    async with review.run_test(size=(160, 50)) as pilot:
        review.open_review(session_id)
        for _ in range(200):
            if isinstance(review.screen, DashboardScreen):
                break
            await pilot.pause(0.05)
        shown = review.screen
        assert isinstance(shown, DashboardScreen)
        await asyncio.wait_for(shown.ended(1), GUARD_S)
        await pilot.pause()
        lane = shown.state.lanes[KEY]
        assert lane.used == first.attempt_id and lane.model == "sonnet-5.5"
        assert any("picked attempt 1 on sonnet-5.5" in n for n in lane.notes)
        assert not shown.state.lanes["synthesis"].stale_because
        await pilot.press("ctrl+c")
    out = io.StringIO()
    await print_session(tmp_path / "mao.db", session_id, out)
    assert "## Picked outputs\n\n- Implementation: picked attempt 1 on sonnet-5.5" in out.getvalue()
