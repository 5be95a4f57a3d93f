"""Where each model's price comes from: the registry's own ``prices`` (an override), else the
``genai-prices`` database, else nowhere (the cost is unknown, never $0).

``genai-prices`` bundles its price data as a 1.6 MB Python module (~0.2 s to import here), so it
is imported on first use, or ahead of the first request in a thread (``ProviderPool.warm``):
``mao``'s start-up never pays for it. It is used offline only: its ``UpdatePrices`` (which
would download newer data) is never started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Literal

from mao_tui.providers.base import Usage
from mao_tui.settings.schema import ModelConfig, Prices, PriceTier, Settings

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, Provider, TieredPrices

PER_MILLION = 1e6
DATABASE = "genai-prices"
# The database's provider for each provider kind (and CLI driver) whose models it prices.
_DATABASE_PROVIDER: Mapping[str, str] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "google",
    "claude": "anthropic",
    "codex": "openai",
}
DATABASE_MODULE = "genai_prices.data"  # the bundled data: the module worth importing early

SourceKind = Literal["registry", "database", "unknown"]


@cache
def database_version() -> str:
    try:
        return version(DATABASE)
    except PackageNotFoundError:
        return "?"


def database_label() -> str:
    return f"{DATABASE} {database_version()}"


@dataclass(frozen=True)
class PriceQuote:
    """How one model is priced. ``lookup`` is the (model name, database provider) it was found
    under in the database; ``prices`` the registry's override."""

    kind: SourceKind
    prices: Prices | None = None
    lookup: tuple[str, str | None] | None = None

    @property
    def label(self) -> str:
        """``registry override``, ``genai-prices 0.2.3`` or ``unknown``."""
        if self.kind == "registry":
            return "registry override"
        if self.kind == "database":
            return database_label()
        return "unknown"


def lookup_name(
    model: ModelConfig, provider_kind: str, cli_driver: str | None
) -> tuple[str, str | None] | None:
    """The (model name, database provider) to look the model up by; None when the database
    cannot know it (a local server, unless ``price_model`` names a model)."""
    provider = _DATABASE_PROVIDER.get(cli_driver or provider_kind)
    if model.price_model is not None:
        return model.price_model, provider
    if provider_kind == "openai_chat":
        return None  # a local or self-chosen server: its price is the user's to set
    return model.api_model, provider


def _find(lookup: tuple[str, str | None]) -> tuple[Provider, ModelInfo] | None:
    from genai_prices import data_snapshot

    try:
        return data_snapshot.get_snapshot().find_provider_model(lookup[0], None, lookup[1], None)
    except LookupError:
        return None


class PriceBook:
    """Each model's :class:`PriceQuote`, worked out once per configuration."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._quotes: dict[str, PriceQuote] = {}

    def quote(self, model_id: str) -> PriceQuote:
        if model_id not in self._quotes:
            self._quotes[model_id] = self._quote(model_id)
        return self._quotes[model_id]

    def _quote(self, model_id: str) -> PriceQuote:
        model = self._settings.model(model_id)
        if model.prices is not None:
            return PriceQuote("registry", prices=model.prices)
        provider = self._settings.registry.providers.get(model.provider)
        if provider is None:
            return PriceQuote("unknown")
        driver = provider.cli.driver if provider.cli is not None else None
        lookup = lookup_name(model, provider.kind, driver)
        if lookup is None or _find(lookup) is None:
            return PriceQuote("unknown")
        return PriceQuote("database", lookup=lookup)

    def sheet(self, model_id: str, at: datetime | None = None) -> Prices | None:
        """The prices in force ``at`` (default now) as the registry would write them, for
        display; the database's first price tier becomes ``long_context``."""
        quote = self.quote(model_id)
        if quote.kind == "registry":
            return quote.prices
        if quote.lookup is None:
            return None
        found = _find(quote.lookup)
        if found is None:
            return None
        return _as_prices(found[1], at or datetime.now(UTC))


def cost(usage: Usage, quote: PriceQuote, at: datetime | None = None) -> tuple[float, bool]:
    """US dollars for ``usage`` and whether that is the whole cost (False: some of it has no
    known price; the known part is still summed). A cost the provider reported is taken as is."""
    if usage.cost_usd is not None:
        return usage.cost_usd, True
    if quote.kind == "registry" and quote.prices is not None:
        return registry_cost(usage, quote.prices)
    if quote.kind == "database" and quote.lookup is not None:
        return _database_cost(usage, quote.lookup, at or datetime.now(UTC))
    return 0.0, False


def _split(usage: Usage) -> tuple[int, int, int]:
    """(cache reads, cache writes, the rest of the input), each within ``input_tokens``."""
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    written = min(usage.cache_write_tokens, usage.input_tokens - cached)
    return cached, written, usage.input_tokens - cached - written


def registry_cost(usage: Usage, prices: Prices) -> tuple[float, bool]:
    """A request whose input is above a long-context tier's threshold bills wholly at it."""
    tier: Prices | PriceTier = prices
    long = prices.long_context
    if long is not None and usage.input_tokens > long.above_input_tokens:
        tier = long
    cached, written, plain = _split(usage)
    total = plain * tier.input + usage.output_tokens * tier.output
    known = True
    for tokens, price in ((cached, tier.cached_input), (written, tier.cache_write)):
        if not tokens:
            continue
        if price is None:
            known = False
        else:
            total += tokens * price
    return total / PER_MILLION, known


def _database_cost(
    usage: Usage, lookup: tuple[str, str | None], at: datetime
) -> tuple[float, bool]:
    from genai_prices import Usage as DatabaseUsage
    from genai_prices import calc_price

    cached, written, _ = _split(usage)
    counts = DatabaseUsage(
        input_tokens=usage.input_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        output_tokens=usage.output_tokens,
    )
    try:
        found = _find(lookup)
        if found is None:
            return 0.0, False
        model_price = found[1].get_prices(at)
        price = calc_price(counts, lookup[0], provider_id=lookup[1], genai_request_timestamp=at)
    except (LookupError, ValueError):
        return 0.0, False
    # A kind of token the database has no price for is not free: the cost is incomplete.
    known = all(
        not tokens or getattr(model_price, key) is not None
        for tokens, key in ((cached, "cache_read_mtok"), (written, "cache_write_mtok"))
    )
    return float(price.total_price), known


def _as_prices(model: ModelInfo, at: datetime) -> Prices | None:
    from genai_prices.types import TieredPrices

    price = model.get_prices(at)
    values = {
        "input": price.input_mtok,
        "output": price.output_mtok,
        "cached_input": price.cache_read_mtok,
        "cache_write": price.cache_write_mtok,
    }
    if values["input"] is None or values["output"] is None:
        return None

    def base(value: Decimal | TieredPrices | None) -> float | None:
        if value is None:
            return None
        return float(value.base if isinstance(value, TieredPrices) else value)

    sheet: dict[str, object] = {name: base(value) for name, value in values.items()}
    tiered = {n: v for n, v in values.items() if isinstance(v, TieredPrices) and v.tiers}
    if tiered:
        start = min(v.tiers[0].start for v in tiered.values())
        tier: dict[str, object] = {"above_input_tokens": start}
        for name, value in values.items():
            if isinstance(value, TieredPrices):
                first = next((t for t in value.tiers if t.start == start), None)
                tier[name] = float(first.price if first else value.base)
            else:
                tier[name] = base(value)
        sheet["long_context"] = tier
    return Prices.model_validate(sheet)
