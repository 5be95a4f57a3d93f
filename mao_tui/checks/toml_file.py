"""Reading a TOML project file with tomllib; a malformed one names its file and line."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from mao_tui.checks.model import ProjectFileError, read_text

_AT_LINE = re.compile(r"^(?P<msg>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = _AT_LINE.match(text)  # tomllib puts the position in its message
        if match is None:
            raise ProjectFileError(path, f"not valid TOML: {text}") from None
        message = f"not valid TOML: {match['msg']} (column {match['col']})"
        raise ProjectFileError(path, message, int(match["line"])) from None


def table(data: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    """``data[keys[0]][keys[1]]...`` when every step is a table, else None."""
    node: Any = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None
