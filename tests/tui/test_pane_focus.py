"""The pane holding the focus is marked ``-focused``, and only the panes are styled again; on the
dashboard a focus move repaints what it changed, not the whole screen."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, ClassVar

import pytest
from fixtures.develop_session import replay_runner
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Input

from mao_tui.tui import MaoApp
from mao_tui.tui.pane_focus import FOCUSED, mark_focused_pane
from mao_tui.tui.widgets.panel import ModelPanel

GUARD_S = 30


class Panes(Screen[None]):
    AUTO_FOCUS = "#a1"
    DEFAULT_CSS: ClassVar[str] = """
    .pane { border: round red; height: auto; }
    .pane.-focused { border: round green; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="left", classes="pane"):
            yield Input(id="a1")
            yield Input(id="a2")
        with Vertical(id="right", classes="pane"):
            yield Input(id="b1")
        yield Input(id="outside")

    def on_descendant_focus(self) -> None:
        mark_focused_pane(self, ".pane")

    def on_descendant_blur(self) -> None:
        mark_focused_pane(self, ".pane")


class PanesApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Panes())


def _marked(screen: Screen[None]) -> list[str]:
    return [str(node.id) for node in screen.query(f".{FOCUSED}")]


async def test_the_mark_follows_the_focus_and_restyles_only_the_panes() -> None:
    app = PanesApp()
    async with app.run_test() as pilot:
        screen = app.screen
        await pilot.pause()
        assert _marked(screen) == ["left"]
        left, right = screen.query_one("#left"), screen.query_one("#right")
        assert left.styles.border_top != right.styles.border_top

        restyled: list[list[str]] = []
        update_nodes = app.stylesheet.update_nodes

        def counted(nodes: Iterable[DOMNode], animate: bool = False) -> None:
            nodes = list(nodes)
            restyled.append([str(node.id) for node in nodes])
            update_nodes(nodes, animate=animate)

        app.stylesheet.update_nodes = counted  # type: ignore[method-assign]
        await pilot.press("tab")  # a1 -> a2: same pane, nothing to mark
        assert app.focused is screen.query_one("#a2")
        assert _marked(screen) == ["left"]
        assert not any("left" in nodes for nodes in restyled)

        await pilot.press("tab")  # a2 -> b1: the mark moves, the two panes alone restyled
        assert _marked(screen) == ["right"]
        assert ["left", "right"] in restyled
        assert right.styles.border_top != left.styles.border_top

        await pilot.press("tab")  # outside every pane
        assert _marked(screen) == []
        screen.set_focus(None)
        await pilot.pause()
        assert _marked(screen) == []


async def test_a_focus_move_on_the_dashboard_repaints_what_changed_not_the_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual's ``Screen.focused`` repaints the whole screen when it changes (~11 ms over seven
    panels, on each Enter, Tab and ``f``); the dashboard's does not, and what the move changed
    (the two panes' borders, the panel's and the plan's focus styles) is still painted."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        dashboard = app.dashboard
        await asyncio.wait_for(dashboard.ended(1), GUARD_S)
        dashboard.plan_table.focus()
        await pilot.pause()
        assert _marked(dashboard) == ["plan-pane"]
        full: list[object] = []
        partial: list[object] = []
        render_full, render_partial = (
            Compositor.render_full_update,
            Compositor.render_partial_update,
        )

        def counting_full(self: Compositor, *args: Any, **kwargs: Any) -> Any:
            full.append(self)
            return render_full(self, *args, **kwargs)

        def counting_partial(self: Compositor, *args: Any, **kwargs: Any) -> Any:
            partial.append(self)
            return render_partial(self, *args, **kwargs)

        monkeypatch.setattr(Compositor, "render_full_update", counting_full)
        monkeypatch.setattr(Compositor, "render_partial_update", counting_partial)
        await pilot.press("enter")  # the selected row's panel takes the focus
        await pilot.pause()
        assert isinstance(app.focused, ModelPanel)
        assert _marked(dashboard) == []
        assert full == [] and partial
        for _ in range(12):  # back through the panels and the fallback log to the plan
            await pilot.press("shift+tab")
            if app.focused is dashboard.plan_table:
                break
        await pilot.pause()
        assert app.focused is dashboard.plan_table
        assert _marked(dashboard) == ["plan-pane"]
        assert full == []
