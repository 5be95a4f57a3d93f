"""A route's chain as it will run today: the one place the engine turns routes into models.

:func:`unavailable_models` is the hook for what is known about availability before a session
starts (a provider's stored model list); it is empty until such a source is configured.
"""

from __future__ import annotations

from collections.abc import Mapping

from mao_tui.domain import ModelSubstitution, PlannedWorkstream
from mao_tui.engine import policy
from mao_tui.settings import roster
from mao_tui.settings.schema import Settings


def unavailable_models(settings: Settings) -> Mapping[str, str]:
    """Model id → why it cannot run this session, as known before any request: what the
    stored model lists say (a file read, no network call; see mao_tui/discovery)."""
    from mao_tui.discovery.compare import stored_unavailable

    return stored_unavailable(settings)


def resolved_chain(
    settings: Settings, refs: list[str]
) -> tuple[list[str], list[ModelSubstitution]]:
    """``refs`` (model ids or ``latest:`` aliases) as they will run today."""
    return roster.resolve_chain(settings, refs, policy.today(), unavailable_models(settings))


def route_chain(settings: Settings, route: str) -> tuple[list[str], list[ModelSubstitution]]:
    return resolved_chain(settings, settings.chain(route))


def routed_models(settings: Settings) -> set[str]:
    return roster.routed_models(settings, policy.today(), unavailable_models(settings))


def planned_workstream(
    settings: Settings, *, key: str, title: str, route: str, **fields: object
) -> PlannedWorkstream:
    """A workstream on ``route``, its chain resolved and its substitutions kept for the log."""
    chain, notes = route_chain(settings, route)
    return PlannedWorkstream.model_validate(
        {"key": key, "title": title, "route": route, "chain": chain, "substitutions": notes}
        | fields
    )
