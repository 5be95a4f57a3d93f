"""History: every stored session, filtered, and found by any word of its task or outputs.

Typing searches as you go (SQLite FTS5 through the backend, a quarter second after the last key);
Enter on a row opens the session in review: the same dashboard, rebuilt from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Select, Static

from mao_tui.service.ports import Backend, HistoryQuery
from mao_tui.tui import fmt
from mao_tui.tui.backend_screen import BackendScreen
from mao_tui.tui.bindings import screen_bindings
from mao_tui.tui.widgets.footer import QuietFooter
from mao_tui.tui.widgets.row_table import Column, RowTable
from mao_tui.tui.widgets.select_stand_in import put_in_place

if TYPE_CHECKING:
    from mao_tui.domain.stored import SessionHit, SessionSummary

SEARCH_DELAY_S = 0.25
FILTERS = (("status", "any status"), ("playbook", "any playbook"))
SELECT_WIDTH = 22
STATUSES = ("done", "failed", "cancelled", "interrupted", "running")
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"  # the store's snippet markers (store.records)
_STATUS_STYLE = {
    "done": "green",
    "failed": "bold red",
    "cancelled": "yellow",
    "interrupted": "yellow",
    "running": "bold cyan",
}
COLUMNS = (
    Column("when", "When", 16),
    Column("playbook", "Playbook", 8),
    Column("status", "Status", 17),  # "interrupted · sim": never cut
    Column("task", "Task", 30),
    Column("models", "Models", 20),
    Column("tokens", "Tokens", 11),
    Column("cost", "Cost / budget", 16),
    Column("duration", "Duration", 8),
    Column("project", "Project"),  # as wide as the widest
)


def _collapsed(prompt: str) -> Content:
    """What a Select shows, closed and empty: its prompt and a down arrow."""
    inner = SELECT_WIDTH - 2 - 4  # its border and padding
    return Content(f"{prompt:<{inner - 2}} ▼")


def summary_cells(s: SessionSummary) -> dict[str, Text]:
    tokens = f"{fmt.count(s.input_tokens)}→{fmt.count(s.output_tokens)}"
    status = s.status.value + (" · sim" if s.simulated else "")
    return {
        "when": Text(s.created_at.astimezone().strftime("%Y-%m-%d %H:%M"), style="dim"),
        "playbook": Text(s.playbook),
        "status": Text(status, style=_STATUS_STYLE.get(s.status.value, "")),
        "task": Text(" ".join(s.task.split()), no_wrap=True, overflow="ellipsis"),
        "models": Text(", ".join(s.models) or "—", no_wrap=True, overflow="ellipsis"),
        "tokens": Text(tokens, justify="right"),
        "cost": Text(spent_of_budget(s), justify="right"),
        "duration": Text(fmt.duration(s.elapsed_s), justify="right"),
        "project": Text(s.project_dir, style="dim", no_wrap=True, overflow="ellipsis"),
    }


def row_cells(s: SessionSummary) -> list[Text]:
    cells = summary_cells(s)
    return [cells[column.key] for column in COLUMNS]


def spent_of_budget(s: SessionSummary) -> str:
    """ "$0.1643", or "$0.1643 / $0.50" for a session with a cost budget."""
    spent = fmt.cost(s.cost_usd, s.cost_complete)
    return spent if s.budget_usd is None else f"{spent} / ${s.budget_usd:,.2f}"


def snippet_content(snippet: str) -> Content:
    """The store's snippet with its matched words highlighted."""
    pieces: list[Content] = []
    for index, part in enumerate(snippet.replace(_MARK_CLOSE, _MARK_OPEN).split(_MARK_OPEN)):
        text = re.sub(r"\s+", " ", part)
        pieces.append(Content.styled(text, "bold $accent reverse") if index % 2 else Content(text))
    return Content.assemble(*pieces)


class HistoryScreen(BackendScreen):
    # DEFAULT_CSS, not CSS_PATH: a screen's CSS_PATH makes Textual re-parse every stylesheet
    # of the app and restyle every widget of every screen when it is first pushed.
    DEFAULT_CSS = """
    HistoryScreen {
        layout: vertical;
    }
    #history-title {
        height: 1;
        background: $panel;
    }
    #filters {
        height: auto;
        padding: 0 1;
    }
    #filters #search {
        width: 1fr;
    }
    #filters Select {
        width: 22;
    }
    #filters .unbuilt {
        width: 22;
        height: 3;
        border: tall $border-blurred;
        background: $surface;
        color: $foreground 50%;
        padding: 0 2;
    }
    #filters Checkbox {
        width: auto;
    }
    #results {
        height: 1fr;
        border: round $primary 50%;
        border-title-style: bold;
    }
    #results.-focused {  /* mao_tui/tui/pane_focus.py */
        border: round $primary;
    }
    #sessions {
        height: 1fr;
    }
    #match {
        height: 2;
        padding: 0 1;
        background: $panel;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = screen_bindings("history")
    FOCUS_PANES = "#results"

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.filters_built = False
        self.hits: list[SessionHit] = []
        self._debounce: Timer | None = None
        self.searches = 0  # completed searches (tests wait on it)
        self.snippet = ""  # the highlighted session's matched words, once shown
        # The first search (every session, newest first) starts now: its query runs while the
        # screen is built, and its rows are often in the first frame.
        self._first: asyncio.Task[list[SessionHit]] | None = None
        with contextlib.suppress(RuntimeError):  # no running event loop: search when mounted
            loop = asyncio.get_running_loop()
            self._first = loop.create_task(backend.search(HistoryQuery()))

    def compose(self) -> ComposeResult:
        yield Static(Content.styled(" mao · history", "bold"), id="history-title")
        with Horizontal(id="filters"):
            yield Input(placeholder="search tasks and outputs…  (/)", id="search")
            for name, prompt in FILTERS:  # the Selects come after the first results
                yield Static(_collapsed(prompt), id=f"{name}-placeholder", classes="unbuilt")
            yield Checkbox("this project", id="this-project")
        with Vertical(id="results") as results:
            results.border_title = "Sessions"
            yield RowTable(COLUMNS, row_cells, key=_hit_id, id="sessions")
        yield Static("", id="match")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#search", Input).focus()
        self.search()

    # -- searching ------------------------------------------------------------------------

    def history_query(self) -> HistoryQuery:
        status, playbook = (self._filter_value(name) for name, _ in FILTERS)
        this_project = self.query_one("#this-project", Checkbox).value
        return HistoryQuery(
            text=self.query_one("#search", Input).value,
            status=status,
            playbook=playbook,
            project_dir=str(self.backend.project_dir) if this_project else None,
        )

    @on(Input.Changed, "#search")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(SEARCH_DELAY_S, self.search)

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _filtered(self) -> None:
        self.search()

    def _filter_value(self, name: str) -> str | None:
        for select in self.query(f"#{name}").results(Select):  # none before the first results
            return select.value if isinstance(select.value, str) else None
        return None

    @work(exclusive=True, group="search")
    async def search(self) -> None:
        query = self.history_query()
        first, self._first = self._first, None
        if first is not None and query != HistoryQuery():
            first.cancel()
            first = None
        try:
            hits = await (first or self.backend.search(query))
        except Exception as exc:  # a broken database must not take the screen down
            self.notify(f"{type(exc).__name__}: {exc}", title="Search", severity="error")
            self.call_after_refresh(self._build_filters)
            return
        self.hits = hits
        widest = max((cell_len(hit.project_dir) for hit in hits), default=0)
        self.sessions.show(hits, {"project": widest})  # rows are drawn as they come into view
        found = f"{len(hits)} session{'s' if len(hits) != 1 else ''}"
        self.query_one("#results").border_title = Content(  # the user's text, never markup
            f"Sessions matching {query.text.strip()!r}: {found}" if query.text.strip() else found
        )
        self._show_match(0)
        self.call_after_refresh(self._build_filters)  # once the results are on screen
        self.searches += 1

    def _build_filters(self) -> None:
        """The filter Selects, in place of look-alikes that cost one Static each (the two
        Selects' twelve widgets were a sixth of the time to the first results)."""
        if not self.filters_built:
            self.filters_built = True
            self._swap_in_selects()

    @work(group="filters")  # its coroutine made when it starts: nothing never awaited at a quit
    async def _swap_in_selects(self) -> None:
        playbooks = [name for name, _ in self.backend.playbooks()]
        options = {"status": list(STATUSES), "playbook": playbooks}
        await put_in_place(
            [
                (
                    self.query_one(f"#{name}-placeholder"),
                    Select([(o, o) for o in options[name]], prompt=prompt, id=name),
                )
                for name, prompt in FILTERS
            ]
        )

    @property
    def sessions(self) -> RowTable[SessionHit]:
        return self.query_one("#sessions", RowTable)

    @on(RowTable.RowHighlighted, "#sessions")
    def _highlighted(self, event: RowTable.RowHighlighted) -> None:
        self._show_match(event.cursor_row)

    def _show_match(self, row: int) -> None:
        match = self.query_one("#match", Static)
        text = self.query_one("#search", Input).value
        if not (0 <= row < len(self.hits)) or not self.hits[row].matched:
            hint = " Enter reviews the session · Esc goes back"
            match.update(Content.styled(hint, "$text-muted"))
            return
        self.show_snippet(self.hits[row], text)

    @work(exclusive=True, group="snippet")
    async def show_snippet(self, hit: SessionHit, text: str) -> None:
        """The matched words of the highlighted session only: a snippet costs a read of its
        text, so the list itself comes without them."""
        snippet = await self.backend.snippet(hit.id, text)
        where = "task" if hit.matched == "task" else "output"
        label = Content.styled(f" in {where}: ", "$text-muted")
        self.query_one("#match", Static).update(Content.assemble(label, snippet_content(snippet)))
        self.snippet = snippet

    # -- actions --------------------------------------------------------------------------

    @on(RowTable.RowSelected, "#sessions")
    def _open(self, event: RowTable.RowSelected) -> None:
        self.open_review(event.row_key)

    @on(Input.Submitted, "#search")
    def _to_results(self) -> None:
        self.sessions.focus()

    def on_key(self, event: events.Key) -> None:
        """Down from the search box goes to the results, as Enter does."""
        if event.key == "down" and self.focused is self.query_one("#search", Input):
            event.stop()
            self._to_results()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_refresh(self) -> None:
        self.search()


def _hit_id(hit: SessionHit) -> str:
    return hit.id
