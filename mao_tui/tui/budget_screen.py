"""The question the dashboard asks when the next attempt would pass the session's cost budget:
continue without a limit, raise it, or stop the remaining work (finished outputs are kept)."""

from __future__ import annotations

import math
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from mao_tui.domain.budget_events import BudgetAnswer, BudgetQuestion, usd
from mao_tui.tui.dialogs import CSS_PATH


def suggested_budget(question: BudgetQuestion) -> float:
    """Room for this attempt and as much again, rounded up to the cent."""
    needed = question.needed_usd + question.next_usd
    return math.ceil(max(needed, question.budget_usd) * 100) / 100


def question_text(q: BudgetQuestion) -> str:
    return (
        f"The next attempt ({q.workstream} on {q.model}, ~{usd(q.next_usd)}) would pass the "
        f"budget of {usd(q.budget_usd)}.\n\n"
        f"Spent so far: {usd(q.spent_usd)}\n"
        f"In flight (estimated): {usd(q.committed_usd)}\n"
        f"With this attempt: ~{usd(q.needed_usd)}\n\n"
        "Stop keeps every finished output (synthesize them later with s); attempts in flight "
        "finish."
    )


class BudgetScreen(ModalScreen[BudgetAnswer]):
    """``c`` continues without a limit, Enter in the field (or ``Raise``) sets a new one, ``s``
    or Esc stops."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop", id="budget-stop"),
    ]

    def __init__(self, question: BudgetQuestion) -> None:
        super().__init__(classes="dialog")
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="budget-box") as box:
            box.border_title = "Cost budget reached"
            yield Static(question_text(self._question), id="question")
            yield Input(
                f"{suggested_budget(self._question):.2f}",
                placeholder="new budget in US dollars",
                id="new-budget",
            )
            yield Static("", id="budget-error", classes="hint")
            with Horizontal(id="buttons"):
                yield Button("Raise", id="raise", variant="primary")
                yield Button("Continue, no limit", id="continue", variant="warning")
                yield Button("Stop", id="stop", variant="error")

    def on_mount(self) -> None:
        self.query_one("#stop", Button).focus()

    def action_stop(self) -> None:
        self.dismiss(BudgetAnswer("stop"))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "raise":
            self._raise()
        elif event.button.id == "continue":
            self.dismiss(BudgetAnswer("continue"))
        else:
            self.dismiss(BudgetAnswer("stop"))

    @on(Input.Submitted, "#new-budget")
    def _submitted(self) -> None:
        self._raise()

    def _raise(self) -> None:
        text = self.query_one("#new-budget", Input).value.strip().removeprefix("$")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= self._question.budget_usd:
            self.query_one("#budget-error", Static).update(
                f"a new budget is an amount in US dollars above {usd(self._question.budget_usd)}"
            )
            return
        self.dismiss(BudgetAnswer("raise", value))
