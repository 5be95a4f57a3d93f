"""Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer recomposes (and so lays out the whole screen) whenever the screen's bindings are
refreshed, which a cursor move in a table does. While seven panels stream, that layout was the
slowest thing a key press triggered; the keys shown almost never change.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Left out of a narrow footer (help and ctrl+p list them): what is left fits 80 columns, so
# quit, help, History and New are never cut off.
NARROW_HIDDEN = frozenset({"cancel", "resynthesize", "export"})


class QuietFooter(Footer):
    narrow: reactive[bool] = reactive(False, init=False)
    """A narrow terminal: without the keys of NARROW_HIDDEN."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[tuple[str, str, str, bool], ...] | None = None

    def watch_narrow(self) -> None:
        self._shown = None
        if self.is_attached and self._bindings_ready:
            self.bindings_changed(self.screen)

    def _shows(self, binding_id: str | None) -> bool:
        return not (self.narrow and binding_id in NARROW_HIDDEN)

    def _signature(self, screen: Screen[object]) -> tuple[tuple[str, str, str, bool], ...]:
        return tuple(
            (binding.key, binding.description, binding.action, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show and self._shows(binding.id)
        )

    def compose(self) -> ComposeResult:
        """Textual's footer (no groups here), less the keys a narrow terminal leaves out."""
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        seen: set[str] = set()
        keys: list[FooterKey] = []
        for _, binding, enabled, tooltip in active.values():
            if not binding.show or not self._shows(binding.id) or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append(
                FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)
            )
        self.styles.grid_size_columns = len(keys)
        yield from keys
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _, binding, enabled, tooltip = palette
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )

    def bindings_changed(self, screen: Screen[object]) -> None:
        signature = self._signature(screen)
        if signature == self._shown and self._bindings_ready:
            return
        self._shown = signature
        super().bindings_changed(screen)
