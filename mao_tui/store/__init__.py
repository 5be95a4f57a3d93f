"""Persistence: every session, its plan, attempts, streamed text and synthesis, in SQLite.

The names below load on first use: the CLI checks a database's header (``store.check``) before
the first frame, and that must not pay for aiosqlite and the record models."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mao_tui.store.check import DatabaseUnusableError as DatabaseUnusableError
    from mao_tui.store.check import SchemaTooNewError as SchemaTooNewError
    from mao_tui.store.db import AmbiguousSessionIdError as AmbiguousSessionIdError
    from mao_tui.store.db import Store as Store
    from mao_tui.store.migrations import SCHEMA_VERSION as SCHEMA_VERSION
    from mao_tui.store.paths import default_db_path as default_db_path
    from mao_tui.store.records import AttemptRecord as AttemptRecord
    from mao_tui.store.records import FallbackRecord as FallbackRecord
    from mao_tui.store.records import SessionDetail as SessionDetail
    from mao_tui.store.records import SessionHit as SessionHit
    from mao_tui.store.records import SessionSummary as SessionSummary
    from mao_tui.store.records import SynthesisRecord as SynthesisRecord
    from mao_tui.store.records import WorkstreamRecord as WorkstreamRecord
    from mao_tui.store.sink import StoreSink as StoreSink

_HOMES = {
    "DatabaseUnusableError": "check",
    "SchemaTooNewError": "check",
    "AmbiguousSessionIdError": "db",
    "Store": "db",
    "SCHEMA_VERSION": "migrations",
    "default_db_path": "paths",
    "AttemptRecord": "records",
    "FallbackRecord": "records",
    "SessionDetail": "records",
    "SessionHit": "records",
    "SessionSummary": "records",
    "SynthesisRecord": "records",
    "WorkstreamRecord": "records",
    "StoreSink": "sink",
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
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
