"""A dialog (help, the model picker) over the streaming dashboard: its dimmed backdrop, and its
layouts when it opens."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fixtures.develop_session import recorded_events
from textual._context import visible_screen_stack
from textual.geometry import Size
from textual.pilot import Pilot
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen

from mao_tui.domain import Delta, EngineEvent, EventSink, SessionFinished
from mao_tui.tui import MaoApp, backdrop
from mao_tui.tui.backdrop import DimmedBackdrop
from mao_tui.tui.help import HelpScreen

GUARD_S = 30


class Paused:
    """Replays the recorded session up to its ``stop``-th text delta, then waits, streaming."""

    def __init__(self, stop: int) -> None:
        events = recorded_events()
        texts = [i for i, e in enumerate(events) if isinstance(e, Delta) and e.channel == "text"]
        self.events: list[EngineEvent] = events[: texts[stop]]
        self.reached = asyncio.Event()

    async def __call__(self, sink: EventSink) -> SessionFinished:
        for event in self.events:
            await sink(event)
            await asyncio.sleep(0)
        self.reached.set()
        await asyncio.Event().wait()  # until the app quits and cancels it
        raise AssertionError("unreachable")


def streaming_app(stop: int = 5) -> tuple[MaoApp, Paused]:
    runner = Paused(stop)
    return MaoApp(runner, simulated=True), runner


async def help_over_the_stream(pilot: Pilot[Any]) -> HelpScreen:
    """``?`` pressed on the dashboard while it streams: the help, laid out."""
    await pilot.press("question_mark")
    help_screen = pilot.app.screen
    assert isinstance(help_screen, HelpScreen)
    await pilot.pause()
    return help_screen


async def test_a_dialogs_dimmed_backdrop_is_textuals_without_rendering_through_rich(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual renders the screen under a dialog through Rich (its compositor as a renderable,
    tinted, split and cropped again: ~45 ms of the dialog's first frame over the dashboard);
    the dialogs tint the strips the compositor has, to the same cells."""
    app, runner = streaming_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(runner.reached.wait(), GUARD_S)
        help_screen = await help_over_the_stream(pilot)
        through_rich: list[object] = []
        rich_render = BackgroundScreen.__rich_console__

        def counting(self: BackgroundScreen, *args: Any) -> Any:
            through_rich.append(self)
            return rich_render(self, *args)

        monkeypatch.setattr(BackgroundScreen, "__rich_console__", counting)
        ours = [list(strip) for strip in help_screen._compositor.render_strips()]
        assert through_rich == []
        monkeypatch.setattr(DimmedBackdrop, "render_lines", ModalScreen.render_lines)
        help_screen.refresh()
        visible_screen_stack.set(app._background_screens)  # as Textual's render sets it
        textuals = [list(strip) for strip in help_screen._compositor.render_strips()]
        assert through_rich
        assert ours == textuals


async def test_a_dialog_is_laid_out_once_when_it_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual sends a new screen a Resize at the size it was just laid out at: a second full
    layout and render of the dialog and its backdrop, which the next key waited for."""
    app, runner = streaming_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(runner.reached.wait(), GUARD_S)
        layouts: list[object] = []
        original = HelpScreen._refresh_layout

        def counting(self: HelpScreen, size: Any = None, scroll: bool = False) -> None:
            layouts.append(size)
            original(self, size, scroll)

        monkeypatch.setattr(HelpScreen, "_refresh_layout", counting)
        await help_over_the_stream(pilot)
        assert [size for size in layouts if size is not None] == [app.size]
        await pilot.resize_terminal(120, 40)
        assert app.screen._compositor.size == (120, 40)


@pytest.mark.parametrize("size", [(170, 50), (120, 40)])
async def test_a_dialog_open_when_the_terminal_is_resized_paints_the_new_size(
    size: tuple[int, int],
) -> None:
    """Textual sends the resize to the dialog and to the screen under it as two messages: the
    dialog can be laid out and painted at the new size while the dashboard still has the old
    one. A backdrop made from the dashboard's strips was then narrower than the terminal, and
    writing that frame raised: mao quit on a terminal widened while a dialog was open."""
    app, runner = streaming_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(runner.reached.wait(), GUARD_S)
        dialog = await help_over_the_stream(pilot)
        new = Size(*size)
        app._driver._size = new  # type: ignore[union-attr]  # the headless driver's terminal
        dialog._screen_resized(new)  # the dialog's resize first, the dashboard's not yet
        assert app._background_screens[-1]._compositor.size == (160, 48)
        update = dialog._compositor.render_update(full=True, screen_stack=app._background_screens)
        assert update is not None
        frame = "".join(update.render_segments(app.console))
        assert frame.count("\n") == new.height - 1
        await pilot.resize_terminal(*size)  # and then everything at the new size
        strips = app.screen._compositor.render_strips()
        assert {strip.cell_length for strip in strips} == {new.width}
        assert len(strips) == new.height


class Stepped(Paused):
    """Paused, then one more event of the recording at each ``step`` set."""

    def __init__(self, stop: int) -> None:
        super().__init__(stop)
        self.rest = recorded_events()[len(self.events) :]
        self.step = asyncio.Event()
        self.sent = asyncio.Event()

    async def __call__(self, sink: EventSink) -> SessionFinished:
        for event in self.events:
            await sink(event)
        self.reached.set()
        for event in self.rest:
            await self.step.wait()
            self.step.clear()
            await sink(event)
            self.sent.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_next(self) -> None:
        """One more event of the recording, sent."""
        self.sent.clear()
        self.step.set()
        await asyncio.wait_for(self.sent.wait(), GUARD_S)


async def test_a_dialogs_backdrop_renders_again_only_the_lines_that_changed_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual asks a dialog for all its lines at every frame; the dimmed lines are kept, and
    only those the screen below repainted since are rendered again, to the same cells as a
    backdrop made whole."""
    runner = Stepped(5)
    app = MaoApp(runner, simulated=True)
    rendered: list[int] = []
    lines_of = backdrop._lines_of

    def counting(screen: Any, ys: list[int]) -> dict[int, Any]:
        rendered.append(len(ys))
        return lines_of(screen, ys)

    monkeypatch.setattr(backdrop, "_lines_of", counting)
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(runner.reached.wait(), GUARD_S)
        help_screen = await help_over_the_stream(pilot)
        assert rendered[0] == 48  # the first frame: every line
        visible_screen_stack.set(app._background_screens)
        frames: list[int] = []
        for _ in range(12):
            rendered.clear()
            await runner.send_next()
            await pilot.pause()
            frames += rendered
            kept = [list(strip) for strip in help_screen._compositor.render_strips()]
            help_screen._backdrop = None
            whole = [list(strip) for strip in help_screen._compositor.render_strips()]
            assert kept == whole
        assert frames and max(frames) < 48, frames


async def test_a_dialog_opened_again_does_not_show_the_lines_it_kept() -> None:
    """What changed below while the dialog was closed is not in its kept lines, which it lets
    go when closed (a kept dialog must not keep a closed dashboard alive)."""
    runner = Stepped(5)
    app = MaoApp(runner, simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await asyncio.wait_for(runner.reached.wait(), GUARD_S)
        help_screen = await help_over_the_stream(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert help_screen._backdrop is None and help_screen._backdrop_of == ()
        for _ in range(6):
            await runner.send_next()
        await pilot.pause()
        again = await help_over_the_stream(pilot)
        assert again is help_screen  # the help is kept
        visible_screen_stack.set(app._background_screens)
        kept = [list(strip) for strip in help_screen._compositor.render_strips()]
        help_screen._backdrop = None
        assert kept == [list(strip) for strip in help_screen._compositor.render_strips()]
