"""The plan's diversity score, computed from its assignments (never by a model).

    diversity = ½ · distinct models / min(W, M) + ½ · distinct providers / min(W, P)

over the W workstreams' primary models (synthesis excluded), where M and P are how many models
and providers the routing rules draw on (every model routing.yaml will actually run, after
successors, ``latest:`` aliases and availability are resolved, and their providers). The
primaries are the plans' resolved chains, so the score counts the models that will run.
1.0 means every workstream that could have a model and a provider of its own got
one; a plan that sends everything to one model scores 1/min(W, M) / 2 + 1/min(W, P) / 2.
"""

from __future__ import annotations

from mao_tui.domain import PlannedWorkstream
from mao_tui.engine.routing import routed_models
from mao_tui.settings.schema import Settings


def diversity_score(workstreams: list[PlannedWorkstream], settings: Settings) -> float | None:
    primaries = [ws.chain[0] for ws in workstreams if ws.chain]
    if not primaries:
        return None
    models = settings.registry.models
    routed = routed_models(settings) | set(primaries)
    n = len(primaries)
    distinct_models = len(set(primaries))
    distinct_providers = len({models[m].provider for m in primaries})
    available_providers = len({models[m].provider for m in routed})
    score = 0.5 * distinct_models / min(n, len(routed)) + 0.5 * distinct_providers / min(
        n, available_providers
    )
    return round(score, 3)
