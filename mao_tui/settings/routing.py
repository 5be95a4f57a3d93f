"""routing.yaml: the routes, each a primary model and its fallbacks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mao_tui.settings.base import Identifier, Strict

__all__ = [
    "ALIAS_PREFIX",
    "ModelRef",
    "Route",
    "RoutingConfig",
]

# A route names a model id, or ``latest:<series>``: the newest active model of that series.
ALIAS_PREFIX = "latest:"
ModelRef = Annotated[str, Field(pattern=r"^(?:latest:)?[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Route(Strict):
    primary: ModelRef
    fallbacks: list[ModelRef] = Field(default_factory=list)


class RoutingConfig(Strict):
    routes: dict[Identifier, Route]
    universal_fallback: ModelRef
