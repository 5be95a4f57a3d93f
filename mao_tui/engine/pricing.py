"""Cost from real usage and the registry's prices; unknown when the registry has no price.

A request whose input is above a long-context tier's threshold bills wholly at that tier (as
Google and Anthropic price them). Cached input bills at ``cached_input``; when tokens of some
category have no price, the known part is still summed and the cost is marked incomplete. A
cost the provider reports itself (``Usage.cost_usd``, from CLI tools) is taken as it is.
"""

from __future__ import annotations

from mao_tui.domain import TokenTotals
from mao_tui.providers.base import Usage
from mao_tui.settings.schema import Prices, PriceTier

PER_MILLION = 1e6


def tier_for(usage: Usage, prices: Prices) -> Prices | PriceTier:
    tier = prices.long_context
    if tier is not None and usage.input_tokens > tier.above_input_tokens:
        return tier
    return prices


def totals_for(usage: Usage, prices: Prices | None) -> TokenTotals:
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    cost, known = 0.0, prices is not None
    if usage.cost_usd is not None:  # the provider said what it charged: that is the cost
        cost, known = usage.cost_usd, True
    elif prices is not None:
        tier = tier_for(usage, prices)
        cost = (usage.input_tokens - cached) * tier.input + usage.output_tokens * tier.output
        if cached:
            if tier.cached_input is None:
                known = False
            else:
                cost += cached * tier.cached_input
        cost /= PER_MILLION
    return TokenTotals(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        thinking_tokens=usage.thinking_tokens,
        cached_input_tokens=cached,
        cost_usd=cost,
        cost_complete=known,
    )
