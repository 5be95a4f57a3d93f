"""Small modal screens of the dashboard: model picker, confirmations, details, attempts, export."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Collapsible,
    Input,
    Label,
    Markdown,
    OptionList,
    RadioButton,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option

from mao_tui.domain.sanitize import clean, mark_invisible
from mao_tui.service.ports import ExportFormat, ModelChoice
from mao_tui.tui import fmt
from mao_tui.tui.backdrop import DimmedBackdrop
from mao_tui.tui.kept import kept
from mao_tui.tui.restyle import RestylesWhenStale
from mao_tui.tui.state import AttemptText, Lane
from mao_tui.tui.widgets.fallback_log import LogEntry

CSS_PATH = Path(__file__).with_name("dialogs.tcss")
_CLOSE: list[BindingType] = [Binding("escape", "dismiss", "Close", id="dialog-close")]


class ModelPicker(DimmedBackdrop, RestylesWhenStale, ModalScreen[str | None]):
    """Pick the model to rerun a workstream on; models that cannot run (retired, tool not on
    PATH, no API key) are marked with the reason and cannot be picked."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", id="picker-cancel")
    ]

    def __init__(
        self, title: str = "", choices: Sequence[ModelChoice] = (), verb: str = "Rerun"
    ) -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._choices = list(choices)
        self._verb = verb

    def offer(self, title: str, choices: Sequence[ModelChoice], verb: str = "Rerun") -> Self:
        """What to offer the next time it is shown: a kept picker is shown again (dashboard's
        ``m``); the options are made again only when the choices changed."""
        changed = list(choices) != self._choices
        self._title, self._choices, self._verb = title, list(choices), verb
        if self.is_mounted:
            self.query_one("#model-picker-box").border_title = self._box_title()
            if changed:
                self.query_one(OptionList).set_options(self._options())
            self._highlight_current()
        return self

    def _box_title(self) -> Content:
        return Content(f"{self._verb} {self._title} on…")

    def _options(self) -> list[Option]:
        options = []
        id_w = max((len(c.id) for c in self._choices), default=0)
        label_w = max((len(c.label) for c in self._choices), default=0)
        provider_w = max((len(c.provider) for c in self._choices), default=0)
        for choice in self._choices:
            marks = []
            if choice.current:
                marks.append(Content.styled("current", "$accent"))
            if choice.unavailable is not None:
                marks.append(Content.styled(choice.unavailable, "$error"))
            label = Content.assemble(
                Content.styled(f"{choice.id:<{id_w}}", "bold"),
                f"  {choice.label:<{label_w}}  {choice.provider:<{provider_w}}  ",
                *[Content.assemble(mark, " ") for mark in marks],
            )
            options.append(Option(label, id=choice.id, disabled=not choice.runnable))
        return options

    def compose(self) -> ComposeResult:
        with Vertical(id="model-picker-box") as box:
            box.border_title = self._box_title()
            yield OptionList(*self._options(), id="model-options")
            yield Static("Enter picks · Esc cancels · models marked in red cannot run, and why")

    def on_mount(self) -> None:
        self._highlight_current()

    def _highlight_current(self) -> None:
        options = self.query_one(OptionList)
        current = next(
            (i for i, c in enumerate(self._choices) if c.current and c.runnable),
            next((i for i, c in enumerate(self._choices) if c.runnable), None),
        )
        options.highlighted = current

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)


def model_picker(app: App[Any]) -> ModelPicker:
    """The app's one model picker, built on first use and shown again after (the dashboard's
    ``m`` and the plan review's assign)."""
    return kept(app, "model-picker", ModelPicker)


class Confirm(DimmedBackdrop, RestylesWhenStale, ModalScreen[bool]):
    """A yes/no question; ``y``/Enter on Yes confirms, ``n``/Esc declines."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog")
        self._question = question
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Confirm"
            yield Static(self._question, id="question")
            with Horizontal(id="buttons"):
                yield Button(f"{self._yes} (y)", id="yes", variant="error")
                yield Button(f"{self._no} (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class FallbackDetail(DimmedBackdrop, RestylesWhenStale, ModalScreen[None]):
    """One fallback log row in full: the error as the provider (or the engine) gave it."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "Close", id="detail-close")
    ]

    def __init__(self, entry: LogEntry, attempt_error: str | None) -> None:
        super().__init__(classes="dialog")
        self._entry = entry
        self._attempt_error = attempt_error

    def compose(self) -> ComposeResult:
        entry = self._entry
        target = entry.to_model or ("—" if entry.kind != "fallback" else "nothing (exhausted)")
        facts = [
            ("When", f"{fmt.clock(entry.offset_s)}  ({entry.at.isoformat(timespec='seconds')})"),
            ("Workstream", entry.workstream_title),
            ("From", entry.from_model),
            ("To", target),
            ("Reason", entry.reason),
        ]
        rows = [
            Content.assemble(Content.styled(f"{name:>11}  ", "bold $accent"), value)
            for name, value in facts
        ]
        with Vertical() as box:
            box.border_title = "Fallback" if entry.kind == "fallback" else entry.kind.title()
            yield Static(Content("\n").join(rows), id="facts")
            yield Label(entry.line, id="summary")
            with VerticalScroll(id="error"):
                error = entry.detail or "(no detail recorded)"
                if self._attempt_error and self._attempt_error not in error:
                    error += f"\n\nThe attempt ended with: {self._attempt_error}"
                yield Static(Content(error), id="error-text")
            yield Static("Esc or Enter closes", classes="hint")

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class AttemptsScreen(DimmedBackdrop, RestylesWhenStale, ModalScreen[None]):
    """Every attempt of one lane, newest last; the highlighted one's thinking and answer."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="attempts-close")
    ]

    def __init__(self, lane: Lane) -> None:
        super().__init__(classes="dialog wide")
        self._lane = lane

    def compose(self) -> ComposeResult:
        options = [
            Option(_attempt_label(attempt), id=str(index))
            for index, attempt in enumerate(self._lane.history)
        ]
        with Vertical() as box:
            box.border_title = Content(f"{self._lane.title}: {len(options)} attempt(s)")
            yield OptionList(*options, id="attempt-list")
            with VerticalScroll(id="attempt-view"):
                yield Static("", id="attempt-facts")
                yield Collapsible(
                    Static("", id="attempt-thinking"), title="Thinking", collapsed=True
                )
                # A link in model output is shown, never opened: a click only names it.
                yield Markdown("", id="attempt-answer", open_links=False)
            yield Static("↑↓ choose an attempt · Esc closes", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.highlighted = options.option_count - 1

    @on(OptionList.OptionHighlighted)
    async def _show(self, event: OptionList.OptionHighlighted) -> None:
        attempt = self._lane.history[int(event.option.id or 0)]
        facts = f"{_attempt_label(attempt)}"
        if attempt.error:
            facts += f"\n{attempt.error}"
        self.query_one("#attempt-facts", Static).update(Content(facts))
        self.query_one("#attempt-thinking", Static).update(
            Content(mark_invisible(attempt.thinking_text) or "(no thinking)")
        )
        await self.query_one("#attempt-answer", Markdown).update(
            mark_invisible(attempt.answer_text) or "*(no answer)*"
        )

    @property
    def shown_answer(self) -> str:
        return self.query_one("#attempt-answer", Markdown).source

    @on(Markdown.LinkClicked)
    def _link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        # href is percent-decoded, so it may hold raw controls again.
        self.notify(
            clean(f"Link (not opened): {event.href}"), title="Link in model output", markup=False
        )

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)


def _attempt_label(attempt: AttemptText) -> str:
    usage = attempt.usage
    tokens = f"{fmt.count(usage.input_tokens)}→{fmt.count(usage.output_tokens)}"
    elapsed = fmt.duration(attempt.elapsed_s)
    when = attempt.started_at.astimezone().strftime("%H:%M:%S")
    status = attempt.status.value
    return f"#{attempt.attempt_no} {attempt.model} · {status} · {tokens} · {elapsed} · {when}"


class ExportDialog(
    DimmedBackdrop, RestylesWhenStale, ModalScreen[tuple[ExportFormat, Path] | None]
):
    """Choose Markdown or JSON and where to write it."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", id="export-cancel")
    ]

    def __init__(self, session_id: str, directory: Path) -> None:
        super().__init__(classes="dialog")
        self._session_id = session_id
        self._directory = directory

    def _default(self, fmt_: ExportFormat) -> str:
        suffix = "md" if fmt_ == "markdown" else "json"
        return str(self._directory / f"mao-{self._session_id[:10].lower()}.{suffix}")

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Export the session"
            with RadioSet(id="export-format"):
                yield RadioButton("Markdown", value=True, id="markdown")
                yield RadioButton("JSON", id="json")
            yield Input(self._default("markdown"), id="export-path")
            with Horizontal(id="buttons"):
                yield Button("Export", id="export", variant="primary")
                yield Button("Cancel", id="cancel")
            yield Static(
                f"Written to mao's data folder ({self._directory}) unless you type another "
                "path; a relative path is from the directory mao started in. "
                "No API key is ever written: keys are never stored.",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def format(self) -> ExportFormat:
        pressed = self.query_one(RadioSet).pressed_button
        return "json" if pressed is not None and pressed.id == "json" else "markdown"

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        path = self.query_one("#export-path", Input)
        if path.value in (self._default("markdown"), self._default("json")):
            path.value = self._default(self.format)

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        value = self.query_one("#export-path", Input).value.strip()
        if not value:
            self.notify("Give a file to write.", severity="warning")
            return
        self.dismiss((self.format, Path(value).expanduser()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)
