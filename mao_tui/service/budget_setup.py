"""The cost budget a session runs under: its limit (``--budget``, else the configuration's
``global.budget``), the store's per-model history the estimates come from, and who decides at
the limit (the dashboard asks; headless, nobody: the session stops)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mao_tui.domain.budget_events import Ask
    from mao_tui.engine.request import SessionRequest
    from mao_tui.engine.session import SessionRun
    from mao_tui.settings.schema import Settings
    from mao_tui.store import Store


def budget_of(settings: Settings, req: SessionRequest) -> float | None:
    return req.budget_usd if req.budget_usd is not None else settings.registry.global_.budget


async def configure_budget(
    engine: SessionRun,
    store: Store,
    limit_usd: float | None,
    *,
    simulated: bool,
    ask: Ask | None = None,
    spent_usd: float = 0.0,
) -> None:
    """Before the engine runs. ``spent_usd``: what a reviewed session has cost so far (its
    reruns count against the same budget)."""
    history = await store.model_history(simulated=simulated)
    engine.budget.configure(limit_usd, history, ask, spent_usd)
