"""Where the session database lives."""

from __future__ import annotations

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
