"""Files in a model's answer: fenced code blocks that name their path.

Accepted forms, the last block for a path wins:

    ```python                      ### `snippets/store.py`          File: snippets/api.py
    # snippets/schemas.py          ```python                        ```python
    ...                            ...                              ...
    ```                            ```                              ```

A path comment must be the block's first line (`#`, `//`, `--`, `;`, `/* */` or `<!-- -->`); a
path line must be the last non-blank line before the fence. Nothing here touches the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

_FENCE_OPEN = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_PATH = r"(?P<path>[\w.@+-]+(?:/[\w.@+-]+)*\.[\w]+|[\w.@+-]+(?:/[\w.@+-]+)+|Makefile|Dockerfile)"
_COMMENT_PATH = re.compile(
    rf"^\s*(?:#|//|--|;|/\*|<!--)\s*(?:file(?:name)?:\s*)?{_PATH}\s*(?:\*/|-->)?\s*$", re.I
)
_HEADER_PATH = re.compile(
    rf"^\s*(?:#{{1,6}}\s+)?(?:\*\*)?(?:file(?:name)?:?\s*)?`?{_PATH}`?(?:\*\*)?:?\s*$", re.I
)


@dataclass(frozen=True)
class FileBlock:
    path: str
    content: str


def extract_files(markdown: str) -> list[FileBlock]:
    lines = markdown.splitlines()
    found: dict[str, str] = {}
    i = 0
    last_text = ""
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if not opening:
            if lines[i].strip():
                last_text = lines[i]
            i += 1
            continue
        fence = opening["fence"]
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence (or the end of an unclosed block)
        path = None
        if (body and (m := _COMMENT_PATH.match(body[0]))) or (m := _HEADER_PATH.match(last_text)):
            path = m["path"]
        last_text = ""
        if path:
            found.pop(path, None)  # the last block for a path wins, in its position
            found[path] = "\n".join(body).rstrip("\n") + "\n"
    return [FileBlock(p, c) for p, c in found.items()]


def path_problem(path: str) -> str | None:
    """Why a model-proposed path may not be written, or None. Symlinks are checked on disk."""
    if "\0" in path or "\\" in path:
        return "contains a backslash or NUL"
    pure = PurePosixPath(path)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", path):
        return "is absolute"
    if ".." in pure.parts:
        return "climbs out with .."
    if pure.parts and pure.parts[0] == ".git":
        return "is inside .git/"
    if not pure.parts or path.endswith("/"):
        return "names no file"
    return None
