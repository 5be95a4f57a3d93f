"""Files a user hands a session (a spec, context files), read with one clear error each."""

from __future__ import annotations

import os
from pathlib import Path

from mao_tui.domain.errors import UsageError
from mao_tui.settings.schema import Limits

DEFAULT_MAX_INPUT_BYTES = Limits().max_input_bytes


def read_text(
    path: Path,
    what: str = "spec file",
    option: str = "--spec",
    limit: int = DEFAULT_MAX_INPUT_BYTES,
    kind: str = "Markdown text",
) -> str:
    """The UTF-8 text of ``path``; a :class:`UsageError` naming the file and the problem.
    At most ``limit`` bytes are read (``/dev/zero`` or a FIFO cannot make this hang)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; {option} expects a Markdown file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} ({exc.strerror})") from None
    if len(data) > limit:
        amount = f"{size:,} bytes" if size > limit else f"more than {limit:,} bytes"
        raise UsageError(
            f"{path}: the {what} is {amount}, over the limit of {limit:,} "
            "(limits.max_input_bytes in models.yaml's global: section)"
        )
    if b"\0" in data:
        raise UsageError(f"{path}: looks binary (NUL byte); {option} expects {kind}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def with_context(spec: str, files: list[tuple[Path, str]]) -> str:
    """The spec followed by each context file, fenced, under a heading naming it."""
    parts = [spec.rstrip()] if spec.strip() else []
    for path, text in files:
        fence = "~~~~" if "```" in text else "```"
        parts.append(f"## Context file: {path}\n\n{fence}\n{text.rstrip()}\n{fence}")
    return "\n\n".join(parts) + ("\n" if parts else "")
