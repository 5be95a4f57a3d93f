"""Persistence: every session, its plan, attempts, streamed text and synthesis, in SQLite."""

from mao_tui.store.check import DatabaseUnusableError, SchemaTooNewError
from mao_tui.store.db import AmbiguousSessionIdError, Store
from mao_tui.store.migrations import SCHEMA_VERSION
from mao_tui.store.paths import default_db_path
from mao_tui.store.records import (
    AttemptRecord,
    FallbackRecord,
    SessionDetail,
    SessionHit,
    SessionSummary,
    SynthesisRecord,
    WorkstreamRecord,
)
from mao_tui.store.sink import StoreSink

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
