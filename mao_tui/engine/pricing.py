"""Usage to cost: every attempt's :class:`TokenTotals` is made here, priced by its model's
:class:`~mao_tui.engine.price_sources.PriceQuote` (the registry's override, else the
``genai-prices`` database, else unknown).

A request whose input is above a long-context or prompt-length tier's threshold bills wholly at
that tier, as the providers bill it. Cache reads and cache writes bill at their own prices; when
tokens of some kind have no price, the known part is still summed and the cost is marked
incomplete, and a model nobody prices costs "unknown", never $0. A cost the provider reports
itself (``Usage.cost_usd``, from CLI tools) is taken as it is.
"""

from __future__ import annotations

from datetime import datetime

from mao_tui.domain import TokenTotals
from mao_tui.engine.price_sources import PriceQuote, cost
from mao_tui.providers.base import Usage


def totals_for(usage: Usage, quote: PriceQuote, at: datetime | None = None) -> TokenTotals:
    """``at``: when the request was made (prices change on announced dates); default now."""
    dollars, known = cost(usage, quote, at)
    return TokenTotals(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        thinking_tokens=usage.thinking_tokens,
        cached_input_tokens=min(usage.cached_input_tokens, usage.input_tokens),
        cost_usd=dollars,
        cost_complete=known,
    )
