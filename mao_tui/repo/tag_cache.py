"""Parsed files kept by content hash, in memory and on disk, so a second map of an unchanged
repository parses nothing.

The key is the SHA-256 of the language name and the file's bytes, so a renamed file hits and an
edited one misses. On disk each entry is one small JSON file under
``<user cache dir>/mao/repo-tags-v<N>/ab/<hash>.json``, written atomically; a missing, unreadable
or foreign entry is a miss, so the folder is safe to delete at any time. It is kept under
``MAX_ENTRIES`` files: after a build that wrote new entries, the least recently used beyond the
bound are removed (a hit refreshes its entry's time). The memory side is an LRU of
``MEMORY_ENTRIES``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from mao_tui.repo.tags import FileTags, Symbol

CACHE_VERSION = 2  # bump when tags.py extracts differently: old entries are then ignored
MAX_ENTRIES = 20_000
MEMORY_ENTRIES = 4_096


def default_cache_dir() -> Path:
    import platformdirs

    # appauthor=False: on Windows the default would nest the folder twice (mao\mao).
    base = Path(platformdirs.user_cache_dir("mao", appauthor=False))
    return base / f"repo-tags-v{CACHE_VERSION}"


def content_key(lang: str | None, data: bytes) -> str:
    digest = hashlib.sha256((lang or "").encode() + b"\0")
    digest.update(data)
    return digest.hexdigest()


class TagCache:
    """Memory and disk cache of ``FileTags``; ``folder=None`` keeps it in memory only."""

    def __init__(self, folder: Path | None, max_entries: int = MAX_ENTRIES) -> None:
        self.folder = folder
        self.max_entries = max_entries
        self._memory: OrderedDict[str, FileTags] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._written = 0

    def get(self, key: str) -> FileTags | None:
        tags = self._memory.get(key)
        if tags is None:
            tags = self._read(key)
        if tags is None:
            self.misses += 1
            return None
        self.hits += 1
        self._remember(key, tags)
        return tags

    def put(self, key: str, tags: FileTags) -> None:
        self._remember(key, tags)
        if self.folder is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(_to_json(tags), handle, separators=(",", ":"))
            os.replace(tmp, path)
            self._written += 1
        except OSError:  # a read-only or full cache folder only costs speed
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)

    def prune(self) -> int:
        """Remove the least recently used entries beyond ``max_entries``; how many went."""
        if self.folder is None or not self._written or not self.folder.is_dir():
            return 0
        self._written = 0
        entries = []
        for sub in os.scandir(self.folder):
            if sub.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    for item in os.scandir(sub.path):
                        with contextlib.suppress(OSError):
                            entries.append((item.stat().st_mtime, item.path))
        excess = len(entries) - self.max_entries
        if excess <= 0:
            return 0
        entries.sort()
        for _, path in entries[:excess]:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return excess

    def _remember(self, key: str, tags: FileTags) -> None:
        self._memory[key] = tags
        self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_ENTRIES:
            self._memory.popitem(last=False)

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def _read(self, key: str) -> FileTags | None:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            with path.open(encoding="utf-8") as handle:
                tags = _from_json(json.load(handle))
            os.utime(path)  # recently used: the prune keeps it
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return tags


def _to_json(tags: FileTags) -> dict[str, Any]:
    return {
        "v": CACHE_VERSION,
        "lang": tags.lang,
        "symbols": [[s.name, s.kind, s.line, s.signature, s.depth] for s in tags.symbols],
        "refs": tags.refs,
    }


def _from_json(data: Any) -> FileTags:
    if data["v"] != CACHE_VERSION:
        raise ValueError("another version")
    symbols = tuple(
        Symbol(str(name), str(kind), int(line), str(sig), int(depth))
        for name, kind, line, sig, depth in data["symbols"]
    )
    refs = {str(k): int(v) for k, v in data["refs"].items()}
    lang = data["lang"]
    return FileTags(None if lang is None else str(lang), symbols, refs)
