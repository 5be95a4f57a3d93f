"""`mao models` and the warnings of `mao config check`: the registry as a reader needs it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from mao_tui.engine.policy import thinking_label
from mao_tui.engine.price_sources import PriceBook
from mao_tui.providers.base import thinking_control
from mao_tui.settings import roster
from mao_tui.settings.api_keys import find_key
from mao_tui.settings.schema import ALIAS_PREFIX, ModelConfig, Prices, Settings

_HEADER = (
    "MODEL", "PROVIDER", "KEY", "THINKING", "$/M IN", "CACHED", "OUT", "PRICE SOURCE", "STATUS"
)  # fmt: skip


def key_status(settings: Settings, provider_id: str, env: Mapping[str, str]) -> str:
    cfg = settings.registry.providers[provider_id]
    if cfg.kind == "cli":
        return "CLI tool"
    if not cfg.api_key_env:
        return "not needed"
    found = next((name for name in cfg.api_key_env if find_key([name], env)), None)
    return f"✓ ${found}" if found else f"✗ {' or '.join(cfg.api_key_env)}"


def status(model: ModelConfig, today: date) -> str:
    """``active``, ``deprecated``, ``deprecated, retires … (in N days)``, ``retired …``, with
    ``→ successor`` when the model names one."""
    life = model.lifecycle(today)
    if model.deprecated and life.startswith("retires"):
        life = f"deprecated, {life}"
    return f"{life} → {model.successor}" if model.successor else life


def thinking_cell(model: ModelConfig, provider_kind: str) -> str:
    """How the model thinks at its maximum: ``adaptive effort max``, ``level HIGH`` …; a
    ``?`` marks a highest setting the provider has not confirmed."""
    thinking = model.thinking
    label = thinking_label(thinking)
    if thinking is None:
        return label
    if thinking_control(thinking, provider_kind) == "anthropic_adaptive":
        label = f"adaptive {label}"
    return f"{label}?" if thinking.max_inferred else label


def _price(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.2f}" if round(value, 2) == value else f"{value:g}"


def _prices(prices: Prices | None) -> tuple[str, str, str]:
    if prices is None:
        return "unknown", "unknown", "unknown"
    return _price(prices.input), _price(prices.cached_input), _price(prices.output)


def _price_notes(sheet: Prices | None) -> list[str]:
    if sheet is None:
        return []
    notes = []
    if sheet.cache_write is not None:
        notes.append(f"cache writes: {_price(sheet.cache_write)}")
    tier = sheet.long_context
    if tier is not None:
        notes.append(
            f"above {tier.above_input_tokens:,} input tokens (whole request): "
            f"{_price(tier.input)} in, {_price(tier.cached_input)} cached, "
            f"{_price(tier.output)} out"
        )
    return notes


def price_sources(settings: Settings) -> dict[str, list[str]]:
    """Each price source's label, with the models priced by it."""
    book = PriceBook(settings)
    sources: dict[str, list[str]] = {}
    for model_id in settings.registry.models:
        sources.setdefault(book.quote(model_id).label, []).append(model_id)
    return sources


def render_models(settings: Settings, env: Mapping[str, str], today: date) -> str:
    """Every model: provider, whether its key is set, thinking, prices per million tokens
    (input, cached input, output; cache writes and a long-context tier below its row), where
    the prices come from, and lifecycle status."""
    rows: list[tuple[str, ...]] = [_HEADER]
    notes: dict[int, list[str]] = {}
    book = PriceBook(settings)
    for model_id, model in settings.registry.models.items():
        sheet = book.sheet(model_id)
        provider = settings.registry.providers.get(model.provider)
        kind = provider.kind if provider is not None else "?"
        rows.append(
            (
                model_id,
                f"{model.provider} ({kind})",
                key_status(settings, model.provider, env) if provider is not None else "?",
                thinking_cell(model, kind),
                *_prices(sheet),
                book.quote(model_id).label,
                status(model, today),
            )
        )
        notes[len(rows) - 1] = _price_notes(sheet)
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        lines.extend(" " * (sum(widths[:4]) + 8) + note for note in notes.get(index, []))
    lines.append("")
    lines.append(
        "Prices are US dollars per million tokens; thinking bills as output. PRICE SOURCE: "
        "the registry's own prices (an override), else the genai-prices database; a model "
        "neither knows has an unknown cost."
    )
    lines.append(
        "THINKING is each model's highest setting; `?` marks one the provider has not "
        "confirmed (a 400 naming it lowers it one step). `→ id`: the successor a route to "
        "the model runs once it is retired."
    )
    lines += [f"Route alias {note}" for note in alias_notes(settings, today)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_lists(settings: Settings, env: Mapping[str, str], path: Path) -> str:
    """What the stored model lists say (`mao models --refresh` fetches them)."""
    from mao_tui.discovery.compare import current_lists, unavailable
    from mao_tui.discovery.lists import ListsError, load_lists

    try:
        stored = load_lists(path)
    except ListsError as exc:
        return f"\nModel lists: {exc}\n"
    lists = current_lists(settings, stored, env)
    if not lists:
        return (
            "\nModel lists: none stored for these providers; sessions use the registry as it "
            "is (`mao models --refresh` asks the providers).\n"
        )
    lines = ["", f"Model lists (stored in {path}):"]
    for pid, listing in lists.items():
        when = listing.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  {pid}: {len(listing.models)} models, fetched {when}")
    for model_id, reason in unavailable(settings, stored, env).items():
        lines.append(f"  not offered: {model_id}: {reason}; sessions skip it")
    return "\n".join(lines) + "\n"


def config_warnings(settings: Settings, today: date) -> list[str]:
    """What is sound but will bite: retiring and deprecated models, models that cannot think."""
    routing = settings.routing
    used_by: dict[str, list[str]] = {}
    for key, route in routing.routes.items():
        for model_id in dict.fromkeys([route.primary, *route.fallbacks]):
            used_by.setdefault(model_id, []).append(key)
    used_by.setdefault(routing.universal_fallback, []).append("universal_fallback")
    alias_users: dict[str, list[str]] = {}
    for ref, users in used_by.items():
        if ref.startswith(ALIAS_PREFIX):
            target = roster.resolve_ref(settings.registry, ref, today).model
            if target is not None:
                alias_users.setdefault(target, []).extend(f"{u} ({ref})" for u in users)
    warnings: list[str] = []
    for model_id, model in settings.registry.models.items():
        where = used_by.get(model_id)
        if where is None and not model.retired(today):
            where = alias_users.get(model_id)
        uses = f"; used by {', '.join(where)}" if where else "; not routed"
        resolved = roster.resolve_ref(settings.registry, model_id, today).model
        then = (
            f"a route to it runs its successor {resolved} instead, before any request"
            if resolved is not None and resolved != model_id
            else "it is skipped with reason 'retired'"
        )
        if model.retires is not None and model.retired(today):
            if where:  # history nobody routes to needs no warning
                warnings.append(
                    f"model {model_id} ({model.api_model}) retired on "
                    f"{model.retires.isoformat()}: {then}{uses}"
                )
        elif model.retires is not None:
            days = (model.retires - today).days
            later = (
                f"its successor {model.successor} runs instead"
                if model.successor
                else "it is skipped"
            )
            warnings.append(
                f"model {model_id} ({model.api_model}) retires on {model.retires.isoformat()}, "
                f"in {days} day{'s' if days != 1 else ''}; from then on {later}{uses}"
            )
        elif model.deprecated and where:
            after = f"; its successor is {model.successor}" if model.successor else ""
            warnings.append(f"model {model_id} ({model.api_model}) is deprecated{after}{uses}")
        if model.thinking is None and settings.registry.global_.thinking_always_on:
            warnings.append(
                f"model {model_id} has no `thinking` settings: it runs without thinking"
            )
    return warnings


def alias_notes(settings: Settings, today: date) -> list[str]:
    """``latest:opus → opus-5.5`` for every alias routing.yaml uses."""
    routing = settings.routing
    refs = [m for r in routing.routes.values() for m in [r.primary, *r.fallbacks]]
    refs.append(routing.universal_fallback)
    notes = []
    for ref in dict.fromkeys(r for r in refs if r.startswith(ALIAS_PREFIX)):
        target = roster.resolve_ref(settings.registry, ref, today).model
        notes.append(f"{ref} → {target or 'nothing (no active model in that series)'}")
    return notes
