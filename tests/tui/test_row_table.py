"""RowTable draws what a zebra-striped row-cursor DataTable draws; it builds only what it shows."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import JustifyMethod
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable

from mao_tui.tui.widgets.row_table import Column, RowTable

COLUMNS = (
    Column("when", "When", 10),
    Column("status", "Status", 9),
    Column("task", "Task", 12),
    Column("tokens", "Tokens", 7),
    Column("project", "Project"),
)
Row = tuple[str, str, str, str, str]


def _rows(count: int) -> list[Row]:
    tasks = ["short", "a task longer than its column", "", "[b]no markup[/]", "日本語のタスク"]
    statuses = ("done", "failed", "", " running ")  # "": an empty cell, styled
    return [
        (f"12-{i:03d}", statuses[i % 4], tasks[i % 5], f"{i}k→{i * 3}", f"/p/{'x' * (i % 7)}")
        for i in range(count)
    ]


def _cells(row: Row) -> list[Text]:
    when, status, task, tokens, project = row
    justify: JustifyMethod | None = "center" if status == "done" else None  # Rich's own way
    return [
        Text(when, style="dim"),
        Text(status, style="bold red" if status == "failed" else "green", justify=justify),
        Text(task, no_wrap=True, overflow="ellipsis"),
        Text(tokens, justify="right", style="italic" if "3" in tokens else ""),
        Text(project, style="dim", no_wrap=True, overflow="ellipsis"),
    ]


class Both(App[None]):
    AUTO_FOCUS = None

    def __init__(self, rows: list[Row]) -> None:
        super().__init__()
        self.rows = rows
        self.highlighted: list[int] = []
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="data", cursor_type="row", zebra_stripes=True)
        yield RowTable(COLUMNS, _cells, key=lambda row: row[0], id="rows")

    def on_mount(self) -> None:
        data = self.query_one(DataTable)
        for column in COLUMNS:
            data.add_column(column.label, key=column.key, width=column.width)
        for index, row in enumerate(self.rows):
            data.add_row(*_cells(row), key=str(index))
        table: RowTable[Row] = self.query_one(RowTable)
        table.show(self.rows, {"project": max(len(row[4]) for row in self.rows)})

    def on_row_table_row_highlighted(self, event: RowTable.RowHighlighted) -> None:
        self.highlighted.append(event.cursor_row)

    def on_row_table_row_selected(self, event: RowTable.RowSelected) -> None:
        self.selected.append(event.row_key)


CSS = "DataTable, RowTable { height: 1fr; width: WIDTH; }"


def _both(rows: list[Row]) -> Both:
    """Both tables, 100 columns wide."""
    app = Both(rows)
    app.CSS = CSS.replace("WIDTH", "100")
    return app


def _lines(widget: Widget) -> list[list[Segment]]:
    return [list(strip) for strip in widget.render_lines(Region(0, 0, *widget.size))]


@pytest.mark.parametrize("width", [120, 50])  # 50: the table is wider, it scrolls sideways
async def test_it_draws_what_a_data_table_draws(width: int) -> None:
    app = Both(_rows(40))
    app.CSS = CSS.replace("WIDTH", str(width))
    async with app.run_test(size=(width, 30)) as pilot:
        data, rows = app.query_one(DataTable), app.query_one(RowTable)

        async def drawn(widget: Widget, *keys: str) -> list[list[Segment]]:
            widget.focus()
            await pilot.press(*keys)
            await pilot.pause()
            return _lines(widget)

        await pilot.pause()
        assert data.size == rows.size
        assert _lines(rows) == _lines(data)  # neither focused
        for keys in [(), ("down", "down"), ("pagedown", "down", "up"), ("right", "right")]:
            assert await drawn(rows, *keys) == await drawn(data, *keys), keys
            assert rows.cursor_row == data.cursor_row and rows.scroll_offset == data.scroll_offset
        app.theme = "textual-light"
        assert await drawn(rows, "end") == await drawn(data, "end")


async def test_it_builds_only_the_rows_it_shows_and_answers_keys_and_clicks() -> None:
    items = _rows(500)
    app = _both(items)
    async with app.run_test(size=(100, 24)) as pilot:
        table: RowTable[Any] = app.query_one(RowTable)
        app.query_one(DataTable).display = False
        table.focus()
        await pilot.pause()
        assert table.row_count == 500
        assert 0 < table.built_rows <= 24  # a screenful, not 500
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert table.cursor_row == 2 and app.highlighted == [1, 2]
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert table.cursor_row == 499 and table.scroll_y == table.max_scroll_y
        assert table.built_rows < 60
        await pilot.press("ctrl+home")
        await pilot.click(table, offset=(3, 4))  # the header is line 0: row 3
        await pilot.click(table, offset=(3, 4))  # again: opens it
        await pilot.pause()
        assert table.cursor_row == 3
        assert app.selected == [items[2][0], items[3][0]]


async def test_an_updated_row_is_made_again_and_no_other() -> None:
    items = _rows(10)
    app = _both(items)
    async with app.run_test(size=(100, 24)) as pilot:
        table: RowTable[Any] = app.query_one(RowTable)
        app.query_one(DataTable).display = False
        await pilot.pause()
        built = table.built_rows
        assert built == 10
        items[4] = ("12-004", "failed", "changed", "9k→1", "/p/")
        table.update_row(4)
        await pilot.pause()
        assert table.built_rows == built + 1
        assert "changed" in "".join(s.text for s in _lines(table)[5])  # the header is line 0
        table.refresh()  # a whole repaint: the other rows are drawn from what they made
        await pilot.pause()
        assert table.built_rows == built + 1


async def test_shown_again_it_keeps_its_cursor_when_asked() -> None:
    items = _rows(10)
    app = _both(items)
    async with app.run_test(size=(100, 24)) as pilot:
        table: RowTable[Any] = app.query_one(RowTable)
        table.focus()
        await pilot.press("down", "down", "down")
        assert table.cursor_row == 3 and table.cursor_key == items[3][0]
        table.show(items[:8], keep_cursor=True)
        assert table.cursor_row == 3
        table.show(items[:2], keep_cursor=True)
        assert table.cursor_row == 1 and table.cursor_key == items[1][0]
        table.show(items)
        assert table.cursor_row == 0
        table.show([])
        assert table.cursor_key is None
