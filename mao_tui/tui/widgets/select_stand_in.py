"""A closed ``Select`` as one widget, for a screen's first frame.

A ``Select`` is six widgets: its current value (a row of three) and its option list (an
``OptionList`` of every option, hidden until opened). Mounting them was ~10 ms of Home's first
frame, an eighth of it. The stand-in draws what a closed ``Select`` shows, under the same rules
(textual/widgets/_select.py), and ``swap_in`` puts the real ``Select`` in its place once the frame
is on screen. A key or a click that reaches the stand-in first is not lost: the focus moves to
the ``Select``, and a request to open it opens it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Select

T = TypeVar("T", bound=str)

ARROW = "▼"


class SelectStandIn(Widget, Generic[T], can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"select-stand-in--arrow"}
    # SelectCurrent's rules, and Select's for it when focused; the label and the arrow as
    # SelectCurrent's two Statics have them.
    DEFAULT_CSS = """
    SelectStandIn {
        border: tall $border-blurred;
        color: $foreground;
        background: $surface;
        width: 1fr;
        height: auto;
        padding: 0 2;
        pointer: pointer;
        &:focus {
            border: tall $border;
            background-tint: $foreground 5%;
        }
        &:ansi {
            border: tall $border-blurred;
            color: ansi_default;
            background: ansi_default;
            &:focus {
                border: tall $border;
            }
        }
        & > .select-stand-in--arrow {
            color: $foreground 50%;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,down,space,up", "open", "Show menu", show=False),  # as Select's
    ]

    def __init__(self, options: Sequence[tuple[str, T]], value: T, *, select_id: str) -> None:
        super().__init__(id=f"{select_id}-stand-in")
        self.options = list(options)
        self.value = value
        self.select_id = select_id
        self.wants_open = False  # a key or click asked for the list before the swap
        label = next(prompt for prompt, option in self.options if option == value)
        self._label = Content.from_markup(label)  # as Select's Static shows its prompt

    def _label_lines(self, width: int) -> list[Content]:
        """The label as its Static wraps it, beside the arrow's two cells."""
        return self._label.wrap(max(width - 2, 1)) or [Content()]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._label_lines(width))

    def render(self) -> Content:
        width = self.size.width
        arrow = Content.styled(ARROW, self.get_visual_style("select-stand-in--arrow"))
        lines = [
            line.pad_right(width - 2 - line.cell_length) + (" " + arrow if y == 0 else "  ")
            for y, line in enumerate(self._label_lines(width))
        ]
        return Content("\n").join(lines)

    def action_open(self) -> None:
        self.wants_open = True

    async def _on_click(self, event: events.Click) -> None:
        event.stop()
        self.focus()
        self.wants_open = True

    def build(self) -> Select[T]:
        return Select(self.options, value=self.value, allow_blank=False, id=self.select_id)

    async def swap_in(self) -> Select[T]:
        """The real Select in this one's place, focused and open if this one was asked to be."""
        select = self.build()
        await put_in_place([(self, select)])
        if self.wants_open:
            select.action_show_overlay()
        return select


async def put_in_place(swaps: Sequence[tuple[Widget, Widget]]) -> None:
    """Each ``(stand_in, widget)``: the widget where its stand-in is, all in one frame. Each is
    mounted hidden before its stand-in (no frame without either while it composes), then
    shown as the stand-ins go; one that had the focus hands it on."""
    for stand_in, widget in swaps:
        widget.display = False
        parent = stand_in.parent
        assert isinstance(parent, Widget)
        await parent.mount(widget, before=stand_in)
    if not swaps:
        return
    with swaps[0][0].app.batch_update():
        for stand_in, widget in swaps:
            widget.display = True
            focused = stand_in.has_focus
            await stand_in.remove()
            if focused:
                widget.focus(scroll_visible=False)
