"""Plan review (--review-plan): the plan before any work, to accept, re-assign or trim.

Enter accepts; `m` puts another model first for the highlighted workstream (a picker that marks
models without a key); `c` races it on N candidates (or not); `d` drops it, or brings it back;
Esc stops the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mao_tui.domain import Plan
from mao_tui.domain.budget_events import CostEstimated
from mao_tui.engine.orchestrator_plan import PlanInvalid, edit_plan
from mao_tui.engine.routing import resolved_chain
from mao_tui.service.ports import ModelChoice
from mao_tui.settings.schema import Settings
from mao_tui.tui.dialogs import model_picker


def plan_summary(plan: Plan) -> Text:
    """Source, diversity, rationale and pre-flight findings, as the plan pane shows them."""
    text = Text()
    text.append(f"plan by {plan.source}", style="bold")
    if plan.diversity is not None:
        text.append(f" · diversity {plan.diversity:.2f}")
    if plan.sections:
        text.append(f" · sections {', '.join(plan.sections)}")
    if plan.rationale:
        text.append(f"\n{plan.rationale}", style="italic")
    titles = {ws.key: ws.title for ws in plan.workstreams}
    for ws in plan.workstreams:
        if ws.depends_on:
            after = ", ".join(titles.get(d, d) for d in ws.depends_on)
            text.append(f"\n{ws.title} waits for {after}")
    styles = {"blocking": "bold red", "warning": "yellow", "info": "dim"}
    for finding in plan.findings:
        text.append(f"\n{finding.severity}: ", style=styles[finding.severity])
        text.append(f"{finding.message}  ({finding.source})", style="dim")
    return text


class PlanReviewScreen(ModalScreen[Plan | None]):
    CSS_PATH = Path(__file__).with_name("plan_review.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "accept", "Accept plan", id="review-accept", priority=True),
        Binding("m", "model", "Change model", id="review-model"),
        Binding("c", "candidates", "Candidates", id="review-candidates"),
        Binding("d", "drop", "Drop / restore", id="review-drop"),
        Binding("escape", "stop", "Stop session", id="review-stop"),
    ]

    def __init__(self, plan: Plan, settings: Settings, unavailable: dict[str, str | None]) -> None:
        super().__init__()
        self.plan = plan
        self._settings = settings
        self._unavailable = unavailable  # model id -> why it cannot run (None: it can)
        self.models: dict[str, str] = {}
        self.dropped: set[str] = set()
        self.candidates: dict[str, int] = {}  # a race (0: none) set here
        self._estimate: CostEstimated | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="review") as box:
            box.border_title = "Review the plan"
            yield Static(plan_summary(self.plan), id="review-summary")
            yield DataTable(id="review-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="review-estimate")
            yield Static(
                "Enter accepts · m changes the model · c races it · d drops or restores · "
                "Esc stops",
                id="review-help",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in (("ws", "Workstream"), ("chain", "Models"), ("after", "After"),
                           ("why", "Rationale")):  # fmt: skip
            table.add_column(label, key=key)
        for ws in self.plan.workstreams:
            table.add_row(*self._cells(ws.key), key=ws.key)
        table.focus()
        estimate = self._estimate
        for screen in self.app.screen_stack:  # the dashboard may have had it first
            seen = getattr(getattr(screen, "session", None), "estimate", None)
            estimate = estimate or (seen if isinstance(seen, CostEstimated) else None)
        if estimate is not None:
            self._show_estimate(estimate)

    def show_estimate(self, estimate: CostEstimated) -> None:
        """The proposed plan's expected cost (engine/cost_budget.py), against the budget."""
        self._estimate = estimate
        if self.is_mounted:  # else on_mount shows it
            self._show_estimate(estimate)

    def _show_estimate(self, estimate: CostEstimated) -> None:
        lines = [estimate.line, *(f"  {row.line}" for row in estimate.rows)]
        self.query_one("#review-estimate", Static).update(Text("\n".join(lines)))

    def _cells(self, key: str) -> tuple[Text, Text, str, str]:
        ws = next(w for w in self.plan.workstreams if w.key == key)
        chain = list(ws.chain)
        if key in self.models:
            chain = [self.models[key], *[m for m in chain if m != self.models[key]]]
        dropped = key in self.dropped
        style = "strike dim" if dropped else ""
        title = Text(ws.title + ("  (dropped)" if dropped else ""), style=style)
        models = Text(chain[0], style="bold " + style if key in self.models else style)
        models.append(" → " + " → ".join(chain[1:]) if len(chain) > 1 else "", style="dim")
        race = self.candidates.get(key, ws.candidates)
        if race:
            count = race if isinstance(race, int) else len(race)
            models = Text.assemble((f"race of {count} · ", "bold magenta"), models)
        after = ", ".join(d for d in ws.depends_on if d not in self.dropped) or "—"
        return title, models, after, ws.rationale or "—"

    def _refresh_row(self, key: str) -> None:
        table = self.query_one(DataTable)
        for column, value in zip(("ws", "chain", "after", "why"), self._cells(key), strict=True):
            table.update_cell(key, column, value)
        for ws in self.plan.workstreams:  # "After" of others changes when one is dropped
            if key in ws.depends_on:
                table.update_cell(ws.key, "after", self._cells(ws.key)[2])

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def edited(self) -> Plan:
        plan = edit_plan(self.plan, self._settings, models=self.models, drop=self.dropped)
        rows = [
            ws.model_copy(update={"candidates": self.candidates[ws.key]})
            if ws.key in self.candidates
            else ws
            for ws in plan.workstreams
        ]
        return plan.model_copy(update={"workstreams": rows})

    def action_accept(self) -> None:
        try:
            plan = self.edited()
        except PlanInvalid as exc:
            self.notify(str(exc), severity="error")
            return
        self.dismiss(plan)

    def action_stop(self) -> None:
        self.dismiss(None)

    def action_drop(self) -> None:
        key = self._selected()
        if key is None:
            return
        self.dropped.symmetric_difference_update({key})
        self._refresh_row(key)

    @work
    async def action_candidates(self) -> None:
        from mao_tui.tui.race_dialog import RaceDialog

        key = self._selected()
        if key is None:
            return
        ws = next(w for w in self.plan.workstreams if w.key == key)
        now = self.candidates.get(key, ws.candidates)
        current = now if isinstance(now, int) else len(now)
        count = await self.app.push_screen_wait(RaceDialog(ws.title, current, allow_none=True))
        if count is not None:
            self.candidates[key] = count
            self._refresh_row(key)

    @work
    async def action_model(self) -> None:
        key = self._selected()
        if key is None:
            return
        ws = next(w for w in self.plan.workstreams if w.key == key)
        current = self.models.get(key, ws.chain[0])
        runnable, _ = resolved_chain(self._settings, list(self._settings.registry.models))
        choices = [
            ModelChoice(
                id=model_id,
                label=config.display_name or model_id,
                provider=config.provider,
                unavailable=self._unavailable.get(model_id, "unknown model"),
                current=model_id == current,
            )
            for model_id, config in self._settings.registry.models.items()
            if model_id in runnable  # retired history is no choice
        ]
        picker = model_picker(self.app)
        picked = await self.app.push_screen_wait(picker.offer(ws.title, choices, verb="Assign"))
        if picked:
            self.models[key] = picked
            self._refresh_row(key)
