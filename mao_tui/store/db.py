"""The session database: one aiosqlite connection to one SQLite file in WAL mode."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import aiosqlite

from mao_tui.domain import SessionStatus
from mao_tui.domain.errors import StoreUnwritableError
from mao_tui.store.check import DatabaseUnusableError, check_database, describe_open_failure
from mao_tui.store.liveness import pid_alive
from mao_tui.store.migrations import SCHEMA_VERSION, migrate
from mao_tui.store.paths import create_private

# The records (pydantic) and the sink (the events) are imported where they are used: a listing
# (`mao sessions`) then imports neither.
if TYPE_CHECKING:
    from mao_tui.domain.budget_events import History
    from mao_tui.domain.listing import SessionRow
    from mao_tui.domain.stored import SessionDetail, SessionHit, SessionSummary
    from mao_tui.store.sink import StoreSink

FLUSH_INTERVAL_S = 0.25  # a sink's default: text deltas are written at most 4 times a second

BUSY_TIMEOUT_MS = 5000
_AMBIGUOUS_SHOWN = 5


# SQLite's primary result codes that mean "this file cannot be written now".
_WRITE_FAILURES = {
    3,  # SQLITE_PERM
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR (a write refused by the file system: EFBIG, EIO...)
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    26,  # SQLITE_NOTADB
}


_NOT_A_DATABASE = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _primary_code(exc: sqlite3.DatabaseError) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_write_failure(exc: sqlite3.DatabaseError) -> bool:
    return _primary_code(exc) in _WRITE_FAILURES


def unwritable(path: Path, exc: sqlite3.DatabaseError) -> StoreUnwritableError:
    return StoreUnwritableError(f"disk full / cannot write the database {path} ({exc})")


_SQLITE_BUSY = 5
_WAL_RETRY_S = 0.01


async def _enter_wal(conn: aiosqlite.Connection) -> None:
    """Switch the file to WAL mode. The switch needs the file to itself and SQLite does not call
    the busy handler for it, so another process opening the same fresh file at this instant makes
    it fail at once with "database is locked": retry until the busy timeout instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if _primary_code(exc) != _SQLITE_BUSY or loop.time() >= deadline:
                raise
        await asyncio.sleep(_WAL_RETRY_S)


class AmbiguousSessionIdError(LookupError):
    """A session id prefix matched more than one session."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        shown = ", ".join(matches[:_AMBIGUOUS_SHOWN])
        more = ", …" if len(matches) > _AMBIGUOUS_SHOWN else ""
        super().__init__(f"session id prefix {prefix!r} is ambiguous: {shown}{more}")
        self.prefix = prefix
        self.matches = matches


class Posted:
    """A statement queued by ``Store.post``: ``pending`` until it has run and, when it failed,
    until its ``failed`` has been called on the event loop."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = True


class Store:
    """Sessions on disk. ``await Store.open(path)``, then ``await store.close()``.

    All statements go through one connection; an ``asyncio.Lock`` keeps the transactions of
    concurrent coroutines (several sinks, a reader) from interleaving on it.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.path = path
        self._conn = conn
        self._lock = asyncio.Lock()
        self._sinks: set[StoreSink] = set()
        self._closed = False

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (or create) the database at ``path``. DatabaseUnusableError (a UsageError) when
        it is no database mao can use, before anything touches it; StoreUnwritableError when
        it cannot be written (a full disk)."""
        check_database(path, SCHEMA_VERSION)
        try:
            create_private(path)
        except OSError as exc:
            message = f"{path}: cannot create it ({exc.strerror or exc})"
            raise DatabaseUnusableError(message) from None
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await migrate(conn, path)  # first: a file from a newer mao is refused untouched
            await _enter_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            await conn.close()
            if _primary_code(exc) in _NOT_A_DATABASE:  # what the header could not tell
                raise describe_open_failure(path, exc) from exc
            if is_write_failure(exc):
                raise unwritable(path, exc) from exc
            raise
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        """Close every sink (flushing its text), then the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for sink in list(self._sinks):
                await sink.aclose()
        finally:
            await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def sink(self, *, flush_interval: float = FLUSH_INTERVAL_S) -> StoreSink:
        from mao_tui.store.sink import StoreSink

        sink = StoreSink(self, flush_interval=flush_interval)
        self._sinks.add(sink)
        return sink

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` (or a read snapshot with ``write=False``) … ``COMMIT``."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException as exc:
                # Also reached when BEGIN itself failed or was cancelled after being queued.
                with contextlib.suppress(sqlite3.Error):
                    await self._conn.execute("ROLLBACK")
                if write:
                    self._raise_if_unwritable(exc)
                raise

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for one write statement outside any transaction (atomic by itself,
        committed with it): one round trip to SQLite's thread where a transaction takes three."""
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                self._raise_if_unwritable(exc)
                raise

    def post(
        self, sql: str, params: Sequence[object], failed: Callable[[BaseException], None]
    ) -> Posted | None:
        """Queue one statement on SQLite's thread without waiting for it: it runs after every
        statement queued before it and before any queued after, outside any transaction, and
        wakes the event loop only when it fails (``failed`` is then called there). None, and
        nothing queued, while a coroutine holds the connection: the statement could land inside
        its transaction."""
        queue = getattr(self._conn, "_tx", None)  # aiosqlite's own queue (0.22), in its order
        if queue is None or self._lock.locked() or self._closed:
            return None
        loop = asyncio.get_running_loop()
        raw = self._conn._conn  # the sqlite3.Connection, used only on SQLite's thread below
        posted = Posted()

        def report(exc: BaseException) -> None:
            try:
                failed(exc)
            finally:
                posted.pending = False

        def run() -> None:
            try:
                raw.execute(sql, params)
            except BaseException as exc:
                loop.call_soon_threadsafe(report, exc)
            else:
                posted.pending = False

        queue.put_nowait((None, run))  # an item with no future gets no reply
        return posted

    async def settle(self) -> None:
        """Return once every statement queued so far has run (and any ``failed`` was called)."""
        await self._conn.execute("SELECT 1")

    def _raise_if_unwritable(self, exc: BaseException) -> None:
        """A write that failed for lack of room or rights becomes ``StoreUnwritableError``."""
        if isinstance(exc, sqlite3.DatabaseError) and is_write_failure(exc):
            raise unwritable(self.path, exc) from exc

    async def mark_interrupted(self) -> int:
        """Mark ``interrupted`` the sessions left ``running`` by a dead process on this host.

        Sessions recorded on another host are left alone: their process cannot be checked.
        """
        host = socket.gethostname()
        async with self.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id, pid FROM sessions WHERE status = ? AND hostname = ?",
                (SessionStatus.RUNNING.value, host),
            )
            dead = [
                (
                    SessionStatus.INTERRUPTED.value,
                    f"the process ({row['pid']}) ended before the session finished",
                    row["id"],
                )
                for row in rows
                if row["pid"] is not None and not pid_alive(int(row["pid"]))
            ]
            await conn.executemany(
                "UPDATE sessions SET status = ?, error = COALESCE(error, ?) WHERE id = ?", dead
            )
        return len(dead)

    async def model_history(self, *, simulated: bool) -> History:
        """What each model's answers have been (``store/budget.py``): the next estimate's base."""
        from mao_tui.store.budget import model_history

        async with self.transaction(write=False) as conn:
            return await model_history(conn, simulated=simulated)

    async def list_sessions(self, limit: int = 50) -> list[SessionSummary]:
        """Newest first."""
        from mao_tui.store.reads import list_summaries

        async with self.transaction(write=False) as conn:
            return await list_summaries(conn, limit)

    async def list_rows(self, limit: int = 50) -> list[SessionRow]:
        """Newest first, as plain rows (what ``mao sessions`` prints; no pydantic)."""
        from mao_tui.store.listing import session_rows

        async with self.transaction(write=False) as conn:
            return await session_rows(conn, limit)

    async def search_sessions(
        self,
        text: str = "",
        *,
        status: str | None = None,
        playbook: str | None = None,
        project_dir: str | None = None,
        limit: int = 200,
    ) -> list[SessionHit]:
        """Full-text search over tasks and outputs (see ``reads.search_sessions``)."""
        from mao_tui.store.reads import search_sessions

        async with self.transaction(write=False) as conn:
            return await search_sessions(
                conn,
                text,
                status=status,
                playbook=playbook,
                project_dir=project_dir,
                limit=limit,
            )

    async def session_snippet(self, session_id: str, text: str) -> str:
        """Where ``text`` matches in one session (see ``reads.session_snippet``)."""
        from mao_tui.store.reads import session_snippet

        async with self.transaction(write=False) as conn:
            return await session_snippet(conn, session_id, text)

    async def get_session(self, id_or_prefix: str) -> SessionDetail | None:
        """The session whose id starts with ``id_or_prefix`` (case-insensitive), or ``None``.

        Raises ``AmbiguousSessionIdError`` when the prefix matches several sessions.
        """
        from mao_tui.store.reads import ids_with_prefix, session_detail

        prefix = id_or_prefix.strip().upper()
        if not prefix:
            return None
        async with self.transaction(write=False) as conn:
            matches = await ids_with_prefix(conn, prefix, limit=_AMBIGUOUS_SHOWN + 1)
            if len(matches) > 1:
                raise AmbiguousSessionIdError(prefix, matches)
            return await session_detail(conn, matches[0]) if matches else None

    def _release(self, sink: StoreSink) -> None:
        self._sinks.discard(sink)
