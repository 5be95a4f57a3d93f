"""Write a journal entry: ``FOLDER/DATE-slug.md``, never over an existing file.

The slug comes from the entry's own ``# `` title (the synthesis is asked to start with one),
else from what the entry is about. A name already taken gets ``-2``, ``-3``, ... The file is
written to a temporary name in the same folder and then hard-linked to its final name, which
fails rather than replaces when that name appeared meanwhile (another mao writing the same day).
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mao_tui.domain import OutputWritten

SLUG_WORDS = 8
SLUG_CHARS = 60
MAX_SUFFIX = 1000
_TITLE = re.compile(r"^#\s+(?P<title>\S.*?)\s*#*\s*$", re.M)


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: at most 8 words, 60 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())[:SLUG_WORDS]
    slug = "-".join(words)[:SLUG_CHARS].strip("-")
    return slug or "entry"


def entry_title(text: str) -> str | None:
    match = _TITLE.search(text)
    return match["title"] if match else None


def front_matter(about: str, session_id: str, today: date) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return (
        f"---\ndate: {today.isoformat()}\nabout: {quoted(' '.join(about.split()))}\n"
        f"mao_session: {session_id}\n---\n\n"
    )


def write_new(folder: Path, stem: str, text: str) -> Path:
    """``folder/stem.md``, or the first free ``stem-N.md``; never replaces a file."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".journal-", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        for n in range(1, MAX_SUFFIX + 1):
            target = folder / (f"{stem}.md" if n == 1 else f"{stem}-{n}.md")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # no hard links on this filesystem: create exclusively instead
                try:
                    with target.open("x", encoding="utf-8") as f:
                        f.write(text)
                except FileExistsError:
                    continue
            return target
        raise FileExistsError(f"{folder}: {stem}.md and {MAX_SUFFIX - 1} suffixed names are taken")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class JournalWriter:
    """The journal's ``Deliver``: writes each successful synthesis as a new entry."""

    folder: Path
    about: str  # what the entry is about (the session's task): front matter, fallback slug
    today: date | None = None  # the entry's date; None: today, when it is written

    async def __call__(self, session_id: str, text: str) -> OutputWritten:
        day = self.today or date.today()
        stem = f"{day.isoformat()}-{slugify(entry_title(text) or self.about)}"
        body = front_matter(self.about, session_id, day) + text.strip() + "\n"
        try:
            path = await asyncio.to_thread(write_new, self.folder, stem, body)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return OutputWritten(
                session_id=session_id, kind="journal", error=f"{self.folder}: {reason}"
            )
        return OutputWritten(session_id=session_id, kind="journal", path=str(path))
