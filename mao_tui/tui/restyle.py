"""A screen restyled when it comes back only if its styles could have gone stale.

Textual (8.2) styles every node as it mounts, and again, all of them, whenever a screen is
resumed: when it is first pushed (7.8 ms of the 87 nodes before Home's first frame) and each
time a dialog that mao keeps opens again (~3 ms of the picker's or the help's first frame). The
second pass changes a node only if, since the node was styled:

- a stylesheet source that can reach it was added: one without a scope, as a screen's CSS file
  is; a widget's scoped default CSS comes in before the first node it can reach;
- the theme's variables changed (a theme change sets them), or the stylesheet was replaced (a
  CSS file reloaded in development);
- the app's own pseudo-classes changed (``:focus``/``:blur`` of the terminal window, ``:dark``):
  Textual restyles only the current screen for those.

Changes to a node's own classes and pseudo-classes restyle it when they happen, on any screen.
So a screen notes that state when it composes and each time it is restyled on resume, and tells
Textual's resume handler (which runs after this one) to skip the pass while the state is the
same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events

from mao_tui.tui.kept_css import KeptStylesheet

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    _Base = Screen[Any]
else:
    _Base = object  # a plain mixin: a Screen in a dialog's bases brings Screen's CSS in again

StyleState = tuple[int, int, int, frozenset[str]]


def style_state(app: App[Any]) -> StyleState | None:
    """What the styles of a node styled now depend on beyond the node; None: not known."""
    sheet = app.stylesheet
    if not isinstance(sheet, KeptStylesheet):
        return None
    unscoped = sum(1 for source in sheet.source.values() if not source.scope)
    return id(sheet), sheet.variables_set, unscoped, frozenset(app.get_pseudo_classes())


class RestylesWhenStale(_Base):
    """Mixed into a screen, before Textual's classes."""

    _styled_in: StyleState | None = None

    def on_compose(self, _event: events.Compose) -> None:
        # The screen itself was styled when it was registered, before Textual read its CSS
        # file (a dialog's `align`): styled again now, alone, as its children will be at mount.
        self.update_node_styles(animate=False)
        self._styled_in = style_state(self.app)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not event.refresh_styles:  # a dialog closed over this screen: Textual skips it too
            return
        state = style_state(self.app)
        if state is not None and state == self._styled_in:
            event.refresh_styles = False
        self._styled_in = state
