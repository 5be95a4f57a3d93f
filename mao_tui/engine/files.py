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
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mao_tui.domain.sanitize import INVISIBLE, clean_keeping_crlf
from mao_tui.domain.sanitize import shown as visible

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
    problem: str = ""  # why it may not be written, found before its path was made visible


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


_GIT_NAMES = frozenset({".git", "git~1", ".mao", "mao~1"})
NAME_MAX = 255  # bytes in one file name: ext4, XFS, btrfs, APFS, NTFS (in UTF-16 units)
PATH_MAX = 4096  # bytes in a whole path (Linux); macOS allows 1024


def _unsafe_char(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ord(ch) in INVISIBLE


def path_shown(path: str) -> str:
    """``path`` as it may be displayed: every control, bidi, zero-width or format character as
    a visible mark (a newline cannot forge a line of the summary)."""
    out = []
    for ch in path:
        code = ord(ch)
        if code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif _unsafe_char(ch):
            out.append(f"⟨U+{code:04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


def git_alias(part: str) -> str | None:
    """The protected name ``part`` stands for on some file system, or None: case-insensitive
    (APFS, NTFS), trailing dots and spaces dropped and ``::$DATA`` streams (Windows), 8.3 short
    names (``GIT~1``)."""
    name = part.split(":", 1)[0].rstrip(". ").casefold()
    if name in _GIT_NAMES:
        return ".git" if "git" in name else ".mao"
    return None


def path_problem(path: str) -> str | None:
    """Why a model-proposed path may not be written, or None. Symlinks are checked on disk."""
    bad = next((ch for ch in path if _unsafe_char(ch)), None)
    if bad is not None:
        name = unicodedata.name(bad, "a control character")
        return f"contains U+{ord(bad):04X} ({name.lower()}); paths may hold no control characters"
    if "\\" in path:
        return "contains a backslash"
    for picture in ("\u2400", "\ufffd"):  # a NUL or C1 control made visible by clean()
        if picture in path:
            return f"contains U+{ord(picture):04X} (a control character made visible)"
    pure = PurePosixPath(path)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", path):
        return "is absolute"
    if ".." in pure.parts:
        return "climbs out with .."
    for i, part in enumerate(pure.parts):
        alias = git_alias(part)
        spelled = "" if part == alias else f" (spelled {part!r})"
        if alias == ".git" and i == len(pure.parts) - 1:
            return f"is a file named .git{spelled}: it would point git at another directory"
        if alias == ".git":
            return f"is inside .git/{spelled}"
        if alias == ".mao":  # its verify.yaml names the commands mao runs
            return f"is inside .mao/{spelled} (mao's own configuration)"
    if not pure.parts or path.endswith("/"):
        return "names no file"
    for part in pure.parts:
        size = len(part.encode("utf-8"))
        if size > NAME_MAX:
            return (
                f"has a name of {size:,} bytes, over the file system's limit of {NAME_MAX} "
                f"({part[:24]}...)"
            )
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
    return [(start + 1, body) for start, _, body in _manifest_spans(markdown.splitlines())]


def _manifest_spans(lines: list[str]) -> list[tuple[int, int, str]]:
    """(index of the opening fence, index after the closing one, body) of each manifest."""
    found: list[tuple[int, int, str]] = []
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
            found.append((start, min(i, len(lines)), "\n".join(body)))
    return found


def readable_manifests(markdown: str) -> str:
    """``markdown`` with each valid mao-files manifest shown as what it holds: every file's
    path, then its content in a fenced block tagged with the language of its extension (so a
    Markdown renderer highlights it), instead of one JSON string of escaped text. A manifest
    that is not valid stays as it is: what is wrong with it is worth seeing."""
    lines = markdown.splitlines()
    spans = _manifest_spans(lines)
    if not spans:
        return markdown
    for start, end, body in reversed(spans):
        try:
            manifest = FilesManifest.model_validate(json.loads(body))
        except (json.JSONDecodeError, ValidationError):
            continue
        shown = [f"**{len(manifest.files)} file{'s' if len(manifest.files) != 1 else ''}**", ""]
        for f in manifest.files:
            path, content = visible(f.path), visible(f.content)  # model output: sanitize.py
            fence = "`" * max(3, _longest_backtick_run(content) + 1)
            count = len(content.splitlines())
            shown += [
                f"`{path}` ({count} line{'s' if count != 1 else ''})",
                "",
                f"{fence}{language_of(path)}",
                *content.rstrip("\n").splitlines(),
                fence,
                "",
            ]
        lines[start:end] = shown
    return "\n".join(lines) + ("\n" if markdown.endswith("\n") else "")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def language_of(path: str) -> str:
    """The highlighting language of a file, from its name (``text`` when unknown)."""
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        aliases = get_lexer_for_filename(PurePosixPath(path).name).aliases
    except ClassNotFound:
        return "text"
    return aliases[0] if aliases else "text"


def _manifest_problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(path_shown(f"{where}: {err['msg']}"))
    return "; ".join(parts)


def _manifest_file(entry: ManifestFile) -> FileBlock:
    """A manifest entry as a file to write: a path with a control character is refused and
    kept only in a visible form; the content is cleaned (see sanitize.py) but keeps its CR LF
    line endings and its bidi and zero-width characters (every diff shows those visibly)."""
    content = clean_keeping_crlf(entry.content)
    problem = path_problem(entry.path)
    if problem and any(_unsafe_char(ch) for ch in entry.path):
        return FileBlock(path_shown(entry.path), content, problem)
    return FileBlock(entry.path, content)


def synthesis_files(markdown: str) -> SynthesisFiles:
    """The files a synthesis proposes: its mao-files manifest (the last, if several), else its
    fenced blocks with path headers. An invalid manifest is an error, not a silent fallback."""
    blocks = _manifest_blocks(markdown)
    if blocks:
        line, body = blocks[-1]
        try:
            raw = json.loads(body)  # model output: cleaned below, see sanitize.py
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
        return SynthesisFiles([_manifest_file(f) for f in manifest.files], "manifest")
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
