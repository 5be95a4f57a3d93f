"""Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer recomposes (and so lays out the whole screen) whenever the screen's bindings are
refreshed, which a cursor move in a table does. While seven panels stream, that layout was the
slowest thing a key press triggered; the keys shown almost never change.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class QuietFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[tuple[str, str, str, bool], ...] | None = None

    def _signature(self, screen: Screen[object]) -> tuple[tuple[str, str, str, bool], ...]:
        return tuple(
            (binding.key, binding.description, binding.action, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        signature = self._signature(screen)
        if signature == self._shown and self._bindings_ready:
            return
        self._shown = signature
        super().bindings_changed(screen)
