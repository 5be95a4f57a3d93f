"""A read-only table of one-line rows that builds only the rows it shows.

Looks and answers like a ``DataTable`` with ``cursor_type="row"`` and zebra stripes (same
styles, keys, mouse, scrolling), but the rows are items and a function that makes an item's
cells: nothing is measured or rendered for a row until it scrolls into view. Listing a few
hundred rows costs nothing; the screen's first frame draws only what fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

T = TypeVar("T")
HEADER = -1  # the row index of the header line, as the mouse metadata carries it


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # plain text, not markup
    width: int | None = None  # None: as wide as its widest cell (``RowTable.show`` is told)


class RowTable(ScrollView, Generic[T], can_focus=True):
    """Rows of ``cells(item)``, a row cursor, Enter or a click on the cursor row selects."""

    DEFAULT_CSS = """
    RowTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .row-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .row-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .row-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .row-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .row-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .row-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .row-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .row-table--header-hover {
            background: $accent 30%;
        }
        & > .row-table--hover {
            background: $block-hover-background;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--even-row",
        "row-table--odd-row",
        "row-table--cursor",
        "row-table--hover",
        "row-table--header-hover",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "cursor_top", "Top", show=False),
        Binding("ctrl+end", "cursor_bottom", "Bottom", show=False),
        Binding("home", "scroll_x_home", "Home", show=False),
        Binding("end", "scroll_x_end", "End", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False)
    hover_row: reactive[int] = reactive(0)

    class RowHighlighted(Message):
        def __init__(self, table: RowTable[Any], cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> RowTable[Any]:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[T], Sequence[Text]],
        key: Callable[[T], str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self._cells = cells
        self._key = key
        self.items: Sequence[T] = ()
        self.widths = [c.width or cell_len(c.label) for c in self.columns]  # without padding
        self._content: dict[int, list[list[Segment]]] = {}  # row → each cell's segments
        self._lines: dict[tuple[int, bool, bool], list[Segment]] = {}
        self._styles: dict[str, Style] = {}  # component class ("" the table's own) → style
        self._show_hover = False
        self.built_rows = 0  # rows whose cells were made (tests read it)

    # -- the rows ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.items)

    @property
    def row_keys(self) -> list[str]:
        return [self._key(item) for item in self.items]

    @property
    def cursor_key(self) -> str | None:
        """The cursor row's key; None while there are no rows."""
        return self._key(self.items[self.cursor_row]) if self.items else None

    def show(
        self,
        items: Sequence[T],
        widths: dict[str, int] | None = None,
        *,
        keep_cursor: bool = False,
    ) -> None:
        """List ``items``; ``widths`` gives the auto-width columns' widest cell. From the top,
        unless ``keep_cursor``: then the cursor stays on its row (the last, if fewer) and the
        view where it was."""
        cursor = min(self.cursor_row, len(items) - 1) if keep_cursor and items else 0
        self.items = items
        self.widths = [
            c.width or max(cell_len(c.label), (widths or {}).get(c.key, 0)) for c in self.columns
        ]
        self._content.clear()
        self._lines.clear()
        self.set_reactive(RowTable.cursor_row, cursor)
        self.set_reactive(RowTable.hover_row, 0)
        self.virtual_size = Size(sum(self.widths) + 2 * len(self.widths), len(items) + 1)
        if not keep_cursor:
            self.scroll_x = self.scroll_y = self.scroll_target_x = self.scroll_target_y = 0
        self.refresh()

    def update_row(self, row: int) -> None:
        """Row ``row``'s item changed: its cells are made again when it is next drawn, and
        no other row's are."""
        self._content.pop(row, None)
        for key in [key for key in self._lines if key[0] == row]:
            del self._lines[key]
        self._refresh_row(row)

    def _cell_segments(self, row: int) -> list[list[Segment]]:
        content = self._content.get(row)
        if content is None:
            if row == HEADER:
                texts: Sequence[Text] = [Text(c.label) for c in self.columns]  # plain, as sized
            else:
                texts = self._cells(self.items[row])
                self.built_rows += 1
            widths = self.widths
            content = [self._fit(text, width) for text, width in zip(texts, widths, strict=True)]
            self._content[row] = content
        return content

    def _fit(self, text: Text, width: int) -> list[Segment]:
        """The text on one line of ``width`` cells, as Rich renders it (fast when it fits)."""
        plain = text.plain
        simple = not text.spans and "\n" not in plain and "\t" not in plain
        left = text.justify in (None, "default")
        if simple and left and text.overflow == "ellipsis" and cell_len(plain) > width > 0:
            plain = set_cell_size(plain, width - 1) + "…"
        if simple and (left or text.justify == "right") and cell_len(plain) <= width:
            style = self.app.console.get_style(text.style) if text.style else None
            if text.justify == "right":
                plain = plain.rstrip()
                body = " " * (width - cell_len(plain)) + plain
                return [Segment(body, style)] if body else []
            fill = [Segment(" " * (width - cell_len(plain)))] if cell_len(plain) < width else []
            return ([Segment(plain, style)] if plain else []) + fill
        options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
        return self.app.console.render_lines(text, options, pad=True)[0]

    # -- drawing ----------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyled()

    def _on_resize(self, _: events.Resize) -> None:
        self._restyled()

    def _on_focus(self, _: events.Focus) -> None:
        self._restyled()

    def _on_blur(self, _: events.Blur) -> None:
        self._restyled()

    def _restyled(self) -> None:
        """Lines and styles are drawn again: each style is worked out once per change (from
        the node's ancestors: 40% of a line's drawing when it was worked out per line)."""
        self._lines.clear()
        self._styles.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        row = HEADER if y == 0 else y - 1 + scroll_y
        if row >= len(self.items):
            return Strip.blank(width, self._component_style(""))
        hover = self._show_hover and row == self.hover_row
        key = (row, row == self.cursor_row, hover)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = self._row_line(row, key[1], hover)
        strip = Strip(line).crop(scroll_x, scroll_x + width)
        return strip.adjust_cell_length(width, self._component_style("")).simplify()

    def _row_line(self, row: int, cursor: bool, hover: bool) -> list[Segment]:
        """A whole row, as ``DataTable._render_line_in_row`` draws it."""
        component = self._component_style
        if row == HEADER:
            row_style = component("row-table--header")
        else:
            row_style = component("row-table--odd-row" if row % 2 else "row-table--even-row")
        cell_style, post = self._cell_styles(row == HEADER, cursor, hover)
        base = row_style + cell_style
        unstyled = base + post
        line: list[Segment] = []
        for column, segments in enumerate(self._cell_segments(row)):
            # the cell's meta added last: the same style as Rich's order, one merge fewer
            meta = Style.from_meta({"row": row, "column": column})
            pad = Segment(" ", unstyled + meta)
            line.append(pad)
            for text, style, _ in segments:
                line.append(Segment(text, (base + style + post if style else unstyled) + meta))
            line.append(pad)
        used = sum(self.widths) + 2 * len(self.widths)
        extend, _ = self._cell_styles(row == HEADER, cursor, hover, post=False)
        outside = Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        extend = row_style + extend + outside
        line.append(Segment(" " * max(0, self.size.width - used), extend))
        return line

    def _component_style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            styles = self.get_component_styles(name) if name else self
            style = self._styles[name] = styles.rich_style
        return style

    def _cell_styles(
        self, header: bool, cursor: bool, hover: bool, *, post: bool = True
    ) -> tuple[Style, Style]:
        style = Style()
        if hover:
            style += self.get_component_rich_style("row-table--hover")
            if header:
                style += self.get_component_rich_style("row-table--header-hover")
        if cursor:
            style += self.get_component_rich_style("row-table--cursor")
        if not post:
            return style, Style.null()
        return style, Style.from_color(color=style.color) + Style.from_color(bgcolor=style.bgcolor)

    # -- the cursor ---------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.items) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        if new < len(self.items):
            self.post_message(self.RowHighlighted(self, new, self._key(self.items[new])))
        self.scroll_to_cursor()

    def watch_hover_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)

    def _refresh_row(self, row: int) -> None:
        if row == HEADER:
            self.refresh(Region(0, 0, self.size.width, 1))
        else:
            self.refresh_line(row + 1)

    def scroll_to_cursor(self, animate: bool = False) -> None:
        width = sum(self.widths) + 2 * len(self.widths)
        region = Region(int(self.scroll_x), self.cursor_row + 1, width, 1)
        self.scroll_to_region(region, animate=animate, spacing=Spacing(1, 0, 0, 0), force=True)

    def _set_hover(self, active: bool) -> None:
        self._show_hover = active
        self._refresh_row(self.hover_row)

    # -- keys and mouse -----------------------------------------------------------------------

    def action_select_cursor(self) -> None:
        self._set_hover(False)
        self._select()

    def _select(self) -> None:
        if self.items:
            row = self.cursor_row
            self.post_message(self.RowSelected(self, row, self._key(self.items[row])))

    def action_cursor_up(self) -> None:
        self._set_hover(False)
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self._set_hover(False)
        self.cursor_row += 1

    def action_page_down(self) -> None:
        self._set_hover(False)
        height = self.scrollable_content_region.height - 1
        rows = min(height + 1, len(self.items) - self.cursor_row)
        self.scroll_relative(y=height, animate=False, force=True)
        self.cursor_row += rows - 1

    def action_page_up(self) -> None:
        self._set_hover(False)
        height = self.scrollable_content_region.height - 1
        rows = min(height + 1, self.cursor_row + 1)
        self.scroll_relative(y=-height, animate=False)
        self.cursor_row -= rows - 1

    def action_cursor_top(self) -> None:
        self._set_hover(False)
        self.cursor_row = 0

    def action_cursor_bottom(self) -> None:
        self._set_hover(False)
        self.cursor_row = len(self.items) - 1

    def action_scroll_x_home(self) -> None:
        self._set_hover(False)
        self.scroll_x = 0

    def action_scroll_x_end(self) -> None:
        self._set_hover(False)
        self.scroll_x = self.max_scroll_x

    def action_scroll_left(self) -> None:
        self._set_hover(False)
        super().action_scroll_left()

    def action_scroll_right(self) -> None:
        self._set_hover(False)
        super().action_scroll_right()

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        meta = event.style.meta
        self._set_hover("row" in meta)
        if "row" in meta:
            self.hover_row = meta["row"]

    def _on_leave(self, _: events.Leave) -> None:
        self._set_hover(False)

    async def _on_click(self, event: events.Click) -> None:
        self._set_hover(True)
        row = event.style.meta.get("row")
        if row is None or row == HEADER:
            return
        again = row == self.cursor_row
        self.cursor_row = row
        if again:
            self._select()
        self.scroll_to_cursor(animate=True)
        event.stop()
