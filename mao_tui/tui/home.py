"""Home: start a session (task, playbook, spec file and sections, context files) or pick a recent
one to review. ``mao`` with no arguments opens here."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from mao_tui.domain.errors import ControlError, UsageError
from mao_tui.service.ports import NewSession
from mao_tui.tui.backend_screen import BackendScreen
from mao_tui.tui.bindings import screen_bindings
from mao_tui.tui.messages import OpenSession
from mao_tui.tui.widgets.footer import QuietFooter
from mao_tui.tui.widgets.row_table import Column, RowTable
from mao_tui.tui.widgets.select_stand_in import SelectStandIn

if TYPE_CHECKING:
    from mao_tui.domain.stored import SessionSummary

RECENT = 8
RECENT_COLUMNS = (
    Column("when", "When", 16),
    Column("playbook", "Playbook", 9),
    Column("status", "Status", 11),
    Column("task", "Task"),  # as wide as the widest
)


def _recent_cells(summary: SessionSummary) -> list[Text]:
    from mao_tui.tui.history import summary_cells  # after the first paint

    cells = summary_cells(summary)
    return [cells[column.key] for column in RECENT_COLUMNS]


def _session_id(summary: SessionSummary) -> str:
    return summary.id


def budget_of_form(text: str) -> float | None:
    """The Budget field: empty for the configured default, else US dollars above 0."""
    if not text:
        return None
    try:
        value = float(text.removeprefix("$"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"budget: an amount in US dollars above 0, e.g. 2.50 (got {text!r})")
    return value


class HomeScreen(BackendScreen):
    CSS_PATH = Path(__file__).with_name("home.tcss")
    BINDINGS: ClassVar[list[BindingType]] = screen_bindings("home")
    FOCUS_PANES = "#form, #recent-pane"

    def compose(self) -> ComposeResult:
        playbooks = self.backend.playbooks()
        yield Static(Content.styled(" mao · new session", "bold"), id="home-title")
        with Vertical(id="form", classes="-focused") as form:  # the task field has the focus
            form.border_title = "Start a session"
            yield Label("Task")
            yield Input(placeholder="What should the models build? (Enter starts)", id="task")
            # two fields a row, each its label above it: one grid, not a container per field
            # (fewer nodes for Textual to style and lay out before the first frame)
            with Grid(classes="row"):
                yield Label("Playbook")
                yield Label("Simulate")
                yield SelectStandIn(
                    [(f"{name} — {desc}" if desc else name, name) for name, desc in playbooks],
                    playbooks[0][0],
                    select_id="playbook",
                )
                yield Checkbox(
                    "built-in simulator",
                    value=self.backend.simulate_by_default,
                    id="simulate",
                )
            with Grid(classes="row"):
                yield Label("Spec file (Markdown, optional)")
                yield Label("Sections")
                yield Input(placeholder="docs/PRD.md", id="spec")
                yield Input(placeholder="e.g. 2,3", id="sections")
            yield Static("", id="spec-outline")
            with Grid(classes="row"):
                yield Label("Context files (optional, separated by spaces)")
                yield Label("Budget, US$ (optional)")
                yield Input(placeholder="src/api.py docs/notes.md", id="context")
                yield Input(placeholder="configured default", id="budget")
            with Horizontal(id="start-row"):
                yield Button("Start  (Enter / F5)", id="start", variant="primary")
                yield Static("", id="form-error")
        with Vertical(id="recent-pane") as recent:
            recent.border_title = "Recent sessions (Enter reviews · h or F3 for all)"
            # RowTable, not DataTable: its module, styles and first render were ~6 ms of the
            # first frame
            yield RowTable(RECENT_COLUMNS, _recent_cells, _session_id, id="recent")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#task", Input).focus()
        # the app's queue: after its first-paint hook (mao_tui/tui/startup.py), queued earlier
        self.app.call_after_refresh(self._swap_in_select)
        self.app.call_after_refresh(self._prepare)

    @work(group="playbook")  # its coroutine made when it starts: nothing never awaited at a quit
    async def _swap_in_select(self) -> None:
        stand_in: SelectStandIn[str] = self.query_one(SelectStandIn)
        await stand_in.swap_in()

    def _prepare(self) -> None:
        """After the first frame: the validated configuration, off the event loop."""
        self.run_worker(self.backend.prepare, thread=True, group="prepare", exit_on_error=False)

    @work(exclusive=True, group="recent")
    async def load_recent(self) -> None:
        table: RowTable[SessionSummary] = self.query_one("#recent", RowTable)
        try:
            sessions = await self.backend.recent(RECENT)
        except Exception as exc:  # a broken database must not take Home down
            self.notify(f"{type(exc).__name__}: {exc}", title="History", severity="error")
            return
        widest = max((cell_len(" ".join(s.task.split())) for s in sessions), default=0)
        table.show(sessions, {"task": widest})
        self.query_one("#recent-pane").border_subtitle = "" if sessions else "none yet"

    def action_refresh(self) -> None:
        self.load_recent()

    # -- the form -----------------------------------------------------------------------------

    @on(Input.Changed, "#spec")
    def _spec_changed(self, event: Input.Changed) -> None:
        outline = self.query_one("#spec-outline", Static)
        path = Path(event.value.strip()).expanduser()
        if not event.value.strip() or not path.is_file():
            outline.update("")
            return
        try:
            sections = self.backend.spec_sections(path)
        except UsageError as exc:
            outline.update(Content.styled(str(exc), "$error"))
            return
        text = "  ·  ".join(sections) if sections else "no numbered sections"
        outline.update(Content.styled(f"sections: {text}", "$text-muted"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        error = self.query_one("#form-error", Static)
        try:
            form = self.form()
            session, title = self.backend.start(form)
        except (UsageError, ControlError) as exc:
            error.update(Content.styled(str(exc), "$error"))
            return
        error.update("")
        self.post_message(OpenSession(session, title, simulated=form.simulate))

    def form(self) -> NewSession:
        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value.strip()

        playbook = self._playbook()
        spec = text("spec")
        try:
            context = [Path(p).expanduser() for p in shlex.split(text("context"))]
        except ValueError as exc:
            raise UsageError(f"context files: {exc}") from None
        return NewSession(
            task=text("task"),
            playbook=playbook,
            spec_path=Path(spec).expanduser() if spec else None,
            sections=text("sections"),
            context_paths=context,
            simulate=self.query_one("#simulate", Checkbox).value,
            budget_usd=budget_of_form(text("budget")),
        )

    def _playbook(self) -> str:
        for select in self.query("#playbook").results(Select):
            value = select.value
            return str(value) if isinstance(value, str) else "develop"
        # not swapped in yet (a form sent within the first frame's few ms)
        stand_in: SelectStandIn[str] = self.query_one(SelectStandIn)
        return stand_in.value

    @on(RowTable.RowSelected, "#recent")
    def _review(self, event: RowTable.RowSelected) -> None:
        self.open_review(event.row_key)

    def on_screen_resume(self, _event: events.ScreenResume) -> None:
        # After the frame: reading the store (its modules, the database) waits for the paint.
        self.app.call_after_refresh(self.load_recent)
