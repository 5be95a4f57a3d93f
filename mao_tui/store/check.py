"""Is this path a database mao can use? Checked before anything opens it, by reading at most its
first 100 bytes: a directory, a file that is not SQLite, a truncated SQLite file, a path under a
file, or a database from a newer mao is refused with one line naming the path and the problem;
the file itself is never written, moved or deleted.

The SQLite header (https://www.sqlite.org/fileformat.html#the_database_header): the magic
string at 0, the page size at 16 (2 bytes, 1 meaning 65536), the change counter at 24, the size
in pages at 28 (valid when the "version-valid-for" number at 92 equals the change counter), and
the ``user_version`` mao's migrations count at 60.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:  # the check runs before Home's first frame, which needs no SQLite
    import sqlite3

MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
_CHOOSE = "pass another --db (or MAO_DB); mao leaves this one as it is"


class DatabaseUnusableError(UsageError):
    """The database path cannot be used: one line saying which path and why."""


class SchemaTooNewError(DatabaseUnusableError):
    """The database was written by a newer mao than this one."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        super().__init__(
            f"{path}: schema version {found} is newer than this mao supports ({supported}); "
            f"upgrade mao, or {_CHOOSE}"
        )
        self.path = path
        self.found = found
        self.supported = supported


def check_database(path: Path, supported_version: int) -> None:
    """Raise :class:`DatabaseUnusableError` unless ``path`` is a usable database or can be one."""
    if path.is_dir():
        raise DatabaseUnusableError(f"{path}: is a directory, not a database file; {_CHOOSE}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DatabaseUnusableError(
            f"{path}: {parent} is a file, not a folder, so the database cannot be made there"
        )
    if not path.exists():
        return  # a new database: mao creates it
    try:
        with path.open("rb") as f:
            header = f.read(HEADER_SIZE)
        size = os.stat(path).st_size
    except OSError as exc:
        raise DatabaseUnusableError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if size == 0:
        return  # an empty file is an empty database to SQLite
    if not header.startswith(MAGIC[: len(header)]) or len(header) < len(MAGIC):
        raise DatabaseUnusableError(
            f"{path}: not an SQLite database (a {size:,}-byte file without the SQLite header); "
            + _CHOOSE
        )
    if len(header) < HEADER_SIZE:
        raise DatabaseUnusableError(
            f"{path}: the SQLite file is truncated ({size:,} bytes, not even its 100-byte "
            f"header); restore it from a backup or {_CHOOSE}"
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # While another connection has it open in WAL mode (a -wal file beside it), a checkpoint
    # may have written the header's new size before the pages: the size is checked only when
    # the file is at rest. SQLite's own check on opening still catches damage then.
    at_rest = not Path(f"{path}-wal").exists()
    counted = header[24:28] == header[92:96] and pages > 0 and at_rest
    if page_size < 512 or (counted and size < pages * page_size):
        expected = f"{pages * page_size:,} bytes" if counted else "whole pages"
        raise DatabaseUnusableError(
            f"{path}: the SQLite file is truncated or damaged ({size:,} bytes; its header says "
            f"{expected}); restore it from a backup or {_CHOOSE}"
        )
    version = int.from_bytes(header[60:64], "big", signed=True)
    if version > supported_version:
        raise SchemaTooNewError(path, version, supported_version)


def describe_open_failure(path: Path, exc: sqlite3.DatabaseError) -> DatabaseUnusableError:
    """What the header could not tell: SQLite's own complaint on opening, as one line."""
    return DatabaseUnusableError(f"{path}: cannot use this database ({exc}); {_CHOOSE}")
