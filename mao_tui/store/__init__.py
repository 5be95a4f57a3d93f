"""Persistence: every session, its plan, attempts, streamed text and synthesis, in SQLite.

The names below load on first use: the CLI checks a database's header (``store.check``) before
the first frame, and that must not pay for aiosqlite and the record models. The records live in
``mao_tui.domain.stored``: every layer reads them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mao_tui.domain.stored import AttemptRecord as AttemptRecord
    from mao_tui.domain.stored import FallbackRecord as FallbackRecord
    from mao_tui.domain.stored import SessionDetail as SessionDetail
    from mao_tui.domain.stored import SessionHit as SessionHit
    from mao_tui.domain.stored import SessionSummary as SessionSummary
    from mao_tui.domain.stored import SynthesisRecord as SynthesisRecord
    from mao_tui.domain.stored import WorkstreamRecord as WorkstreamRecord
    from mao_tui.store.check import DatabaseUnusableError as DatabaseUnusableError
    from mao_tui.store.check import SchemaTooNewError as SchemaTooNewError
    from mao_tui.store.db import AmbiguousSessionIdError as AmbiguousSessionIdError
    from mao_tui.store.db import Store as Store
    from mao_tui.store.migrations import SCHEMA_VERSION as SCHEMA_VERSION
    from mao_tui.store.paths import default_db_path as default_db_path
    from mao_tui.store.sink import StoreSink as StoreSink

_HOMES = {
    "DatabaseUnusableError": "mao_tui.store.check",
    "SchemaTooNewError": "mao_tui.store.check",
    "AmbiguousSessionIdError": "mao_tui.store.db",
    "Store": "mao_tui.store.db",
    "SCHEMA_VERSION": "mao_tui.store.migrations",
    "default_db_path": "mao_tui.store.paths",
    "AttemptRecord": "mao_tui.domain.stored",
    "FallbackRecord": "mao_tui.domain.stored",
    "SessionDetail": "mao_tui.domain.stored",
    "SessionHit": "mao_tui.domain.stored",
    "SessionSummary": "mao_tui.domain.stored",
    "SynthesisRecord": "mao_tui.domain.stored",
    "WorkstreamRecord": "mao_tui.domain.stored",
    "StoreSink": "mao_tui.store.sink",
}

__all__ = [
    "SCHEMA_VERSION",
    "AmbiguousSessionIdError",
    "AttemptRecord",
    "DatabaseUnusableError",
    "FallbackRecord",
    "SchemaTooNewError",
    "SessionDetail",
    "SessionHit",
    "SessionSummary",
    "Store",
    "StoreSink",
    "SynthesisRecord",
    "WorkstreamRecord",
    "default_db_path",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
