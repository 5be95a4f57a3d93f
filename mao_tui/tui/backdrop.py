"""A dialog's dimmed copy of the screen below it, tinted from that screen's own strips.

Textual (8.2) draws a modal screen's translucent background by rendering the screen below
through Rich (its compositor as a renderable, every segment tinted, the lines split and cropped
again), for the dialog's first frame and again at every refresh of a region under it: ~44 ms a
frame over the streaming 160x48 dashboard. The same tint
(:meth:`BackgroundScreen.process_segments`, once per distinct style) applied to the strips the
compositor renders costs ~5 ms on top of those strips (~28 ms); the cells are the same (the
dialogs' snapshot tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen
from textual.strip import Strip

__all__ = ["DimmedBackdrop"]

# A plain mixin at run time: a Screen subclass in a dialog's bases would bring Screen's default
# CSS in again after ModalScreen's, and the dialog's background would be opaque.
if TYPE_CHECKING:
    _Base = ModalScreen[Any]
else:
    _Base = object


class DimmedBackdrop(_Base):
    """Mixed into a dialog (before ``ModalScreen``): its background from the screen below's
    strips, when that screen is a full one and the dialog is on top; else Textual's way."""

    def _screen_resized(self, size: Size) -> None:
        """Textual sends a new screen a Resize after its first layout, at the same size: a
        second full layout and render (the backdrop too) just after the dialog's first frame,
        that the next key (Esc) waited for. A real resize still goes through."""
        if size == self._compositor.size:
            return
        super()._screen_resized(size)

    def render_lines(self, crop: Region) -> list[Strip]:
        app = self.app
        stack = app.screen_stack
        color = self.styles.background
        if (
            app.is_inline
            or len(stack) < 2
            or stack[-1] is not self
            or isinstance(stack[-2], ModalScreen)
            or not 0 < color.a < 1
            # A resize reaches the dialog and the screen below as two messages: until the
            # one below has its own, its strips are the old size (Textual's way pads them).
            or stack[-2]._compositor.size != self._compositor.size
        ):
            return super().render_lines(crop)
        strips = stack[-2]._compositor.render_strips()
        tinted: dict[Style | None, Style] = {}
        under = self.visual_style.rich_style  # what Textual lays under a renderable's segments

        def tint(strip: Strip) -> Strip:
            segments = []
            for text, style, control in strip:
                if not control:
                    new = tinted.get(style)
                    if new is None:
                        (dimmed,) = BackgroundScreen.process_segments([Segment(text, style)], color)
                        new = tinted[style] = under + dimmed.style
                    style = new
                segments.append(Segment(text, style, control))
            return Strip(segments, strip.cell_length)

        return [tint(strip).crop(crop.x, crop.right) for strip in strips[crop.y : crop.bottom]]
