"""Files in a model's answer: a JSON manifest, or fenced code blocks that name their path.

The synthesis prompt asks for one manifest, a fenced block tagged ``mao-files`` (``json`` may
precede it) holding ``{"files": [{"path": ..., "content": ...}, ...]}``; it is validated (paths
unique and non-empty, contents strings). Without a manifest, fenced blocks that name their path
are taken instead, in these forms, the last block for a path wins:

    ```python                      ### `snippets/store.py`          File: snippets/api.py
    # snippets/schemas.py          ```python                        ```python
    ...                            ...                              ...
    ```                            ```                              ```

A path comment must be the block's first line (`#`, `//`, `--`, `;`, `/* */` or `<!-- -->`); a
path line must be the last non-blank line before the fence. Nothing here touches the disk.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mao_tui.sanitize import clean_json

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
    if pure.parts and pure.parts[0] == ".mao":  # its verify.yaml names the commands mao runs
        return "is inside .mao/ (mao's own configuration)"
    if not pure.parts or path.endswith("/"):
        return "names no file"
    return None


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a model may add "language", "description"...

    path: str = Field(min_length=1)
    content: str


class FilesManifest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    files: list[ManifestFile] = Field(min_length=1)

    @field_validator("files")
    @classmethod
    def _paths_unique(cls, files: list[ManifestFile]) -> list[ManifestFile]:
        paths = [f.path for f in files]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"a path may appear once; repeated: {', '.join(dupes)}")
        return files


@dataclass(frozen=True)
class SynthesisFiles:
    files: list[FileBlock]
    source: Literal["manifest", "fenced", "none"]
    error: str = ""  # why no file could be taken (an invalid manifest, or none found)


MANIFEST_TAG = "mao-files"


def _manifest_blocks(markdown: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, body) of every fenced block tagged mao-files."""
    lines = markdown.splitlines()
    found: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        opening = _FENCE_OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        start, fence = i, opening["fence"]
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if MANIFEST_TAG in opening["info"].split():
            found.append((start + 1, "\n".join(body)))
    return found


def _manifest_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def synthesis_files(markdown: str) -> SynthesisFiles:
    """The files a synthesis proposes: its mao-files manifest (the last, if several), else its
    fenced blocks with path headers. An invalid manifest is an error, not a silent fallback."""
    blocks = _manifest_blocks(markdown)
    if blocks:
        line, body = blocks[-1]
        try:
            raw = clean_json(json.loads(body))  # model output: see sanitize.py
        except json.JSONDecodeError as exc:
            return SynthesisFiles(
                [],
                "manifest",
                f"the {MANIFEST_TAG} block at line {line} is not JSON: "
                f"{exc.msg} (its line {exc.lineno}, column {exc.colno})",
            )
        try:
            manifest = FilesManifest.model_validate(raw)
        except ValidationError as exc:
            return SynthesisFiles(
                [],
                "manifest",
                f"the {MANIFEST_TAG} block at line {line} is not a valid manifest: "
                + _manifest_problem(exc),
            )
        return SynthesisFiles([FileBlock(f.path, f.content) for f in manifest.files], "manifest")
    fenced = extract_files(markdown)
    if fenced:
        return SynthesisFiles(fenced, "fenced")
    return SynthesisFiles(
        [],
        "none",
        f"the synthesis has no {MANIFEST_TAG} manifest and no fenced code block naming its path",
    )


def manifest_block(files: list[FileBlock]) -> str:
    """A manifest in the form the synthesis prompt asks for (the simulator writes it too)."""
    body = json.dumps(
        {"files": [{"path": f.path, "content": f.content} for f in files]},
        indent=1,
        ensure_ascii=False,
    )
    return f"```json {MANIFEST_TAG}\n{body}\n```\n"
