"""The dashboard's cost budget, as a mixin of :class:`~mao_tui.tui.dashboard.DashboardScreen`:
the estimate on the plan pane, spent / budget in the status bar, and the question (continue,
raise, stop) when the next attempt would pass the budget."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mao_tui import domain
from mao_tui.service.ports import BudgetControl, SessionControl

if TYPE_CHECKING:
    from textual.screen import Screen

    from mao_tui.domain.budget_events import (
        BudgetAnswer,
        BudgetEvent,
        BudgetQuestion,
        CostEstimated,
    )

    _Base = Screen[None]
else:
    _Base = object


class BudgetActions(_Base):
    control: SessionControl | None

    def listen_for_budget(self) -> None:
        """Answer the session's budget questions here (a session without a budget never asks)."""
        if isinstance(self.control, BudgetControl):
            self.control.ask_budget_with(self.ask_budget)

    async def ask_budget(self, question: BudgetQuestion) -> BudgetAnswer:
        """The user's answer; called from the session's tasks, on the app's loop."""
        from mao_tui.domain.budget_events import BudgetAnswer
        from mao_tui.tui.budget_screen import BudgetScreen

        answered: asyncio.Future[BudgetAnswer] = asyncio.get_running_loop().create_future()

        def done(answer: BudgetAnswer | None) -> None:
            if not answered.done():
                answered.set_result(answer or BudgetAnswer("stop"))

        self.app.push_screen(BudgetScreen(question), done)
        return await answered

    def show_budget_event(self, event: BudgetEvent) -> None:
        """After the reducer has taken it (the budget and estimate are in ``session``)."""
        if isinstance(event, domain.CostEstimated):
            self._show_estimate(event)
            from mao_tui.tui.plan_review import PlanReviewScreen

            for screen in self.app.screen_stack:
                if isinstance(screen, PlanReviewScreen):
                    screen.show_estimate(event)
        elif isinstance(event, domain.BudgetChanged):
            self.notify(event.line, title="Budget")
        elif isinstance(event, domain.BudgetExceeded):
            self.notify(event.line, title="Budget", severity="warning", timeout=10)

    def _show_estimate(self, event: CostEstimated) -> None:
        """After the plan's own summary on the pane's border; every row in its tooltip."""
        from mao_tui.domain.budget_events import usd

        pane = self.query_one("#plan-pane")
        total = usd(event.total_usd) + ("" if event.complete else " + unknown")
        budget = f" / budget {usd(event.budget_usd)}" if event.budget_usd is not None else ""
        subtitle = str(pane.border_subtitle or "")
        pane.border_subtitle = " · ".join(p for p in (subtitle, f"est. {total}{budget}") if p)
        lines = [event.line, *(f"  {row.line}" for row in event.rows)]
        tooltip = pane.tooltip if isinstance(pane.tooltip, str) else ""
        pane.tooltip = "\n".join(p for p in (tooltip, "\n".join(lines)) if p)
