"""A small modal listing every key binding of the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_name("help.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help-close"),
    ]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__(id="help")
        self._listed = bindings

    def compose(self) -> ComposeResult:
        entries = [
            (
                binding.key_display or self.app.get_key_display(binding),
                binding.description,
                binding.tooltip,
            )
            for binding in self._listed
        ]
        entries.append(("ctrl+p", "Commands", "Every action, searchable"))
        rows = [
            Content.assemble(
                Content.styled(f"{key:>7}  ", "bold $accent"),
                Content.styled(f"{description:<10}", "bold"),
                Content.styled(tip, "$text-muted"),
            )
            for key, description, tip in entries
        ]
        with Vertical() as box:
            box.border_title = "mao · keys"
            yield Static(Content("\n").join(rows), id="help-keys")
            yield Static(
                "Enter on a plan row jumps to its panel; tab moves between panels; "
                "click a Thinking line to fold or unfold it.",
                id="help-hint",
            )
