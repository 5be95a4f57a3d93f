"""What Home and History share: the backend they read sessions through, opening a stored session
for review, and going back.

Screens never reach for the app's class: they post :class:`~mao_tui.tui.messages.OpenReview` or
:class:`~mao_tui.tui.messages.OpenSession`, and the app, which handles them, opens the dashboard.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.screen import Screen

from mao_tui.service.ports import Backend
from mao_tui.tui.frames import WholeFirstFrame
from mao_tui.tui.messages import OpenReview
from mao_tui.tui.pane_focus import mark_focused_pane
from mao_tui.tui.restyle import RestylesWhenStale


class BackendScreen(WholeFirstFrame, RestylesWhenStale, Screen[None]):
    FOCUS_PANES: ClassVar[str] = ""  # a selector: the panes whose border shows the focus

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        if self.FOCUS_PANES:
            mark_focused_pane(self, self.FOCUS_PANES)

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        if self.FOCUS_PANES:
            mark_focused_pane(self, self.FOCUS_PANES)

    def open_review(self, session_id: str) -> None:
        self.post_message(OpenReview(session_id))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:  # opened over another screen: back to it
            self.dismiss()
