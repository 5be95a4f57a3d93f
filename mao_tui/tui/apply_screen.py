"""`a` on the dashboard: the synthesis's files as diffs against the workspace, one file at a time
(new, changed, unchanged, or refused with the reason); `y` writes them and runs verification."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from mao_tui.domain import FRESH_WORKSPACE_PREFIX, ApplyProposal, FileChangeView

_MARKS = {"create": "+", "modify": "~", "unchanged": "=", "refused": "✗"}
_WORDS = {"create": "new", "modify": "changed", "unchanged": "unchanged", "refused": "refused"}


def counts(proposal: ApplyProposal) -> str:
    parts = []
    for kind, word in _WORDS.items():
        n = sum(c.kind == kind for c in proposal.changes)
        if n:
            parts.append(f"{n} {word}")
    return ", ".join(parts) or "no files"


class ApplyScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ApplyScreen { align: center middle; }
    #apply-dialog {
        width: 95%;
        height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    #apply-summary { height: auto; margin-bottom: 1; }
    #apply-body { height: 1fr; }
    #apply-files { width: 40%; max-width: 60; height: 1fr; }
    #apply-diff-box { width: 1fr; height: 1fr; border: round $foreground 30%; }
    #apply-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    #apply-buttons Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Apply and verify", id="apply-confirm"),
        Binding("escape,n", "cancel", "Cancel", id="apply-cancel"),
    ]

    def __init__(self, proposal: ApplyProposal) -> None:
        super().__init__(id="apply-screen")
        self.proposal = proposal
        self.shown = ""  # the text of the file on display: its diff, or why there is none

    @property
    def can_apply(self) -> bool:
        return (
            not self.proposal.error
            and bool(self.proposal.changes)
            and any(c.kind != "refused" for c in self.proposal.changes)
        )

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        with Vertical(id="apply-dialog") as dialog:
            dialog.border_title = f"Apply the synthesis (round {proposal.round})"
            summary = Text()
            summary.append(f"{proposal.workspace}\n", "bold")
            if Path(proposal.workspace).name.startswith(FRESH_WORKSPACE_PREFIX):
                summary.append(
                    "A fresh temporary workspace for the demo (not the directory mao started "
                    "in); --workspace DIR chooses another.\n",
                    "italic",
                )
            if proposal.error:
                summary.append(f"Nothing to apply: {proposal.error}", "bold red")
            else:
                source = "files manifest" if proposal.source == "manifest" else "fenced code"
                summary.append(f"{counts(proposal)} (from the synthesis's {source}). ")
                summary.append(
                    "Existing files are backed up under .mao/backups/ and each is replaced "
                    "atomically; then the verification commands run.",
                    "dim",
                )
            yield Static(summary, id="apply-summary")
            with Horizontal(id="apply-body"):
                yield OptionList(
                    *[Option(self._label(c), id=c.path) for c in proposal.changes],
                    id="apply-files",
                )
                with VerticalScroll(id="apply-diff-box"):
                    yield Static(id="apply-diff")
            with Horizontal(id="apply-buttons"):
                yield Button(
                    "Apply and verify (y)",
                    id="apply-yes",
                    variant="success",
                    disabled=not self.can_apply,
                )
                yield Button("Cancel (Esc)", id="apply-no")

    def on_mount(self) -> None:
        files = self.query_one(OptionList)
        if files.option_count:
            kinds = [c.kind for c in self.proposal.changes]
            changed = [i for i, kind in enumerate(kinds) if kind in ("create", "modify")]
            files.highlighted = changed[0] if changed else 0  # the first file that changes
            files.focus()

    @staticmethod
    def _label(change: FileChangeView) -> Text:
        style = {"create": "green", "modify": "yellow", "unchanged": "dim", "refused": "red"}
        label = Text(f"{_MARKS[change.kind]} {change.path}", style[change.kind])
        if change.kind == "refused":
            label.append(f"\n  {change.reason}", "red")
        return label

    @on(OptionList.OptionHighlighted, "#apply-files")
    def _show_file(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        change = self.proposal.changes[index]
        box = self.query_one("#apply-diff-box", VerticalScroll)
        box.border_title = f"{change.path} · {_WORDS[change.kind]}"
        diff = self.query_one("#apply-diff", Static)
        if change.kind == "refused":
            self.shown = f"Not written: this path {change.reason}."
            diff.update(Text(self.shown, "bold red"))
        elif change.kind == "unchanged":
            self.shown = "The workspace already has this file as it is."
            diff.update(Text(self.shown, "dim"))
        else:
            self.shown = change.diff
            diff.update(Syntax(change.diff, "diff", theme="ansi_dark", word_wrap=True))
        box.scroll_home(animate=False)

    def action_confirm(self) -> None:
        if self.can_apply:
            self.dismiss(True)
        else:
            self.notify("Nothing here can be written.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#apply-yes")
    def _yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#apply-no")
    def _no(self) -> None:
        self.action_cancel()
