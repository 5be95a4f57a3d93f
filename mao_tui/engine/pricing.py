"""Cost from real usage and the registry's prices; unknown when the registry has no price."""

from __future__ import annotations

from mao_tui.domain import TokenTotals
from mao_tui.providers.base import Usage
from mao_tui.settings.schema import Prices


def totals_for(usage: Usage, prices: Prices | None) -> TokenTotals:
    if prices is None:
        cost, known = 0.0, False
    else:
        cost = (usage.input_tokens * prices.input + usage.output_tokens * prices.output) / 1e6
        known = True
    return TokenTotals(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        thinking_tokens=usage.thinking_tokens,
        cost_usd=cost,
        cost_complete=known,
    )
