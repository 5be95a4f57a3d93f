"""Which model actually runs for a route's reference, decided before any request.

A route names a model id or ``latest:<series>``. An id whose model is gone (``retires`` is
today or earlier) goes to its ``successor`` (followed to the first model still running), or is
left out when it has none; an alias picks the newest active model of its series. Models known
to be unavailable this session (``unavailable``: model id → why, e.g. from a provider's stored
model list) are treated like gone ones. Every replacement is reported as a
:class:`~mao_tui.domain.ModelSubstitution`, so the plan, the diversity score and the fallback
log all show what will run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from mao_tui.domain import ModelSubstitution
from mao_tui.settings.schema import ALIAS_PREFIX, ModelConfig, Registry, Settings

NO_UNAVAILABLE: Mapping[str, str] = {}


@dataclass(frozen=True)
class Resolution:
    """What one reference resolves to: a model id (None: nothing can run) and the notes."""

    model: str | None
    substitutions: list[ModelSubstitution] = field(default_factory=list)
    alias: str | None = None  # the ``latest:`` reference it came from, if any


def gone_reason(
    model_id: str, model: ModelConfig, today: date, unavailable: Mapping[str, str]
) -> str | None:
    """Why the model cannot run today (retired or shut down, or unavailable), else None."""
    if model.retires is not None and model.retired(today):
        return f"{model.api_model} retired on {model.retires.isoformat()}"
    return unavailable.get(model_id)


def newest_of_series(
    reg: Registry, series: str, today: date, unavailable: Mapping[str, str] = NO_UNAVAILABLE
) -> str | None:
    """The newest member of ``series`` that can run, preferring one not deprecated; newest by
    ``released`` (a model without it counts as older), then the one listed first."""
    members = [
        (index, mid, m)
        for index, (mid, m) in enumerate(reg.models.items())
        if m.series == series and gone_reason(mid, m, today, unavailable) is None
    ]
    if not members:
        return None
    best = max(
        members,
        key=lambda item: (not item[2].deprecated, item[2].released or date.min, -item[0]),
    )
    return best[1]


def resolve_ref(
    reg: Registry, ref: str, today: date, unavailable: Mapping[str, str] = NO_UNAVAILABLE
) -> Resolution:
    if ref.startswith(ALIAS_PREFIX):
        series = ref.removeprefix(ALIAS_PREFIX)
        return Resolution(newest_of_series(reg, series, today, unavailable), alias=ref)
    notes: list[ModelSubstitution] = []
    current, seen = ref, {ref}
    while True:
        model = reg.models[current]
        why = gone_reason(current, model, today, unavailable)
        if why is None:
            return Resolution(current, notes)
        nxt = model.successor
        reason = "unavailable" if current in unavailable and not model.retired(today) else "retired"
        if nxt is None or nxt in seen or nxt not in reg.models:
            notes.append(
                ModelSubstitution(
                    requested=current, model=None, reason=reason, detail=f"{why}; no successor"
                )
            )
            return Resolution(None, notes)
        notes.append(
            ModelSubstitution(
                requested=current,
                model=nxt,
                reason="successor",
                detail=f"{why}; its successor {nxt} runs in its place",
            )
        )
        seen.add(nxt)
        current = nxt


def resolve_chain(
    settings: Settings,
    refs: Iterable[str],
    today: date,
    unavailable: Mapping[str, str] = NO_UNAVAILABLE,
) -> tuple[list[str], list[ModelSubstitution]]:
    """The models that will run for ``refs``, in order and each once, and what was replaced."""
    chain: list[str] = []
    notes: list[ModelSubstitution] = []
    for ref in refs:
        resolved = resolve_ref(settings.registry, ref, today, unavailable)
        notes += [n for n in resolved.substitutions if n not in notes]
        if resolved.model is not None and resolved.model not in chain:
            chain.append(resolved.model)
    return chain, notes


def route_chain(
    settings: Settings,
    route: str,
    today: date,
    unavailable: Mapping[str, str] = NO_UNAVAILABLE,
) -> tuple[list[str], list[ModelSubstitution]]:
    """A route's primary, fallbacks, then the universal fallback, as they will run."""
    return resolve_chain(settings, settings.chain(route), today, unavailable)


def routed_models(
    settings: Settings, today: date, unavailable: Mapping[str, str] = NO_UNAVAILABLE
) -> set[str]:
    """Every model some route will actually run (after successors, aliases, availability)."""
    routing = settings.routing
    refs = [m for r in routing.routes.values() for m in [r.primary, *r.fallbacks]]
    refs.append(routing.universal_fallback)
    chain, _ = resolve_chain(settings, refs, today, unavailable)
    return set(chain)
