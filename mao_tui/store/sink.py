"""StoreSink: persists the engine's event stream while a session runs.

Structural events are written (and committed) before ``__call__`` returns. ``Delta`` text is only
appended to an in-memory buffer. A timer, set by the first text that waits, writes all buffered
text in one statement ``FLUSH_INTERVAL_S`` later, or a delta that comes in the last quarter of
that interval does; that statement is queued on SQLite's thread with no reply to wait for, so a
flush wakes the event loop only when it fails. ``AttemptFinished`` writes its attempt's text in
the statement that ends it, and an event written in a transaction writes all of it in that
transaction. An event written by one statement is written outside a transaction (atomic by
itself): one round trip to SQLite's thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING

import aiosqlite

from mao_tui.domain import (
    AttemptFinished,
    Delta,
    EngineEvent,
    SessionFinished,
    SessionStatus,
    VerificationOutput,
)
from mao_tui.domain.errors import StoreUnwritableError
from mao_tui.store.db import FLUSH_INTERVAL_S, Posted, is_write_failure, unwritable
from mao_tui.store.streamed import Buffer, append_all
from mao_tui.store.writes import attempt_finished, one_statement, write_event

if TYPE_CHECKING:
    from mao_tui.store.db import Store

log = logging.getLogger(__name__)


_EARLY = 0.25  # a delta in the last quarter of the interval flushes: the loop is awake for it


class StoreSink:
    """An ``EventSink`` writing to a ``Store``. Get one from ``Store.sink()``; ``aclose()`` it."""

    def __init__(self, store: Store, *, flush_interval: float = FLUSH_INTERVAL_S) -> None:
        self._store = store
        self._interval = flush_interval
        self._buffer: Buffer = {}
        self._timer: asyncio.TimerHandle | None = None  # the next periodic flush, while text waits
        self._flushing: asyncio.Task[None] | None = None  # a periodic flush under way
        self._posted: Posted | None = None  # the last periodic flush queued without a reply
        self._closed = False
        self.failure: StoreUnwritableError | None = None  # the write that failed; no more

    async def __call__(self, event: EngineEvent) -> None:
        if self._closed:
            raise RuntimeError("StoreSink is closed")
        if self.failure is not None:
            if isinstance(event, SessionFinished):
                await self._last_word(event)
            raise self.failure
        if isinstance(event, Delta):
            self._buffer_delta(event)
            return
        if isinstance(event, VerificationOutput):
            return  # live only: VerificationFinished stores the tail of the output
        try:
            await self._write(event)
        except StoreUnwritableError as exc:
            self._fail(exc)
            if isinstance(event, SessionFinished):
                await self._last_word(event)
            raise

    def _fail(self, exc: StoreUnwritableError) -> None:
        """A write failed (a full disk): the session stops; buffered text is given up."""
        if self.failure is None:
            self.failure = exc
        self._buffer.clear()
        self._disarm()

    async def _last_word(self, event: SessionFinished) -> None:
        """After a failed write, try to leave the session's row not ``running``: one small
        update may still fit where the text did not. If not, the next start marks it
        interrupted (its process is gone by then)."""
        reason = event.error or (str(self.failure) if self.failure else "")
        try:
            async with self._store.transaction() as conn:
                await conn.execute(
                    "UPDATE sessions SET status = ?, error = ? WHERE id = ? AND status = ?",
                    (event.status.value, reason, event.session_id, SessionStatus.RUNNING.value),
                )
        except StoreUnwritableError:
            log.info("could not record the end of session %s either", event.session_id)

    @property
    def buffered(self) -> int:
        """Number of text fragments waiting to be written."""
        return sum(len(thinking) + len(text) for thinking, text in self._buffer.values())

    async def flush(self) -> None:
        """Write every buffered fragment now, in one statement (atomic by itself)."""
        if self.failure is not None:
            raise self.failure
        if not self._buffer and not self._in_flight():
            return
        async with self._taking(None) as (conn, taken):
            if taken:
                await conn.execute(*append_all(taken))

    async def aclose(self) -> None:
        """Stop the periodic flushes and write what is left. Idempotent."""
        self._closed = True
        self._disarm()
        try:
            if self._flushing is not None:  # awaited, not cancelled: see _taking
                try:
                    await self._flushing
                except asyncio.CancelledError:  # the flush was, by someone else: write on
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
            await self.flush()
        finally:
            self._store._release(self)

    def _buffer_delta(self, event: Delta) -> None:
        parts = self._buffer.get(event.attempt_id)
        if parts is None:
            parts = self._buffer[event.attempt_id] = ([], [])
        parts[0 if event.channel == "thinking" else 1].append(event.text)
        if self._timer is None:
            self._arm()
        elif self._timer.when() - asyncio.get_running_loop().time() < self._interval * _EARLY:
            self._flush_due()  # the loop is awake for this delta: spare it the timer's wake-up

    def _arm(self) -> None:
        """One timer while text waits, set when the first of it comes: the text is written
        within the interval, by one flush, and no flush runs when nothing waits."""
        if self._timer is None and self._flushing is None and self._buffer and not self._closed:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._flush_due)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush_due(self) -> None:
        """Write the buffered text: queued on SQLite's thread with no reply to wait for when
        the connection is free and the last such write has run; otherwise by a task that waits
        its turn."""
        self._disarm()
        if not self._buffer or self._flushing is not None:
            return
        if not self._in_flight():
            taken = self._buffer
            posted = self._store.post(*append_all(taken), partial(self._post_failed, taken))
            if posted is not None:
                self._buffer = {}
                self._posted = posted
                return
        self._flushing = asyncio.create_task(self._flush_in_background(), name="mao-store-flush")

    def _in_flight(self) -> bool:
        return self._posted is not None and self._posted.pending

    def _post_failed(self, taken: Buffer, exc: BaseException) -> None:
        if isinstance(exc, sqlite3.DatabaseError) and is_write_failure(exc):
            self._fail(unwritable(self._store.path, exc))  # the next event is refused with it
            return
        log.error("writing streamed text to the session store failed; will retry: %s", exc)
        self._put_back(taken)

    async def _flush_in_background(self) -> None:
        try:
            await self.flush()
        except StoreUnwritableError:
            return  # the next event the session sends is refused with it: the session stops
        except Exception:
            log.exception("writing streamed text to the session store failed; will retry")
        finally:
            self._flushing = None
        self._arm()  # for text that came during the write, or was put back

    async def _write(self, event: EngineEvent) -> None:
        if isinstance(event, AttemptFinished):  # with its buffered text, in one statement
            async with self._taking(event.attempt_id) as (conn, taken):
                thinking, text = taken.get(event.attempt_id, ([], []))
                await conn.execute(*attempt_finished(event, "".join(thinking), "".join(text)))
        elif (statement := one_statement(event)) is not None:
            async with self._store.alone() as conn:
                await conn.execute(*statement)
        else:  # a transaction anyway: every attempt's buffered text goes in it first
            async with self._taking(None, transaction=True) as (conn, taken):
                if taken:
                    await conn.execute(*append_all(taken))
                await write_event(conn, event)

    @asynccontextmanager
    async def _taking(
        self, attempt_id: str | None, *, transaction: bool = False
    ) -> AsyncIterator[tuple[aiosqlite.Connection, Buffer]]:
        """A write (one statement, or a transaction) with the buffered text (one attempt's, or
        all with ``None``) taken under its lock, so text is written in the order it arrived even
        when a periodic flush and an event race for the lock; the text is put back in front
        when the write fails.

        A cancellation puts the text back only while the write can still be undone: a
        transaction cancelled before its body ended is rolled back. Once the body has ended, the
        transaction's COMMIT is on SQLite's thread (queued without waiting), as a single
        statement is from the start, and runs all the same: putting the text back would write
        it twice."""
        taken: Buffer = {}
        undoable = transaction
        try:
            async with self._store.transaction() if transaction else self._store.alone() as conn:
                if self._in_flight():  # a transaction's BEGIN has already waited for it
                    await self._store.settle()
                if self.failure is not None:  # that write failed for lack of room
                    raise self.failure
                taken = self._take(attempt_id)
                yield conn, taken
                undoable = False
        except StoreUnwritableError as exc:
            self._fail(exc)  # the session stops: its text is given up
            raise
        except asyncio.CancelledError:
            if undoable:
                self._put_back(taken)
            raise
        except BaseException:
            self._put_back(taken)
            raise

    def _take(self, attempt_id: str | None) -> Buffer:
        if attempt_id is None:
            taken, self._buffer = self._buffer, {}
        else:
            parts = self._buffer.pop(attempt_id, None)
            taken = {} if parts is None else {attempt_id: parts}
        if not self._buffer:
            self._disarm()
        return taken

    def _put_back(self, taken: Buffer) -> None:
        for attempt_id, (thinking, text) in taken.items():
            newer = self._buffer.get(attempt_id, ([], []))
            self._buffer[attempt_id] = (thinking + newer[0], text + newer[1])
        self._arm()
