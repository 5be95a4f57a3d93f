"""The keys that steer a session, end to end: the dashboard on a real session (simulator on
127.0.0.1, real SDKs, engine, store) — rerun, rerun on another model, cancel, synthesize again,
earlier attempts, export, quitting while models work; then Home, History and review.

Tests wait for what they expect to be on screen (``DashboardScreen.ended``, or the app settling
with ``until``); a guard only bounds how long a broken app may hang a test.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixtures.develop_session import recorded_events
from fixtures.launches import fast_launch
from fixtures.pilots import GUARD_S, until
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, OptionList, Select, TextArea

from mao_tui.domain import SYNTHESIS_KEY, WorkstreamStatus
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import SIM_KEY, Launch, run_session
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.service.ports import ModelChoice
from mao_tui.settings.digest import Preview
from mao_tui.store import Store
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.dialogs import AttemptsScreen, Confirm, ExportDialog, ModelPicker
from mao_tui.tui.help import HelpScreen
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.home import HomeScreen
from mao_tui.tui.widgets.row_table import RowTable

FAST = math.inf  # unpaced: as fast as the loop goes; tests that cancel slow one model down


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    monkeypatch.setattr(TextArea.cursor_blink, "_default", False)
    yield


def _launch(tmp_path: Path, **kw: Any) -> Launch:
    return fast_launch(tmp_path, **kw)


def _request(tmp_path: Path) -> SessionRequest:
    return SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=tmp_path,
        use_planner=False,
    )


def _app(launch: Launch, req: SessionRequest, **kw: Any) -> tuple[MaoApp, OpenSession]:
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch), **kw)
    return app, session


async def _first_run(pilot: Pilot[Any]) -> DashboardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    await asyncio.wait_for(screen.ended(1), GUARD_S)
    await pilot.pause()
    screen.plan_table.focus()
    await pilot.pause()
    return screen


async def _select(pilot: Pilot[Any], screen: DashboardScreen, key: str) -> None:
    screen.plan_table.focus()
    screen.plan_table.cursor_row = list(screen.lanes).index(key)
    await pilot.pause()


def _stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


# -- the dashboard's keys ---------------------------------------------------------------------


async def test_r_reruns_the_selected_workstream_and_the_synthesis_turns_stale(
    tmp_path: Path,
) -> None:
    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        storage = screen.lanes["storage"]
        first_answer = screen.panels["storage"].answer.source
        await _select(pilot, screen, "storage")
        await pilot.press("r")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        await pilot.pause()

        assert storage.attempts == 2 and storage.status is WorkstreamStatus.DONE
        assert screen.plan_table.cell("storage", "status").plain == "done (2)"
        assert screen.panels["storage"].answer.source  # the new attempt's answer
        assert storage.history[0].answer_text == first_answer  # kept, viewable
        synthesis = screen.panels[SYNTHESIS_KEY]
        assert "STALE" in str(synthesis.border_subtitle)
        assert any("stale: Storage" in line for line in synthesis.plain_lines)

        await pilot.press("A")  # every attempt of the selected workstream
        attempts = app.screen
        assert isinstance(attempts, AttemptsScreen)
        options = attempts.query_one(OptionList)
        assert options.option_count == 2
        options.highlighted = 0
        await pilot.pause()
        assert attempts.shown_answer == first_answer
        await pilot.press("escape")
        await pilot.press("q")
    rows = _stored(
        launch.db_path, "SELECT attempt_no, status FROM attempts WHERE workstream = 'storage'"
    )
    assert rows == [(1, "ok"), (2, "ok")]
    assert _stored(launch.db_path, "SELECT status FROM sessions") == [("done",)]


async def test_m_reruns_on_the_model_picked(tmp_path: Path) -> None:
    launch = _launch(tmp_path)
    app, session = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await _select(pilot, screen, "tests")
        await pilot.press("m")
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        choices = session.model_choices("tests")
        current = next(c for c in choices if c.current)
        assert current.id == "gpt-6.2-sol"
        options = picker.query_one(OptionList)
        assert options.highlighted == choices.index(current)
        options.highlighted = next(i for i, c in enumerate(choices) if c.id == "sonnet-5.5")
        await pilot.press("enter")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        await pilot.pause()
        lane = screen.lanes["tests"]
        assert [a.model for a in lane.history] == ["gpt-6.2-sol", "sonnet-5.5"]
        assert screen.plan_table.cell("tests", "model").plain == "sonnet-5.5"

        # the picker is kept: shown again for another row, with that row's choices
        await _select(pilot, screen, "storage")
        runs = len(screen.lanes["storage"].history)
        first_option = options.get_option_at_index(0)
        await pilot.press("m")
        assert app.screen is picker
        storage = session.model_choices("storage")
        assert storage == choices  # it runs on the model tests ran on: the options are kept
        assert options.get_option_at_index(0) is first_option
        assert options.highlighted == next(i for i, c in enumerate(storage) if c.current)
        title = str(picker.query_one("#model-picker-box").border_title)
        assert title == f"Rerun {screen.lanes['storage'].title} on…"
        await pilot.press("escape")  # cancels: nothing reruns
        assert len(screen.lanes["storage"].history) == runs
        await _select(pilot, screen, "tests")
        await pilot.press("m")
        assert app.screen is picker
        now = session.model_choices("tests")
        assert now != choices  # tests runs on sonnet-5.5 now: the options are made again
        assert options.get_option_at_index(0) is not first_option
        shown = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert shown == [c.id for c in now]
        assert options.highlighted == next(i for i, c in enumerate(now) if c.id == "sonnet-5.5")
        await pilot.press("escape")
        await pilot.press("q")


async def test_m_while_the_session_cannot_be_steered_says_why_instead_of_crashing(
    tmp_path: Path,
) -> None:
    """The picker asks the session for its choices; a session that cannot be steered (still
    starting, closed, or run by another process) answers with a ControlError: a notice."""
    launch = _launch(tmp_path)
    app, session = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await _select(pilot, screen, "tests")
        controller = session._controller
        session._controller, session._refusal = None, "the session is still starting"
        try:
            await pilot.press("m")
            await pilot.pause()
            assert app.screen is screen, "no picker without choices"
            notes = [n.message for n in app._notifications]
            assert "the session is still starting" in notes, notes
        finally:
            session._controller = controller
        await pilot.press("q")


async def test_the_model_picker_marks_models_without_a_key_and_skips_them() -> None:
    choices = [
        ModelChoice("opus-5.5", "Claude Opus 5.5", "anthropic", current=True),
        ModelChoice("gemini-4-argon", "Gemini 4 Argon", "google", "no key: set GEMINI_API_KEY"),
        ModelChoice("gpt-5.2", "GPT-5.2", "openai"),
    ]

    class Host(MaoApp):
        def on_mount(self) -> None:
            self.push_screen(ModelPicker("Schemas", choices), self.exit)  # type: ignore[arg-type]

    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        options = app.screen.query_one(OptionList)
        gemini = options.get_option_at_index(1)
        assert gemini.disabled and "no key: set GEMINI_API_KEY" in str(gemini.prompt)
        assert "current" in str(options.get_option_at_index(0).prompt)
        await pilot.press("down", "enter")  # the disabled one is skipped
    assert app.return_value == "gpt-5.2"


async def test_a_workstream_title_with_brackets_is_shown_as_text_in_the_picker() -> None:
    """A title is the playbook's or a --plan file's text: ``[/x]`` in it crashed the picker."""
    choices = [ModelChoice("gpt-5.2", "GPT-5.2", "openai")]

    class Host(MaoApp):
        def on_mount(self) -> None:
            self.push_screen(ModelPicker("Fix [/x] [b]now", choices), self.exit)  # type: ignore[arg-type]

    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        assert any("Rerun Fix [/x] [b]now on" in line for line in _screen_lines(app))
        await pilot.press("enter")
    assert app.return_value == "gpt-5.2"


async def test_the_picker_marks_retired_and_missing_tools_with_the_reason_and_refuses_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models that cannot run are marked with why (retired on its date; a CLI tool not on PATH,
    as in every simulated session) and cannot be picked; a rerun on one is refused too."""
    from datetime import date

    from mao_tui.domain.errors import ControlError

    monkeypatch.setattr("mao_tui.engine.policy.today", lambda: date(2026, 12, 1))
    launch = _launch(tmp_path)
    app, session = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await _select(pilot, screen, "tests")
        await pilot.press("m")
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        options = picker.query_one(OptionList)
        prompts = {
            str(options.get_option_at_index(i).id): options.get_option_at_index(i)
            for i in range(options.option_count)
        }
        assert prompts["sonnet-4.5"].disabled
        assert "retired 2026-11-30" in str(prompts["sonnet-4.5"].prompt)
        assert prompts["claude-cli-sonnet"].disabled
        assert "claude not on PATH" in str(prompts["claude-cli-sonnet"].prompt)
        assert not prompts["opus-5.5"].disabled
        await pilot.press("escape")
        with pytest.raises(ControlError, match="retired 2026-11-30"):
            session.rerun("tests", "sonnet-4.5")
        await pilot.press("q")


async def test_a_failed_rerun_keeps_the_earlier_output_and_says_so(tmp_path: Path) -> None:
    """Rerunning a done workstream on a model that fails: the workstream stays done on its
    earlier output (the one the synthesis used), and the panel says the earlier output stands."""
    from mao_tui.simulator.faults import FaultRule

    rule = FaultRule("auth", model="claude-haiku-4-5", workstream="tests", times=None)
    launch = _launch(tmp_path, faults=True, sim_faults=(rule,))
    app, session = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        lane = screen.lanes["tests"]
        assert lane.status is WorkstreamStatus.DONE and lane.model == "gpt-6.2-sol"
        await _select(pilot, screen, "tests")
        session.rerun("tests", "haiku-4.5")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        await pilot.pause()
        assert [a.model for a in lane.history] == ["gpt-6.2-sol", "haiku-4.5"]
        assert lane.history[-1].error is not None  # the rerun did fail
        assert lane.status is WorkstreamStatus.DONE
        assert screen.plan_table.cell("tests", "status").plain == "done (2)"
        assert screen.plan_table.cell("tests", "model").plain == "gpt-6.2-sol"
        stands = "the rerun failed; the earlier output of gpt-6.2-sol stands"
        assert any(stands in note for note in lane.notes)
        assert screen.session.status == "done"
        await pilot.press("q")
    rows = _stored(tmp_path / "mao.db", "SELECT status FROM workstreams WHERE key = 'tests'")
    assert rows == [("done",)]


async def test_the_status_bar_totals_are_live_while_models_stream(tmp_path: Path) -> None:
    """While a model streams, the status bar counts its output as the plan's row does (an
    estimate, marked ~), and the planning attempts' tokens as soon as they finish."""
    launch = _launch(tmp_path, speed=40.0, sim_tokens_per_s={"gpt-6.2-astra": 2.0})  # core_logic
    req = _request(tmp_path)
    app, _ = _app(launch, replace(req, use_planner=True))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: "core_logic" in screen.lanes)
        core = screen.lanes["core_logic"]
        await until(pilot, lambda: core.live_chars > 40 and core.running)
        screen._tick()
        status = screen.status_bar.render().plain  # type: ignore[union-attr]
        assert "out ~" in status and "out 0 " not in status, status
        assert "in 0 " not in status, status  # the orchestrator's tokens are counted
        assert "~" in screen.plan_table.cell("core_logic", "tokens").plain
        await pilot.press("ctrl+c")


async def test_keys_pressed_while_planning_apply_to_the_rows_once_the_plan_shows(
    tmp_path: Path,
) -> None:
    """Down, down, Enter and t pressed during "Planning…" are held, then replayed in order once
    the plan is on screen: the third row's panel gets the focus, thinking is hidden."""
    launch = _launch(tmp_path, speed=1.0, sim_tokens_per_s={"haiku": 150.0, "opus": 4000.0})
    app, _ = _app(launch, replace(_request(tmp_path), use_planner=True))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: screen.session.status == "running")
        assert screen.awaiting_plan
        await pilot.press("down", "down", "enter", "t")
        assert screen.held_keys == ["down", "down", "enter", "t"] and not screen.lanes
        await until(pilot, lambda: bool(screen.lanes) and not screen.held_keys)
        await pilot.pause()
        third = list(screen.lanes)[2]
        await until(pilot, lambda: screen.focused is screen.panels[third])
        assert screen.plan_table.cursor_row == 2
        assert not screen.thinking_visible
        await pilot.press("ctrl+c")


async def test_reruns_then_quit_leave_no_coroutine_never_awaited(tmp_path: Path) -> None:
    """A final render replaced (a rerun starts) or the app quitting before the render ran must
    not leave a coroutine that was never awaited (Python warned of one at exit)."""
    import gc
    import warnings

    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with app.run_test(size=(160, 48)) as pilot:
            screen = await _first_run(pilot)
            panel = screen.panels["implementation"]
            for n in range(3):  # each replaces the one before it has run
                panel._render_final(f"# Answer {n}\n\nText.\n")
            await _select(pilot, screen, "implementation")
            await pilot.press("r", "q")
        del app, screen, panel
        gc.collect()
    never = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert not never, never


def _synthesis_shown(screen: DashboardScreen) -> list[Any]:
    panel = screen.panels[SYNTHESIS_KEY]
    assert panel._final is not None, "the synthesis was rendered"
    return list(panel._final._rendered)


def _assert_files_listed(strips: list[Any]) -> None:
    text = "\n".join(strip.text for strip in strips)
    assert '"content"' not in text and "\\n" not in text, "the manifest shown as raw JSON"
    assert "5 files" in text and "snippets/__init__.py (7 lines)" in text
    code = next(s for s in strips if "from snippets.schemas import" in s.text)
    colours = {seg.style.color for seg in code if seg.text.strip() and seg.style}
    assert len(colours) >= 2, "the code is highlighted for its language"


async def test_the_synthesis_shows_its_files_not_the_manifest_json_live_and_in_review(
    tmp_path: Path,
) -> None:
    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await screen.settle()
        _assert_files_listed(_synthesis_shown(screen))
        session_id = screen.session_id
        await pilot.press("q")
    review = MaoApp(backend=AppBackend(launch))
    async with review.run_test(size=(160, 48)) as pilot:
        review.open_review(session_id)
        await until(pilot, lambda: isinstance(review.screen, DashboardScreen))
        shown = review.screen
        assert isinstance(shown, DashboardScreen)
        await asyncio.wait_for(shown.ended(1), GUARD_S)
        await shown.settle()
        _assert_files_listed(_synthesis_shown(shown))
        await pilot.press("ctrl+c")


async def test_enter_on_a_recent_session_on_home_reviews_it(tmp_path: Path) -> None:
    launch = _launch(tmp_path)
    app = MaoApp(backend=AppBackend(launch))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        home = app.screen
        assert isinstance(home, HomeScreen)
        pane = home.query_one("#recent-pane")
        assert pane.border_subtitle == "none yet"
        finished = await run_session(launch, _request(tmp_path), [])
        home.action_refresh()  # as on coming back to Home
        await pilot.pause()
        await app.workers.wait_for_complete()
        recent = home.query_one("#recent", RowTable)
        assert recent.row_keys == [finished.session_id]
        assert not pane.border_subtitle  # no longer "none yet"
        recent.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        review = app.screen
        assert isinstance(review, DashboardScreen) and review.state.session.review
        assert review.session_id == finished.session_id
        await pilot.press("ctrl+c")


def _screen_lines(app: MaoApp) -> list[str]:
    """The screen as text rows (from the SVG screenshot): what a user actually sees."""
    import html
    import re

    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(
        r'<text[^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', app.export_screenshot()
    ):
        text = html.unescape(m[3]).replace("\xa0", " ")
        rows.setdefault(float(m[2]), []).append((float(m[1]), text))
    return ["".join(t for _, t in sorted(v)) for _, v in sorted(rows.items())]


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_what_carries_meaning_is_never_cut(tmp_path: Path, size: tuple[int, int]) -> None:
    """The fallback's reason, the footer's ? Help / h History / n New, the status bar's
    fallback count, a plan row's status and model, History's status: whole, at both sizes."""
    import sqlite3

    launch = _launch(tmp_path, speed=40.0, faults=True)  # the demo's Gemini stall: a fallback
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=size) as pilot:
        screen = await _first_run(pilot)
        lines = _screen_lines(app)
        [row] = [line for line in lines if "+00:" in line and "gemini-4-argon →" in line]
        assert row.rstrip(" │").endswith("timeout"), row
        footer = lines[-1]
        for key in ("q Quit", "? Help", "h History", "n New", "r Rerun", "a Apply"):
            assert key in footer, footer
        status = lines[-2]
        assert "1 fallback" in status and "6/6 finished" in status, status
        lane = screen.lanes["tests"]
        lane.model, lane.attempts = "claude-cli-sonnet", 2
        lane.status = WorkstreamStatus.CANCELLED
        screen.plan_table.show_lane(lane, None)
        await pilot.pause()
        [row] = [line for line in _screen_lines(app) if "cancelled (2)" in line]
        assert "claude-cli-sonnet" in row and "Tests" in row, row
        await pilot.press("q")
    with sqlite3.connect(launch.db_path) as conn:
        conn.execute("UPDATE sessions SET status = 'interrupted'")
    history = MaoApp(backend=AppBackend(launch))
    async with history.run_test(size=size) as pilot:
        await pilot.pause()
        history.action_history()
        await until(pilot, lambda: isinstance(history.screen, HistoryScreen))
        shown = history.screen
        assert isinstance(shown, HistoryScreen)
        await until(pilot, lambda: shown.query_one(RowTable).row_count == 1)
        await pilot.pause()
        assert any("interrupted · sim" in line for line in _screen_lines(history))
        await pilot.press("ctrl+c")


async def test_x_cancels_the_selected_workstream_and_the_others_go_on(tmp_path: Path) -> None:
    # core_logic: slow
    launch = _launch(tmp_path, speed=40.0, sim_tokens_per_s={"gpt-6.2-astra": 0.5})
    app, session = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: "core_logic" in screen.lanes)
        core = screen.lanes["core_logic"]
        await until(pilot, lambda: core.live_chars > 0)
        await _select(pilot, screen, "core_logic")
        await pilot.press("x")
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.pause()
        assert core.status is WorkstreamStatus.CANCELLED
        assert screen.plan_table.cell("core_logic", "status").plain == "cancelled"
        others = [lane for key, lane in screen.lanes.items() if key != "core_logic"]
        assert {lane.status for lane in others} == {WorkstreamStatus.DONE}
        await pilot.press("x")  # nothing runs any more: said so, nothing happens
        assert not session.busy
        await pilot.press("q")


async def test_s_synthesizes_again_and_the_earlier_synthesis_stays_viewable(
    tmp_path: Path,
) -> None:
    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        synthesis = screen.lanes[SYNTHESIS_KEY]
        old = synthesis.history[0].answer_text
        await _select(pilot, screen, "implementation")
        await pilot.press("r")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        assert synthesis.stale_because == ["Implementation"]
        await pilot.press("s")
        await asyncio.wait_for(screen.ended(3), GUARD_S)
        await pilot.pause()
        assert synthesis.attempts == 2 and not synthesis.stale_because
        assert "STALE" not in str(screen.panels[SYNTHESIS_KEY].border_subtitle)
        await _select(pilot, screen, SYNTHESIS_KEY)
        await pilot.press("A")
        attempts = app.screen
        assert isinstance(attempts, AttemptsScreen)
        attempts.query_one(OptionList).highlighted = 0
        await pilot.pause()
        assert attempts.shown_answer == old
        await pilot.press("escape", "q")
    assert _stored(launch.db_path, "SELECT count(*) FROM syntheses") == [(2,)]


async def test_quitting_while_models_work_asks_then_cancels_and_exits_130(
    tmp_path: Path,
) -> None:
    launch = _launch(tmp_path, speed=40.0, sim_tokens_per_s={"gpt-6.2-astra": 0.5})
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await until(pilot, lambda: "core_logic" in screen.lanes)
        await until(pilot, lambda: screen.lanes["core_logic"].live_chars > 0)
        await pilot.press("q")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)
    assert app.return_value == 130
    assert _stored(launch.db_path, "SELECT status FROM sessions") == [("cancelled",)]


@pytest.mark.parametrize("fmt", ["markdown", "json"])
async def test_e_exports_the_session_without_any_key(tmp_path: Path, fmt: str) -> None:
    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        if fmt == "json":
            dialog.query_one("#json").value = True
            await pilot.pause()
        target = Path(dialog.query_one("#export-path", Input).value)
        # By default into mao's data folder (shown), not the directory mao started in.
        exports = Path(os.environ["XDG_DATA_HOME"]) / "mao" / "exports"
        assert target.parent == exports
        assert str(exports) in str(dialog.query_one(".hint").render())
        await pilot.press("enter")
        await until(pilot, target.exists)
        await pilot.press("q")
    assert not list(tmp_path.glob("mao-*"))
    text = target.read_text(encoding="utf-8")
    assert SIM_KEY not in text and "sim-key" not in text
    if fmt == "json":
        data = json.loads(text)
        assert data["format"] == "mao-session/1" and data["id"] == screen.session_id
        assert data["synthesis"]["text"] == screen.panels[SYNTHESIS_KEY].answer.source
    else:
        assert target.suffix == ".md" and text.startswith("# Build the snippet store")
        assert "## Synthesis" in text and "### Storage" in text
        assert screen.panels["storage"].answer.source.strip()[:60] in text


# -- Home, History, review ------------------------------------------------------------------


async def test_home_painted_from_its_digest_loads_the_configuration_after(tmp_path: Path) -> None:
    """`mao` on a configuration that validated before: Home is composed from the remembered
    values (settings/digest.py) and the configuration is loaded in a thread after the first
    frame; the collector the CLI paused for the start-up is back on once the app is mounted."""
    launch = _launch(tmp_path, simulate=False)
    preview = Preview.of(launch.settings())
    backend = AppBackend(replace(launch, _cache={}), preview)
    gc.disable()
    try:
        app = MaoApp(backend=backend, keymap=preview.keybindings)
        async with app.run_test(size=(120, 40)) as pilot:
            assert gc.isenabled()
            await pilot.pause()  # the first frame; then Home starts the thread
            await app.workers.wait_for_complete()
            assert backend._settings is not None
            options = app.screen.query_one("#playbook", Select)._options
            assert [value for _, value in options] == [name for name, _ in preview.playbooks]
    finally:
        gc.enable()


async def test_home_starts_a_session_from_the_form(tmp_path: Path) -> None:
    spec = tmp_path / "PRD.md"
    spec.write_text("# PRD\n\n## 1. Search\nFind snippets.\n\n## 2. Storage\nSQLite.\n")
    notes = tmp_path / "notes.md"
    notes.write_text("Keep it small.\n")
    launch = _launch(tmp_path, simulate=False)
    app = MaoApp(backend=AppBackend(launch))
    async with app.run_test(size=(120, 40)) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert home.query_one("#simulate", Checkbox).value  # no key set: simulate by default
        home.query_one("#spec", Input).value = str(tmp_path / "missing.md")
        home.query_one("#task", Input).value = "Add search"
        home.query_one("#task", Input).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, HomeScreen)
        assert "missing.md: spec file not found" in str(home.query_one("#form-error").content)

        home.query_one("#spec", Input).value = str(spec)
        await pilot.pause()
        assert "1 Search  ·  2 Storage" in str(home.query_one("#spec-outline").content)
        home.query_one("#sections", Input).value = "9"
        await pilot.press("enter")
        assert "9" in str(home.query_one("#form-error").content)
        home.query_one("#sections", Input).value = ""
        home.query_one("#context", Input).value = str(notes)
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        assert screen.session_result is not None and screen.session_result.status == "done"
        await pilot.press("q")
    store = await Store.open(launch.db_path)
    try:
        detail = await store.get_session(screen.session_id)
    finally:
        await store.close()
    assert detail is not None and detail.task == "Add search" and detail.simulated
    assert "## 2. Storage" in detail.spec_text and "Keep it small." in detail.spec_text


async def test_home_marks_the_pane_with_the_focus_without_restyling_the_form(
    tmp_path: Path,
) -> None:
    """The pane holding the focus has the bright border; a Tab between the form's fields styles
    again only the two fields, not the ~30 nodes of the form (as a `:focus-within` rule did)."""
    app = MaoApp(backend=AppBackend(_launch(tmp_path, simulate=False)))
    async with app.run_test(size=(120, 40)) as pilot:
        home = app.screen
        form, recent = home.query_one("#form"), home.query_one("#recent-pane")
        dim = recent.styles.border_top[1]
        assert form.has_class("-focused") and not recent.has_class("-focused")
        assert form.styles.border_top[1] != dim

        restyled: list[int] = []
        update_nodes = app.stylesheet.update_nodes

        def counted(nodes: Iterable[DOMNode], animate: bool = False) -> None:
            nodes = list(nodes)
            restyled.append(len(nodes))
            update_nodes(nodes, animate=animate)

        app.stylesheet.update_nodes = counted  # type: ignore[method-assign]
        await pilot.press("tab")  # the task field -> the playbook
        await pilot.pause()
        assert app.focused is home.query_one("#playbook")
        assert restyled and max(restyled) < 10, restyled
        assert form.has_class("-focused")

        home.query_one("#recent").focus()
        await pilot.pause()
        assert recent.has_class("-focused") and not form.has_class("-focused")
        assert form.styles.border_top[1] == dim != recent.styles.border_top[1]


async def test_history_finds_a_session_by_a_word_of_its_output_and_reviews_it(
    tmp_path: Path,
) -> None:
    launch = _launch(tmp_path, faults=True)  # the demo: Gemini stalls, Sonnet takes over
    finished = await run_session(launch, _request(tmp_path), [])
    store = await Store.open(launch.db_path)  # and another session, about rate limiting
    sink = store.sink()
    for event in recorded_events():
        await sink(event)
    await sink.aclose()
    await store.close()

    app = MaoApp(backend=AppBackend(launch))
    async with app.run_test(size=(160, 48)) as pilot:
        assert isinstance(app.focused, Input)  # Home's task field: "h" would be typed there
        await pilot.press("f3")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await until(pilot, lambda: history.searches >= 1)
        assert len(history.hits) == 2
        history.query_one("#search", Input).value = "WAL"  # in the demo's outputs only
        searched = history.searches
        await until(pilot, lambda: history.searches > searched)
        assert [hit.id for hit in history.hits] == [finished.session_id]
        assert history.hits[0].matched == "output"
        await until(pilot, lambda: "\x02WAL\x03" in history.snippet)  # the highlighted one's
        await pilot.press("down", "enter")  # to the results, then open the highlighted one

        review = app.screen
        assert isinstance(review, DashboardScreen) and review.session.review
        await asyncio.wait_for(review.ended(1), GUARD_S)
        await pilot.pause()
        assert review.title_bar.has_class("-review")
        assert review.fallback_log.lines == [
            "Schemas: fallback from gemini-4-argon to sonnet-5.5 (timeout)"
        ]
        assert review.plan_table.cell("schemas", "status").plain == "done (2)"
        assert "WAL mode" in review.panels["storage"].answer.source

        await _select(pilot, review, "schemas")  # reruns work in review too
        await pilot.press("r")
        await asyncio.wait_for(review.ended(2), GUARD_S)
        assert review.lanes["schemas"].attempts == 3
        await pilot.press("escape")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("q")
    rows = _stored(
        launch.db_path,
        f"SELECT attempt_no, model FROM attempts WHERE session_id = '{finished.session_id}'"
        " AND workstream = 'schemas'",
    )
    assert rows == [(1, "gemini-4-argon"), (2, "sonnet-5.5"), (3, "sonnet-5.5")]


@pytest.mark.parametrize("key", ["question_mark", "f1"])
async def test_help_lists_every_binding_of_every_screen(tmp_path: Path, key: str) -> None:
    from mao_tui.tui.bindings import all_specs

    app = MaoApp(backend=AppBackend(_launch(tmp_path)))
    async with app.run_test(size=(120, 50)) as pilot:
        app.screen.query_one("#recent").focus()
        await pilot.press(key)
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys").content)
        for _, spec in all_specs():
            assert spec.description in text and f"[{spec.id}]" in text
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_help_is_kept_and_shown_again_from_the_top(tmp_path: Path) -> None:
    app = MaoApp(backend=AppBackend(_launch(tmp_path)))
    async with app.run_test(size=(120, 20)) as pilot:
        app.screen.query_one("#recent").focus()  # not the task's field: ? would be typed there
        await pilot.press("question_mark")
        first = app.screen
        assert isinstance(first, HelpScreen)
        await pilot.press("end")  # the keys do not fit in 20 lines: scrolled to the end
        box = first.query_one(VerticalScroll)
        await pilot.pause()
        assert box.scroll_y > 0
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("question_mark")
        assert app.screen is first  # not built again
        await pilot.pause()
        assert box.scroll_y == 0
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_h_and_n_open_history_and_home_over_a_dashboard(tmp_path: Path) -> None:
    launch = _launch(tmp_path)
    app, _ = _app(launch, _request(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _first_run(pilot)
        await pilot.press("h")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await until(pilot, lambda: history.searches >= 1)
        assert [hit.id for hit in history.hits] == [screen.session_id]
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("n")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("escape")  # back to the dashboard: the session is still there
        assert app.screen is screen
        await pilot.press("q")


def test_mao_without_a_command_opens_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mao_tui import cli

    opened: list[MaoApp] = []

    def run(self: MaoApp) -> int:
        opened.append(self)
        return 0

    monkeypatch.setattr(MaoApp, "run", run)
    # pytest's stdin and stdout are no terminal; the app's run is replaced, so none is needed
    monkeypatch.setattr("mao_tui.cli.sessions.require_terminal", lambda *_: None)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--db", str(tmp_path / "x.db")]) == 0
    (app,) = opened
    assert app.backend is not None and app.backend.project_dir == tmp_path
    with pytest.raises(LookupError):
        _ = app.dashboard  # Home, not a session
