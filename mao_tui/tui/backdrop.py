"""A dialog's dimmed copy of the screen below it, tinted from that screen's own strips.

Textual (8.2) draws a modal screen's translucent background by rendering the screen below
through Rich (its compositor as a renderable, every segment tinted, the lines split and cropped
again), for the dialog's first frame and again at every refresh of a region under it: ~44 ms a
frame over the streaming 160x48 dashboard. The same tint
(:meth:`BackgroundScreen.process_segments`, once per distinct style) applied to the strips the
compositor renders costs ~5 ms on top of those strips (~28 ms); the cells are the same (the
dialogs' snapshot tests).

The tinted lines are kept, and a refresh under the dialog renders again only the lines it
names: Textual asks the dialog for all of its lines at each frame, and the streaming dashboard
changed 11 to 41 of its 48 lines a frame (22 mostly)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen, Screen
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

    _backdrop: list[Strip | None] | None = None  # the lines below, tinted; None where stale
    _backdrop_of: tuple[object, ...] = ()  # what they were tinted from and with
    _tints: dict[Style | None, Style]

    def _screen_resized(self, size: Size) -> None:
        """Textual sends a new screen a Resize after its first layout, at the same size: a
        second full layout and render (the backdrop too) just after the dialog's first frame,
        that the next key (Esc) waited for. A real resize still goes through."""
        if size == self._compositor.size:
            return
        super()._screen_resized(size)

    def on_screen_suspend(self) -> None:
        """Closed (or covered): what is below changes unseen, and a kept dialog must not hold
        on to a screen that may be closed before it opens again."""
        self._backdrop = None
        self._backdrop_of = ()

    def _set_dirty(self, *regions: Region) -> None:
        """Textual's way of saying what changed: the regions the screen below repainted, which
        it hands on to the dialog on top; none for the whole dialog."""
        lines = self._backdrop
        if lines is not None:
            if not regions:
                self._backdrop = None
            for region in regions:
                for y in range(max(region.y, 0), min(region.bottom, len(lines))):
                    lines[y] = None
        super()._set_dirty(*regions)

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
            self._backdrop = None
            return super().render_lines(crop)
        below = stack[-2]
        under = self.visual_style.rich_style  # what Textual lays under a renderable's segments
        of = (below, below._compositor.size, color, under)
        lines = self._backdrop
        if lines is None or of != self._backdrop_of:
            lines = self._backdrop = [None] * below._compositor.size.height
            self._backdrop_of = of
            self._tints = {}
        stale = [y for y, line in enumerate(lines) if line is None]
        if stale:
            for y, strip in _lines_of(below, stale).items():
                lines[y] = self._tint(strip, color, under)
        tinted = cast("list[Strip]", lines)
        return [line.crop(crop.x, crop.right) for line in tinted[crop.y : crop.bottom]]

    def _tint(self, strip: Strip, color: Any, under: Style) -> Strip:
        tints = self._tints
        segments = []
        for text, style, control in strip:
            if not control:
                new = tints.get(style)
                if new is None:
                    (dimmed,) = BackgroundScreen.process_segments([Segment(text, style)], color)
                    new = tints[style] = under + dimmed.style
                style = new
            segments.append(Segment(text, style, control))
        return Strip(segments, strip.cell_length)


def _lines_of(screen: Screen[Any], ys: list[int]) -> dict[int, Strip]:
    """Lines ``ys`` (ascending) of what ``screen`` shows, as its compositor renders them."""
    compositor = screen._compositor
    wanted = set(ys)
    rows = Region(0, ys[0], compositor.size.width, ys[-1] - ys[0] + 1)
    chops = compositor._render_chops(rows, wanted.__contains__)
    return {y: Strip.join(chops[y].values()) for y in ys}
