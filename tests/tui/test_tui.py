"""The dashboard: behaviour with App.run_test + Pilot, and the look with SVG snapshots.

A recorded develop session (tests/fixtures/develop_session.py) is replayed into the app's sink.
Nothing here sleeps on wall-clock time: tests await ``MaoApp.session_done`` or an event set by
the runner. ``asyncio.wait_for`` bounds only how long a broken app may hang a test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from fixtures.develop_session import (
    ANSWER_MARKERS,
    ANSWERS,
    FALLBACK_LINE,
    FINAL_MODEL,
    SESSION_ID,
    T0,
    TASK,
    THINKING,
    WORKSTREAMS,
    recorded_events,
    replay_runner,
)
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from mao_tui.domain import (
    SYNTHESIS_KEY,
    Delta,
    EngineEvent,
    EventSink,
    SessionFinished,
    SessionStatus,
    TokenTotals,
)
from mao_tui.tui import MaoApp
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.dialogs import Confirm, FallbackDetail
from mao_tui.tui.help import HelpScreen
from mao_tui.tui.widgets import panel as panel_module
from mao_tui.tui.widgets.bars import TitleBar

LANE_KEYS = [*WORKSTREAMS, SYNTHESIS_KEY]
GUARD_S = 30.0  # fail instead of hanging if the app never gets there


async def finished(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, MaoApp)
    await asyncio.wait_for(app.session_done.wait(), GUARD_S)
    await pilot.pause()


def dashboard(app: MaoApp) -> DashboardScreen:
    assert isinstance(app.screen, DashboardScreen)
    return app.screen


async def settled(pilot: Pilot[Any]) -> DashboardScreen:
    """The finished dashboard with every final render done."""
    await finished(pilot)
    app = pilot.app
    assert isinstance(app, MaoApp)
    screen = dashboard(app)
    await screen.settle()
    return screen


def plain(value: object) -> str:
    return str(getattr(value, "plain", value))


def cell(screen: DashboardScreen, row: str, column: str) -> str:
    return plain(screen.plan_table.cell(row, column))


def static_text(widget: Any) -> str:
    return plain(widget.content)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    monkeypatch.setattr(TextArea.cursor_blink, "_default", False)
    yield


class Gate:
    """A runner that replays events, pausing before each index in ``stops`` until released.

    ``reached[i]`` is set when it pauses at ``stops[i]``; set ``release[i]`` to go on. After the
    last event it waits (forever, unless released too), so a test can look at a live session.
    """

    def __init__(self, events: list[EngineEvent], *stops: int) -> None:
        self.events = events
        self.stops = [*stops, len(events)]
        self.reached = [asyncio.Event() for _ in self.stops]
        self.release = [asyncio.Event() for _ in self.stops]
        self.cancelled = False

    async def pause(self, number: int) -> None:
        self.reached[number].set()
        await self.release[number].wait()

    async def __call__(self, sink: EventSink) -> SessionFinished:
        result: SessionFinished | None = None
        try:
            for index, event in enumerate(self.events):
                if index in self.stops:
                    await self.pause(self.stops.index(index))
                await sink(event)
                await asyncio.sleep(0)
                if isinstance(event, SessionFinished):
                    result = event
            await self.pause(len(self.stops) - 1)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        assert result is not None
        return result


def text_delta_indexes(events: list[EngineEvent], workstream: str) -> list[int]:
    return [
        index
        for index, event in enumerate(events)
        if isinstance(event, Delta) and event.workstream == workstream and event.channel == "text"
    ]


# -- a whole session -----------------------------------------------------------------------


async def test_finished_session_shows_plan_panels_fallback_and_synthesis() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot)
        screen = dashboard(app)

        # title and the SIMULATED badge
        assert static_text(screen.title_bar.title) == f"mao · develop · {TASK}"
        assert screen.title_bar.has_class("-simulated")
        badge = screen.title_bar.badge
        assert static_text(badge).strip() == "SIMULATED"
        assert badge.region.width >= len("SIMULATED")
        assert "SIMULATED" in static_text(screen.status_bar)

        # the plan table: one row per workstream, synthesis last
        table = screen.plan_table
        assert table.row_keys == LANE_KEYS
        for key in LANE_KEYS:
            assert cell(screen, key, "model") == FINAL_MODEL[key]
        assert cell(screen, "schemas", "status") == "done (2)"
        assert cell(screen, "schemas", "provider") == "anthropic"
        for key in LANE_KEYS[1:]:
            assert cell(screen, key, "status") == "done"
        assert cell(screen, "storage", "elapsed") == "18.0s"  # its attempt, from event timestamps
        assert cell(screen, "storage", "tokens") == "2.1k→1.6k"
        assert cell(screen, "storage", "rate") == "90"  # 1620 tokens / 18.0 s
        assert cell(screen, SYNTHESIS_KEY, "cost") == "$0.1005"

        # one panel per lane, each with its model, its answer and its thinking
        for key in LANE_KEYS:
            panel = screen.panels[key]
            assert FINAL_MODEL[key] in plain(panel.border_title)
            assert "⚡" in plain(panel.border_title)
            assert panel.answer.source == ANSWERS[key]
            assert ANSWER_MARKERS[key] in panel.answer.source
            assert panel.final_rendered, "the answer was rendered as Markdown once it ended"
            assert ANSWER_MARKERS[key] in " ".join(panel.plain_lines)
            assert panel.thinking_text == THINKING[key]
            assert panel.thinking_folded  # folded away once the answer began
            assert f"▸ Thinking · {len(THINKING[key]):,} chars" in panel.plain_lines
            panel.fold_thinking(False)  # laid out when shown
            await pilot.pause()
            assert panel.shown_thinking == THINKING[key]
            assert THINKING[key].split()[0] in " ".join(panel.plain_lines)
            assert "done" in plain(panel.border_subtitle)

        # thinking is distinct from the answer: dim italic, folded away by the answer
        storage = screen.panels["storage"]
        thinking_style = storage.get_component_rich_style("panel--thinking")
        assert thinking_style.italic
        assert thinking_style.color != storage.rich_style.color

        # the fallback is in the log and on the panel, never hidden
        assert screen.fallback_log.lines == [FALLBACK_LINE]
        row = [plain(value) for value in screen.fallback_log.get_row_at(0)]
        assert row == ["+00:31", "Schemas", "gemini-4-argon → sonnet-5.5", "timeout"]
        notes = "\n".join(screen.panels["schemas"].plain_lines)
        assert "gemini-4-argon → sonnet-5.5 (timeout)" in notes
        assert "attempt 1 on gemini-4-argon failed: timeout" in notes

        # the synthesis pane
        synthesis = screen.panels[SYNTHESIS_KEY]
        assert synthesis.has_class("-synthesis")
        assert "Synthesis" in plain(synthesis.border_title)
        assert ANSWER_MARKERS[SYNTHESIS_KEY] in synthesis.answer.source

        # totals
        status = static_text(screen.status_bar)
        assert status.startswith(" done ")
        for part in ("1m 10s", "$0.2514", "in 21.6k", "out 10.8k", "thinking 6.0k", "6/6"):
            assert part in status
        assert "1 fallback" in status

        assert app.session_result is not None
        assert app.session_result.session_id == SESSION_ID
        await pilot.press("q")
    assert app.return_value == 0


async def test_a_title_that_already_names_the_command_is_not_repeated() -> None:
    app = MaoApp(replay_runner(), simulated=True, title="mao · develop")
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot)
        assert static_text(dashboard(app).title_bar.title) == f"mao · develop · {TASK}"


async def test_unknown_cost_is_said_so() -> None:
    events = recorded_events()
    last = events[-1]
    assert isinstance(last, SessionFinished)
    totals = TokenTotals(**{**last.totals.model_dump(), "cost_complete": False})
    events[-1] = last.model_copy(update={"totals": totals})
    app = MaoApp(replay_runner(events), simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot)
        assert "$0.2514 + cost unknown" in static_text(dashboard(app).status_bar)


async def test_not_simulated_has_no_badge() -> None:
    events = [
        event.model_copy(update={"simulated": False}) if event.type == "session_started" else event
        for event in recorded_events()
    ]
    app = MaoApp(replay_runner(events), simulated=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot)
        screen = dashboard(app)
        assert not screen.title_bar.has_class("-simulated")
        assert screen.title_bar.badge.region.width == 0
        assert "SIMULATED" not in static_text(screen.status_bar)


# -- streaming ------------------------------------------------------------------------------


async def test_answers_stream_at_a_bounded_rate_and_render_whole_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered: list[str] = []
    original = panel_module.render_markdown

    def render_markdown(text: str, width: int, **kw: Any) -> Any:
        rendered.append(text)
        return original(text, width, **kw)

    monkeypatch.setattr(panel_module, "render_markdown", render_markdown)

    events = recorded_events()
    storage_text = text_delta_indexes(events, "storage")
    gate = Gate(events, storage_text[len(storage_text) // 2])
    app = MaoApp(gate, simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        screen = dashboard(app)
        await pilot.pause()
        panel = screen.panels["storage"]
        panel.flush()
        partial = panel.shown_answer
        assert partial and ANSWERS["storage"].startswith(partial)
        assert len(partial) < len(ANSWERS["storage"])
        assert ANSWERS["storage"] not in rendered  # streaming text is never a Markdown render
        assert panel.thinking_folded  # folded once the answer began
        assert "writing" in plain(panel.border_subtitle)
        assert cell(screen, "storage", "status") == "running (1)"

        gate.release[0].set()
        await finished(pilot)
        assert panel.answer.source == ANSWERS["storage"]
        deltas = sum(1 for e in events if isinstance(e, Delta) and e.workstream == "storage")
        assert 1 <= panel.renders < deltas  # coalesced, never one layout per delta
        assert rendered.count(ANSWERS["storage"]) == 1  # whole once, when it ended
        await pilot.press("q")
    assert app.return_value == 0


async def test_a_streaming_panel_follows_its_newest_text_without_widgets() -> None:
    events = recorded_events()
    schemas_text = text_delta_indexes(events, "schemas")
    gate = Gate(events, schemas_text[-1])
    app = MaoApp(gate, simulated=True)
    async with app.run_test(size=(80, 24)) as pilot:  # a small panel: the text overflows it
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        screen = dashboard(app)
        await pilot.pause()
        screen.plan_table.cursor_row = 0
        await pilot.pause()
        panel = screen.panels["schemas"]
        panel.flush()
        await pilot.pause()
        assert not panel.children  # lines, not widgets: streaming never changes the layout
        assert panel.max_scroll_y > 0 and panel.scroll_y == panel.max_scroll_y
        last_line = panel.shown_answer.rstrip("\n").splitlines()[-1].strip()
        assert last_line.split()[-1] in panel.plain_lines[-1]
        gate.release[0].set()
        await finished(pilot)
        assert panel.answer.source == ANSWERS["schemas"]


# -- keys -------------------------------------------------------------------------------------


async def test_selecting_a_plan_row_focuses_its_panel_and_f_maximizes_it() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot)
        screen = dashboard(app)
        screen.plan_table.focus()
        await pilot.press("down", "down", "enter")
        assert screen.focused is screen.panels["core_logic"]
        await pilot.press("f")
        assert screen.maximized is screen.panels["core_logic"]
        await pilot.press("f")
        assert screen.maximized is None
        screen.plan_table.focus()
        await pilot.pause()
        assert screen.focused is screen.plan_table
        await pilot.press("down", "down", "down")
        assert screen.plan_table.cursor_row == len(LANE_KEYS) - 1
        await pilot.press("f")  # from the table: the highlighted row's panel
        assert screen.maximized is screen.panels[SYNTHESIS_KEY]


async def test_maximize_and_restore_keep_the_plan_row_and_its_focus() -> None:
    """f from the plan table maximizes the highlighted row's panel; f again gives the focus back
    to the table on the same row, so the next keys act on that row (they went to the synthesis:
    Textual moved the focus of the hidden table to the last panel)."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await finished(pilot)
        screen = dashboard(app)
        screen.plan_table.focus()
        await pilot.press("down")
        await pilot.press("f")
        assert screen.maximized is screen.panels[LANE_KEYS[1]]
        assert screen.focused is screen.panels[LANE_KEYS[1]]
        assert screen.plan_table.cursor_row == 1
        await pilot.press("f")
        await pilot.pause()
        assert screen.maximized is None
        assert screen.focused is screen.plan_table
        assert screen.plan_table.cursor_row == 1
        await pilot.press("down")
        assert screen.plan_table.cursor_row == 2
        await pilot.press("f", "escape")  # Esc restores too
        await pilot.pause()
        assert screen.maximized is None
        assert screen.focused is screen.plan_table
        assert screen.plan_table.cursor_row == 2


async def test_a_maximized_panel_fills_the_screen_and_restoring_it_repaints_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The screen's maximized-view rules (hatch, centring) would show nowhere around a panel
    that fills the screen, and changing them repainted every node of the dashboard at each f."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await settled(pilot)
        screen.plan_table.focus()
        refreshed: list[object] = []
        original = TitleBar.refresh

        def refresh(self: TitleBar, *regions: Any, **kw: Any) -> Any:
            refreshed.append(regions)
            return original(self, *regions, **kw)

        monkeypatch.setattr(TitleBar, "refresh", refresh)
        await pilot.press("f")
        await pilot.pause()
        panel = screen.panels[LANE_KEYS[0]]
        assert screen.maximized is panel
        footer = screen.footer.region
        assert panel.region == Region(0, 0, 160, footer.y) and footer.bottom == 48
        await pilot.press("f")
        await pilot.pause()
        assert screen.maximized is None
        assert screen.focused is screen.plan_table
        assert refreshed == []


async def test_f_restyles_the_panel_only_for_its_focus_and_a_restyle_keeps_its_strips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The panel's ``-maximized`` class styles nothing outside the screen's maximized view, so
    f restyles the panel only for the focus it takes and gives back. A restyle that moves no
    colour keeps the lines the panel painted (it painted every row again)."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await settled(pilot)
        screen.plan_table.focus()
        await pilot.pause()
        panel = screen.panels[LANE_KEYS[0]]
        painted = [
            y for y in range(panel.size.height) if isinstance(panel._row(y), tuple)
        ]  # rows painted through the panel's cache (the final Markdown's are strips already)
        assert painted
        before = [panel.render_line(y) for y in painted]
        panel.add_class("-styles-nothing")
        await pilot.pause()
        after = [panel.render_line(y) for y in painted]
        assert all(a is b for a, b in zip(before, after, strict=True))

        applied: list[object] = []
        apply = app.stylesheet.apply

        def counting(node: Any, *args: Any, **kwargs: Any) -> Any:
            if node is panel:
                applied.append(node)
            return apply(node, *args, **kwargs)

        monkeypatch.setattr(app.stylesheet, "apply", counting)
        await pilot.press("f")
        await pilot.pause()
        assert screen.maximized is panel and screen.focused is panel
        await pilot.press("f")
        await pilot.pause()
        assert screen.maximized is None and screen.focused is screen.plan_table
        assert len(applied) == 2  # focus and blur; the class, twice more, before


async def test_restoring_a_maximized_panel_renders_no_markdown_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """f renders the maximized answer for its new width (in the render thread); f again swaps
    back the render for the old width instead of rendering the document once more."""
    widths: list[int] = []
    render = panel_module.render_markdown

    def counting(text: str, width: int, **kwargs: Any) -> Any:
        widths.append(width)
        return render(text, width, **kwargs)

    monkeypatch.setattr(panel_module, "render_markdown", counting)
    monkeypatch.setattr(panel_module, "INPUT_IDLE_S", 0.0)
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await settled(pilot)
        panel = screen.panels[LANE_KEYS[0]]
        narrow = panel.scrollable_content_region.width
        screen.plan_table.focus()
        widths.clear()
        await pilot.press("f")
        await pilot.pause()
        await panel.settle()
        assert widths == [panel.scrollable_content_region.width] and widths[0] > narrow
        await pilot.press("f")
        await pilot.pause()
        await screen.settle()
        assert widths == [widths[0]]  # nothing rendered for the restore
        assert panel.final_rendered
        assert panel.answer.source == ANSWERS[LANE_KEYS[0]]


async def test_enter_on_a_fallback_row_shows_the_whole_error() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await finished(pilot)
        screen = dashboard(app)
        screen.fallback_log.focus()
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, FallbackDetail)
        facts = static_text(detail.query_one("#facts"))
        for fact in ("Schemas", "gemini-4-argon", "sonnet-5.5", "timeout", "+00:31"):
            assert fact in facts
        error = static_text(detail.query_one("#error-text"))
        assert error.startswith("no response within 30 s")  # as the engine reported it
        assert "timeout: no response within 30 s" in error  # and the failed attempt's end
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_t_hides_and_shows_all_thinking() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot)
        screen = dashboard(app)

        def shown() -> list[bool]:
            return [
                any("Thinking" in line for line in panel.plain_lines)
                for panel in screen.panels.values()
            ]

        assert all(shown())
        await pilot.press("t")
        await pilot.pause()
        assert not screen.thinking_visible
        assert not any(shown())
        await pilot.press("t")
        await pilot.pause()
        assert all(shown())


async def test_help_lists_the_bindings_and_closes() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = static_text(app.screen.query_one("#help-keys"))
        for description in ("Quit", "Thinking", "Maximize", "Help"):
            assert description in text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_a_dialog_is_repainted_for_changes_below_it_not_for_every_message_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual marked the screen below a dialog dirty again at each of its refreshes: every
    message the dashboard handled (deltas, ~20 a second while models stream) repainted the
    whole dimmed dashboard under the dialog, and keys for the dialog waited."""
    events = recorded_events()
    gate = Gate(events, text_delta_indexes(events, "storage")[5])
    app = MaoApp(gate, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        screen = dashboard(app)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        await pilot.pause()
        repaints: list[object] = []
        original = help_screen.refresh

        def refresh(*regions: Any, **kw: Any) -> Any:
            repaints.append(regions)
            return original(*regions, **kw)

        monkeypatch.setattr(help_screen, "refresh", refresh)
        screen.status_bar.refresh()  # one change below the dialog
        for _ in range(10):
            screen.call_later(lambda: None)  # a message to the dashboard, then idle
            await pilot.pause()
        assert 1 <= len(repaints) <= 2
        await pilot.press("escape")
        assert app.screen is screen
        gate.release[0].set()
        await finished(pilot)


async def test_the_first_dialog_does_not_restyle_the_dashboard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dialogs' CSS is read when the dashboard opens, not at the first dialog: Textual then
    restyled every node of the app between the key and the dialog's first frame."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await settled(pilot)
        restyled: list[object] = []
        monkeypatch.setattr(app.stylesheet, "update", lambda *a, **kw: restyled.append(a))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is screen
        assert restyled == []


def test_every_binding_has_an_id_a_description_and_a_palette_command() -> None:
    bindings = [*MaoApp.BINDINGS, *DashboardScreen.BINDINGS]
    for binding in bindings:
        assert not isinstance(binding, tuple)
        assert binding.id and binding.description
    app = MaoApp(replay_runner(), simulated=True)
    titles = {command.title for command in app.get_system_commands(app.dashboard)}
    assert {"Quit", "Toggle thinking", "Maximize panel", "Help"} <= titles


# -- exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [["q", "y"], ["ctrl+c"]])
async def test_quitting_while_running_cancels_the_runner_and_exits_130(keys: list[str]) -> None:
    gate = Gate(recorded_events(), 40)
    app = MaoApp(gate, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        assert app.running
        await pilot.press(*keys)
        await asyncio.wait_for(_exited(app), GUARD_S)
    assert gate.cancelled
    assert app.return_value == 130


async def test_q_asks_first_while_models_work_and_staying_keeps_them_working() -> None:
    gate = Gate(recorded_events(), 40)
    app = MaoApp(gate, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(gate.reached[0].wait(), GUARD_S)
        await pilot.press("q")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert isinstance(app.screen, DashboardScreen)
        assert app.running and not gate.cancelled
        gate.release[0].set()
        await finished(pilot)
        await pilot.press("q")  # nothing running any more: no question
    assert app.return_value == 0


async def _exited(app: MaoApp) -> None:
    while app.is_running:
        await asyncio.sleep(0.01)


async def test_failed_session_exits_1() -> None:
    events = recorded_events()
    last = events[-1]
    assert isinstance(last, SessionFinished)
    events[-1] = last.model_copy(update={"status": SessionStatus.FAILED, "error": "boom"})
    app = MaoApp(replay_runner(events), simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot)
        assert static_text(dashboard(app).status_bar).startswith(" failed ")
        await pilot.press("q")
    assert app.return_value == 1


async def test_a_crashing_runner_is_shown_as_failed_and_exits_1() -> None:
    async def crash(sink: EventSink) -> SessionFinished:
        for event in recorded_events()[:10]:
            await sink(event)
        raise RuntimeError("provider exploded")

    app = MaoApp(crash, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot)
        status = static_text(dashboard(app).status_bar)
        assert status.startswith(" failed ") and "provider exploded" in status
        await pilot.press("q")
    assert app.return_value == 1


async def test_runner_that_returns_without_emitting_the_end_still_finishes() -> None:
    events = recorded_events()
    end = events.pop()
    assert isinstance(end, SessionFinished)

    async def quiet(sink: EventSink) -> SessionFinished:
        for event in events:
            await sink(event)
        return end

    app = MaoApp(quiet, simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot)
        await pilot.press("q")
    assert app.return_value == 0


# -- the look -------------------------------------------------------------------------------


SnapCompare = Callable[..., bool]


def _finished_app() -> MaoApp:
    return MaoApp(replay_runner(), simulated=True)


def test_snapshot_dashboard_200x60(snap_compare: SnapCompare) -> None:
    assert snap_compare(_finished_app(), terminal_size=(200, 60), run_before=finished)


def test_snapshot_dashboard_80x24(snap_compare: SnapCompare) -> None:
    assert snap_compare(_finished_app(), terminal_size=(80, 24), run_before=finished)


_: Callable[[Pilot[Any]], Awaitable[None]] = finished
assert T0.tzinfo is not None
