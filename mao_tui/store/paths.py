"""Where the session database lives."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    """``$MAO_DB`` if set, else ``mao.db`` in the platform's user data directory."""
    override = os.environ.get("MAO_DB")
    if override:
        return Path(override).expanduser()
    # appauthor=False: on Windows the default would nest the folder twice (mao\mao).
    return Path(platformdirs.user_data_dir("mao", appauthor=False)) / "mao.db"


def default_export_dir() -> Path:
    """Where the dashboard's export writes by default: ``exports`` in the user data directory
    (never the current directory, which is often a checkout)."""
    return Path(platformdirs.user_data_dir("mao", appauthor=False)) / "exports"


def create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), and the folders mao has to
    create for it likewise (0700). An existing file or folder keeps its mode: a ``--db`` in a
    folder of the user's is left as the user made it. SQLite gives the -wal and -shm files the
    mode of the database file."""
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            folder.mkdir(mode=0o700)
            folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)
