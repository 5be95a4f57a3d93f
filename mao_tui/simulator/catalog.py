"""The models each imitated provider lists on its discovery endpoint: today's market
(``reference/models-2026-12.md``, 2026-12-04) by default, or whatever a test serves instead.

Quirks kept from the real endpoints: Anthropic lists a retired model as the historical record of
its retirement (``lifecycle: retired``), so "listed" is not "offered"; OpenAI names a shutdown
date on a model that has one; Gemini names models ``models/<id>`` and lists its aliases
(``gemini-pro-latest``) with the input and output token limits the others leave out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

Vendor = Literal["anthropic", "openai", "gemini"]
Lifecycle = Literal["active", "deprecated", "retired"]


@dataclass(frozen=True)
class MarketModel:
    vendor: Vendor
    id: str
    display_name: str
    released: str  # YYYY-MM-DD
    input_tokens: int | None = None
    output_tokens: int | None = None
    lifecycle: Lifecycle = "active"
    retires: str | None = None  # YYYY-MM-DD: Anthropic retires_at, OpenAI shutdown_date
    line: str | None = None  # Anthropic's model line: opus, sonnet, haiku, fable


_M, _K = 1_000_000, 1000
_GEMINI_IN, _GEMINI_OUT = 1_048_576, 65_536


def _claude(
    id_: str,
    name: str,
    released: str,
    line: str,
    window: int = _M,
    out: int = 128 * _K,
    *,
    lifecycle: Lifecycle = "active",
    retires: str | None = None,
) -> MarketModel:
    return MarketModel(
        "anthropic", id_, name, released, window, out, lifecycle, retires=retires, line=line
    )


def _gpt(id_: str, name: str, released: str, retires: str | None = None) -> MarketModel:
    lifecycle: Lifecycle = "deprecated" if retires else "active"
    return MarketModel("openai", id_, name, released, lifecycle=lifecycle, retires=retires)


def _gemini(id_: str, name: str, released: str) -> MarketModel:
    return MarketModel("gemini", id_, name, released, _GEMINI_IN, _GEMINI_OUT)


TODAYS_MARKET: tuple[MarketModel, ...] = (
    _claude("claude-fable-5-2", "Claude Fable 5.2", "2026-11-20", "fable"),
    _claude("claude-opus-5-5", "Claude Opus 5.5", "2026-11-12", "opus"),
    _claude("claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-11-12", "sonnet"),
    _claude("claude-haiku-5-5", "Claude Haiku 5.5", "2026-11-12", "haiku"),
    _claude("claude-opus-5", "Claude Opus 5", "2026-08-05", "opus"),
    _claude("claude-sonnet-5", "Claude Sonnet 5", "2026-08-05", "sonnet"),
    _claude("claude-opus-4-8", "Claude Opus 4.8", "2026-05-14", "opus"),
    _claude("claude-opus-4-7", "Claude Opus 4.7", "2026-03-18", "opus"),
    _claude("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05", "opus"),
    _claude("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17", "sonnet"),
    _claude(
        "claude-opus-4-5",
        "Claude Opus 4.5",
        "2025-11-24",
        "opus",
        200 * _K,
        64 * _K,
        lifecycle="deprecated",
        retires="2027-01-22",
    ),
    _claude("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15", "haiku", 200 * _K, 64 * _K),
    _claude(
        "claude-sonnet-4-5",
        "Claude Sonnet 4.5",
        "2025-09-29",
        "sonnet",
        200 * _K,
        64 * _K,
        lifecycle="retired",
        retires="2026-11-30",
    ),
    _gpt("gpt-6.2-astra", "GPT-6.2 Astra", "2026-11-17"),
    _gpt("gpt-6.2-sol", "GPT-6.2 Sol", "2026-11-17"),
    _gpt("gpt-6-astra", "GPT-6 Astra", "2026-09-10"),
    _gpt("gpt-6.1-sol", "GPT-6.1 Sol", "2026-10-08"),
    _gpt("gpt-5.6-sol", "GPT-5.6 Sol", "2026-06-25"),
    _gpt("gpt-5.3-codex", "GPT-5.3-Codex", "2026-02-05", retires="2027-04-01"),
    _gpt("gpt-5.2", "GPT-5.2", "2025-12-11"),
    _gemini("gemini-4-carbon", "Gemini 4 Carbon", "2026-11-10"),
    _gemini("gemini-4-argon", "Gemini 4 Argon", "2026-09-16"),
    _gemini("gemini-4-neon", "Gemini 4 Neon", "2026-10-21"),
    _gemini("gemini-4-hydrogen", "Gemini 4 Hydrogen", "2026-10-21"),
    _gemini("gemini-3.8-flash", "Gemini 3.8 Flash", "2026-08-19"),
    _gemini("gemini-3.1-pro-preview", "Gemini 3.1 Pro Preview", "2026-02-19"),
    _gemini("gemini-3-flash-preview", "Gemini 3 Flash Preview", "2025-12-17"),
    _gemini("gemini-pro-latest", "Gemini Pro Latest", "2026-11-10"),
    _gemini("gemini-flash-latest", "Gemini Flash Latest", "2026-08-19"),
)


@dataclass(frozen=True)
class Catalog:
    """What the discovery endpoints serve. ``page_size`` overrides each provider's default
    page size (Anthropic 20, Gemini 50) so a short list still takes several pages;
    ``unauthorized`` vendors answer 401 as for a bad key."""

    models: tuple[MarketModel, ...] = TODAYS_MARKET
    page_size: int | None = None
    unauthorized: frozenset[Vendor] = frozenset()

    def of(self, vendor: Vendor) -> list[MarketModel]:
        return [m for m in self.models if m.vendor == vendor]

    def without(self, *ids: str) -> Catalog:
        """The same catalogue with these model ids no longer listed."""
        unknown = set(ids) - {m.id for m in self.models}
        if unknown:
            raise ValueError(f"not in the catalogue: {', '.join(sorted(unknown))}")
        return replace(self, models=tuple(m for m in self.models if m.id not in ids))

    def adding(self, models: Iterable[MarketModel]) -> Catalog:
        return replace(self, models=(*self.models, *models))
