"""How many candidates a workstream races on: the dashboard's race key (``R``) and plan
review's (``c``). The models are chosen by the engine (docs/ensembles.md, *Which models*)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mao_tui.engine.steering import MAX_CANDIDATES


class RaceDialog(ModalScreen[int | None]):
    """Dismissed with the number of candidates (0: no race, when ``allow_none``), or None."""

    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", id="race-cancel")
    ]

    def __init__(self, title: str, current: int = 0, *, allow_none: bool = False) -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._current = current
        self._counts = ([0] if allow_none else []) + list(range(2, MAX_CANDIDATES + 1))

    def compose(self) -> ComposeResult:
        options = [
            Option(f"{n} candidates" if n else "no race: one chain", id=str(n))
            for n in self._counts
        ]
        with Vertical() as box:
            box.border_title = Content(f"Race {self._title} on…")
            yield OptionList(*options, id="race-options")
            yield Static(
                "Enter picks · Esc cancels · the models: the workstream's chain first, then "
                "every route's, those with a key",
                classes="hint",
            )

    def on_mount(self) -> None:
        wanted = self._current if self._current >= 2 else 3  # not a race yet: 3 offered
        self.query_one(OptionList).highlighted = self._counts.index(wanted)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)
