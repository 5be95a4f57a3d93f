"""Records and the typed event stream the engine emits: the leaf every layer imports.

``ids`` (ids, timestamps), ``status`` (session, workstream and attempt states), ``plan``,
``usage`` (token and cost totals), ``workspace`` (applying files, verification checks) and
``events`` (every engine event and their union, ``EngineEvent``), with the budget's, the
candidates' and the picks' events. The names of all of them are importable from here.

``ids`` and ``status`` are imported at once; the others (pydantic models) on the first use
of one of their names, so that what needs only a status, an id or an error (``mao sessions``,
the dashboard's first frame) imports no pydantic. Their validators are built on first use too
(``defer_build``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mao_tui.domain.ids import *  # noqa: F403
from mao_tui.domain.status import *  # noqa: F403

if TYPE_CHECKING:
    from mao_tui.domain.budget_events import *  # noqa: F403
    from mao_tui.domain.candidate_events import *  # noqa: F403
    from mao_tui.domain.events import *  # noqa: F403
    from mao_tui.domain.pick_events import *  # noqa: F403
    from mao_tui.domain.plan import *  # noqa: F403
    from mao_tui.domain.usage import *  # noqa: F403
    from mao_tui.domain.workspace import *  # noqa: F403

_LAZY = ("plan", "usage", "workspace", "events", "budget_events", "candidate_events", "pick_events")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module_name in _LAZY:
        module = importlib.import_module(f"mao_tui.domain.{module_name}")
        for exported in module.__all__:
            globals()[exported] = getattr(module, exported)  # later lookups: plain attributes
    if name not in globals():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return globals()[name]
