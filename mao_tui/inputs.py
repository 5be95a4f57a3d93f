"""Files a user hands a session (a spec, context files), read with one clear error each."""

from __future__ import annotations

from pathlib import Path

from mao_tui.errors import UsageError


def read_text(path: Path, what: str = "spec file", option: str = "--spec") -> str:
    """The UTF-8 text of ``path``; a :class:`UsageError` naming the file and the problem."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; {option} expects a Markdown file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} ({exc.strerror})") from None
    if b"\0" in data:
        raise UsageError(f"{path}: looks binary (NUL byte); {option} expects Markdown text")
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
