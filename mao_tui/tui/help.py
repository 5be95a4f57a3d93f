"""Help (``?`` / F1): every key binding of every screen, with the keys in effect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from mao_tui.settings.keys import DEFAULT_KEYS
from mao_tui.tui.backdrop import DimmedBackdrop
from mao_tui.tui.bindings import SPECS
from mao_tui.tui.restyle import RestylesWhenStale

_PLACE_TITLES = {
    "app": "Everywhere",
    "dashboard": "Dashboard",
    "home": "Home",
    "history": "History",
}


class HelpScreen(DimmedBackdrop, RestylesWhenStale, ModalScreen[None]):
    CSS_PATH = Path(__file__).with_name("help.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help-close"),
    ]

    def __init__(self, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__(id="help")
        self._keymap = dict(keymap or {})

    def keys_for(self, binding_id: str) -> str:
        keys = self._keymap.get(binding_id, DEFAULT_KEYS[binding_id])
        return ", ".join(self.app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))

    def compose(self) -> ComposeResult:
        rows: list[Content] = []
        for place, specs in SPECS.items():
            rows.append(Content.styled(_PLACE_TITLES[place], "bold $secondary underline"))
            for spec in specs:
                rows.append(
                    Content.assemble(
                        Content.styled(f"{self.keys_for(spec.id):>10}  ", "bold $accent"),
                        Content.styled(f"{spec.description:<11}", "bold"),
                        Content.styled(spec.tooltip, "$text-muted"),
                        Content.styled(f"  [{spec.id}]", "$text-disabled"),
                    )
                )
            rows.append(Content(""))
        rows.append(
            Content.assemble(
                Content.styled(f"{'ctrl+p':>10}  ", "bold $accent"),
                Content.styled(f"{'Commands':<11}", "bold"),
                Content.styled("Every action above, searchable", "$text-muted"),
            )
        )
        with VerticalScroll() as box:
            box.border_title = "mao · keys"
            yield Static(Content("\n").join(rows), id="help-keys")
            yield Static(
                "Enter on a plan row focuses its panel; tab moves between panes; Enter on a "
                "fallback log row shows the whole error; click a Thinking line to fold it. "
                "Remap any key by its id in keys.yaml (see the README).",
                id="help-hint",
            )

    def on_screen_resume(self, _event: events.ScreenResume) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)  # kept: shown again from the top

    def action_dismiss(self, result: object = None) -> None:  # type: ignore[override]
        self.dismiss(None)
