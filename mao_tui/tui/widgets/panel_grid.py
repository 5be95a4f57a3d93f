"""The dashboard's model panels, one per lane, and when each is laid out.

Deltas only mark a panel: :meth:`PanelGrid.flush` lays out those on screen that received text,
from the screen's interval at most ``FLUSH_HZ`` times a second, the focused one every time and
the others in turns (``FLUSH_TURNS``), so that one screen update never repaints every streaming
panel. On narrow screens only the current lane's panel is shown. The lanes and the clock are the
dashboard's reducer's (:class:`~mao_tui.tui.reducer.DashboardState`): read here, never changed.
"""

from __future__ import annotations

from datetime import datetime

from textual.containers import Vertical
from textual.widgets import Static

from mao_tui.domain import SYNTHESIS_KEY
from mao_tui.tui.reducer import DashboardState
from mao_tui.tui.widgets.panel import ModelPanel

FLUSH_TURNS = 2  # an unfocused panel is laid out every FLUSH_TURNS flushes (5 Hz at 10 Hz)


class PanelGrid(Vertical):
    def __init__(self, state: DashboardState, *, id: str) -> None:
        super().__init__(id=id)
        self.state = state
        self.panels: dict[str, ModelPanel] = {}
        self.thinking_shown = True
        self._dirty: set[ModelPanel] = set()
        self._turn = 0
        self._narrow = False
        self._current_key = ""

    # -- the panels -----------------------------------------------------------------------------

    def show_planning(self, text: str) -> None:
        """What the placeholder says before the plan: pre-flight, then planning."""
        placeholder = self.query("#panels-placeholder")
        if placeholder:
            placeholder.first(Static).update(text)

    async def show_plan(self, now: datetime | None) -> None:
        """A panel per lane of a new plan, in place of whatever was here."""
        lanes = list(self.state.lanes.values())
        self.panels = {lane.key: ModelPanel(lane, turn=i) for i, lane in enumerate(lanes)}
        self._dirty.clear()
        await self.remove_children()
        await self.mount_all(self.panels.values())
        for panel in self.panels.values():
            self._show_new(panel, now)
        self.select(lanes[0].key)
        self._show_current()

    async def add(self, keys: tuple[str, ...], now: datetime | None) -> None:
        """A fix round's lanes, before the synthesis's panel."""
        for key in keys:
            panel = self.panels[key] = ModelPanel(self.state.lanes[key], turn=len(self.panels))
            await self.mount(panel, before=self.panels[SYNTHESIS_KEY])
            self._show_new(panel, now)
        self._show_current()

    def _show_new(self, panel: ModelPanel, now: datetime | None) -> None:
        panel.show_lane(self.state.lanes[panel.key], now)
        panel.show_thinking(self.thinking_shown)

    def show_thinking(self, shown: bool) -> None:
        self.thinking_shown = shown
        for panel in self.panels.values():
            panel.show_thinking(shown)

    # -- an attempt's text ----------------------------------------------------------------------

    def begin(self, key: str) -> None:
        """The lane's new attempt, from its start."""
        panel = self.panels[key]
        current = self.state.lanes[key].current
        assert current is not None
        panel.begin_attempt(current)
        self._dirty.discard(panel)

    def streamed(self, key: str, *, answer_started: bool) -> None:
        """Text arrived: the panel is laid out at its next turn, not now."""
        panel = self.panels[key]
        if answer_started:
            panel.start_answer()
            panel.show_lane(self.state.lanes[key], self.state.clock.now())
        self._dirty.add(panel)

    def end(self, key: str) -> None:
        """The attempt is over: the rest of its text, then its answer rendered once."""
        panel = self.panels[key]
        self._dirty.discard(panel)
        panel.end_attempt()

    # -- rendering cadence ----------------------------------------------------------------------

    def flush(self, *, every: bool = True) -> None:
        """Lay out the panels on screen that received text since their last layout; from the
        timer (``every=False``), only the focused panel and those whose turn it is."""
        self._turn += 1
        if not self._dirty:
            return
        maximized = self.screen.maximized
        focused = self.screen.focused
        for panel in list(self._dirty):
            if not panel.display or (maximized is not None and maximized is not panel):
                continue  # off screen: its text waits in the model until it is shown
            if not every and panel is not focused and (panel.turn + self._turn) % FLUSH_TURNS:
                continue
            self._lay_out(panel)

    def _lay_out(self, panel: ModelPanel) -> None:
        self._dirty.discard(panel)
        lane = self.state.lanes.get(panel.key)
        if lane is not None:  # the panel repaints anyway: its live rate comes along
            panel.show_lane(lane, self.state.clock.now())
        panel.flush()

    def tick(self, now: datetime | None) -> None:
        """Running lanes' clocks, for those whose text does not stream yet (no flush carries
        them); a streaming panel's live rate comes with its layout."""
        for lane in self.state.lanes.values():
            if lane.running and not lane.live_chars:
                self.panels[lane.key].show_lane(lane, now)

    async def settle(self) -> None:
        """Lay out everything now and wait for every final render (tests, screenshots)."""
        for panel in self.panels.values():
            self._lay_out(panel)
        for panel in self.panels.values():
            await panel.settle()

    # -- which panels are shown -----------------------------------------------------------------

    def select(self, key: str) -> None:
        """Make ``key`` the current lane: its panel is the one shown on narrow screens."""
        if key != self._current_key:
            self._current_key = key
            if self._narrow:
                self._show_current()

    def set_narrow(self, narrow: bool) -> None:
        if narrow != self._narrow:
            self._narrow = narrow
            self._show_current()

    def _show_current(self) -> None:
        """Narrow screens show one panel, the current lane's; wider ones show them all."""
        for key, panel in self.panels.items():
            shown = not self._narrow or key == self._current_key
            if panel.display != shown:
                panel.display = shown
                if shown:
                    panel.flush()
