"""Edits to existing files as search/replace hunks, parsed from a model's answer and applied to
the files' text. The format (docs/repository.md), one block per change:

    path/to/file.py
    <<<<<<< SEARCH
    the exact lines to find, a few around the change so they occur once
    =======
    the lines to put in their place
    >>>>>>> REPLACE

The path is the last non-blank line before ``<<<<<<< SEARCH`` (backticks, ``#``, ``**`` and a
trailing colon around it are dropped; a fence opening between them is skipped); a block with no
path line edits the file of the block before it. An empty SEARCH creates a file whole, and is
refused for a file that exists and is not empty.

A hunk applies where its SEARCH lines occur exactly, once; failing that, where they occur once
when each line's leading and trailing whitespace is ignored, the replacement then re-indented to
the file's indentation at that place. No match, or more than one, rejects the hunk with the
reason (the fix round sends it back); the other hunks of the file still apply, in order, each
to the text the ones before it left. Paths are model output and confined as ``apply.py``
confines a synthesis's files; the result is one whole ``FileBlock`` per changed file, for
``apply.plan_changes`` (limits, diff, backup, atomic write) to take from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mao_tui.domain.sanitize import clean_keeping_crlf
from mao_tui.engine.apply import _confined
from mao_tui.engine.files import FileBlock, path_shown

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})[\w+.-]*\s*$")
_PATH_LINE = re.compile(r"^[\w.@+/-]*[\w@+-]$")
MATCHES_SHOWN = 5

HunkStatus = Literal["applied", "applied_loosely", "rejected"]


@dataclass(frozen=True)
class Hunk:
    path: str
    search: str
    replace: str
    number: int  # 1-based, in the answer's order
    problem: str = ""  # why it cannot apply, found while parsing


@dataclass(frozen=True)
class HunkResult:
    hunk: Hunk
    status: HunkStatus
    reason: str = ""  # why rejected
    line: int = 0  # 1-based line of the file where it applied

    @property
    def applied(self) -> bool:
        return self.status != "rejected"


def _path_of(line: str) -> str:
    text = line.strip().strip("`*#:").strip()
    text = text.removeprefix("File:").removeprefix("file:").strip().strip("`*")
    return text if _PATH_LINE.match(text) else ""


def _preceding_path(lines: list[str], start: int, floor: int) -> str:
    """The path named on the last non-blank line before ``start`` (fences skipped)."""
    i = start - 1
    while i >= floor and (not lines[i].strip() or _FENCE.match(lines[i])):
        i -= 1
    return _path_of(lines[i]) if i >= floor else ""


def parse_hunks(answer: str) -> list[Hunk]:
    """Every SEARCH/REPLACE block of ``answer``, in order. A block left open is a Hunk with a
    problem, so it is reported rather than lost."""
    lines = answer.replace("\r\n", "\n").split("\n")
    hunks: list[Hunk] = []
    previous_path, floor, i = "", 0, 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = _preceding_path(lines, i, floor) or previous_path
        search, replace, i, problem = _block(lines, i + 1)
        number = len(hunks) + 1
        if not path:
            problem = problem or "names no file (put its path on the line before the block)"
        hunks.append(Hunk(path, search, replace, number, problem))
        previous_path, floor = path, i
    return hunks


def _block(lines: list[str], i: int) -> tuple[str, str, int, str]:
    """(search, replace, index after the block, problem) of the block whose SEARCH line
    came just before ``i``."""
    search: list[str] = []
    while i < len(lines) and not _DIVIDER.match(lines[i]):
        if _SEARCH.match(lines[i]) or _REPLACE.match(lines[i]):
            return "", "", i, "is not closed: a SEARCH with no ======= line"
        search.append(lines[i])
        i += 1
    if i >= len(lines):
        return "", "", i, "is not closed: a SEARCH with no ======= line"
    i += 1
    replace: list[str] = []
    while i < len(lines) and not _REPLACE.match(lines[i]):
        if _SEARCH.match(lines[i]):
            return "", "", i, "is not closed: no >>>>>>> REPLACE line"
        replace.append(lines[i])
        i += 1
    if i >= len(lines):
        return "", "", i, "is not closed: no >>>>>>> REPLACE line"
    return _joined(search), _joined(replace), i + 1, ""


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# -- applying to text -------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    """``text`` as lines that keep their endings, split after LF only (str.splitlines would
    also split at FF, VT, U+2028... and so change what a line is)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _bare(line: str) -> str:
    return line.rstrip("\r\n")


def _newline_of(lines: list[str]) -> str:
    crlf = sum(1 for line in lines if line.endswith("\r\n"))
    return "\r\n" if crlf and crlf >= len(lines) // 2 else "\n"


def _where(found: list[int]) -> str:
    shown = ", ".join(str(n + 1) for n in found[:MATCHES_SHOWN])
    more = f" and {len(found) - MATCHES_SHOWN} more" if len(found) > MATCHES_SHOWN else ""
    return f"lines {shown}{more}"


def _find(lines: list[str], search: list[str], loose: bool) -> list[int]:
    """Where ``search`` occurs in ``lines`` (0-based starts), exactly or ignoring each line's
    leading and trailing whitespace."""

    def norm(line: str) -> str:
        return _bare(line).strip() if loose else _bare(line)

    wanted = [norm(s) for s in search]
    n = len(wanted)
    first = wanted[0]
    return [
        i
        for i in range(len(lines) - n + 1)
        if norm(lines[i]) == first and [norm(x) for x in lines[i : i + n]] == wanted
    ]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindented(replace: list[str], search: list[str], found: list[str]) -> list[str]:
    """``replace`` moved from the SEARCH text's indentation to the file's at the match."""
    pairs = [(s, f) for s, f in zip(search, found, strict=True) if s.strip()]
    if not pairs:
        return replace
    theirs, ours = _indent(_bare(pairs[0][0])), _indent(_bare(pairs[0][1]))
    out = []
    for line in replace:
        body = _bare(line)
        if not body.strip():
            out.append(body)
        elif body.startswith(theirs):
            out.append(ours + body[len(theirs) :])
        else:
            out.append(ours + body.lstrip())
    return out


def apply_hunk(text: str | None, hunk: Hunk) -> tuple[str | None, HunkResult]:
    """``text`` (None: the file does not exist) with ``hunk`` applied, and the result; the
    text is unchanged when the hunk is rejected."""
    if hunk.problem:
        return text, HunkResult(hunk, "rejected", hunk.problem)
    replacement = clean_keeping_crlf(hunk.replace)  # model output: see sanitize.py
    if not hunk.search.strip():
        if text:
            return text, HunkResult(hunk, "rejected", _EXISTS)
        return replacement, HunkResult(hunk, "applied", line=1)
    if text is None:
        return text, HunkResult(
            hunk,
            "rejected",
            "the file does not exist (to create it, "
            "leave SEARCH empty and give the whole file in REPLACE)",
        )
    lines, search = _split(text), _split(hunk.search)
    status: HunkStatus = "applied"
    found = _find(lines, search, loose=False)
    if not found:
        status, found = "applied_loosely", _find(lines, search, loose=True)
    if not found:
        return text, HunkResult(hunk, "rejected", _NO_MATCH)
    if len(found) > 1:
        reason = f"SEARCH occurs {len(found)} times ({_where(found)}); add lines around it"
        return text, HunkResult(hunk, "rejected", f"{reason} so that it occurs once")
    at = found[0]
    matched = lines[at : at + len(search)]
    new = [_bare(x) for x in _split(replacement)]
    if status == "applied_loosely":
        new = _reindented(new, search, matched)
    newline = _newline_of(lines)
    ends = matched[-1][len(_bare(matched[-1])) :]  # the last matched line's own ending
    body = [line + newline for line in new]
    if body and not ends:
        body[-1] = body[-1][: -len(newline)]
    out = lines[:at] + body + lines[at + len(search) :]
    return "".join(out), HunkResult(hunk, status, line=at + 1)


_EXISTS = "SEARCH is empty, which creates a file, but the file exists and is not empty"
_NO_MATCH = (
    "SEARCH matches nothing in the file, even ignoring each line's leading and trailing "
    "whitespace: copy the lines exactly as they are now"
)


# -- applying to a tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class HunkEdits:
    files: list[FileBlock]  # each changed file whole, for apply.plan_changes
    results: list[HunkResult]  # one per hunk, in the answer's order

    @property
    def rejected(self) -> list[HunkResult]:
        return [r for r in self.results if not r.applied]


def edit_files(root: Path, hunks: list[Hunk]) -> HunkEdits:
    """Apply ``hunks`` to the files under ``root`` (read, never written here)."""
    root = root.resolve()
    texts: dict[str, str | None] = {}
    refused: dict[str, str] = {}
    results: list[HunkResult] = []
    for hunk in hunks:
        if hunk.path and hunk.path not in texts and hunk.path not in refused:
            problem = _confined(root, hunk.path) if not hunk.problem else None
            if problem:
                refused[hunk.path] = f"{path_shown(hunk.path)} {problem}"
            else:
                try:
                    texts[hunk.path] = _read(root / hunk.path)
                except (OSError, UnicodeDecodeError) as exc:
                    why = (
                        "is not UTF-8 text"
                        if isinstance(exc, UnicodeDecodeError)
                        else (f"cannot be read ({exc.strerror or exc})")
                    )
                    refused[hunk.path] = f"{path_shown(hunk.path)} {why}"
        if hunk.path in refused:
            results.append(HunkResult(hunk, "rejected", refused[hunk.path]))
            continue
        text, result = apply_hunk(texts.get(hunk.path), hunk)
        texts[hunk.path] = text
        results.append(result)
    changed = {r.hunk.path for r in results if r.applied}
    files = [FileBlock(p, t) for p, t in texts.items() if p in changed and t is not None]
    return HunkEdits(files, results)


def _read(target: Path) -> str | None:
    """The file's text, None when it does not exist; UnicodeDecodeError when it is not UTF-8
    (replacing its bytes would corrupt the lines no hunk touches)."""
    if not target.exists():
        return None
    return target.read_bytes().decode("utf-8")


def rejection_notes(rejected: list[HunkResult]) -> str:
    """The rejected hunks and why, for the next fix round's prompt ("" when none)."""
    if not rejected:
        return ""
    lines = [
        f"- hunk {r.hunk.number} for `{path_shown(r.hunk.path) or '?'}`: {r.reason}"
        for r in rejected
    ]
    return (
        "### Edits that were not applied\n\nThese search/replace hunks of the last synthesis "
        "could not be applied; give them again, corrected:\n" + "\n".join(lines) + "\n"
    )


def is_search_line(line: str) -> bool:
    """Whether ``line`` opens a hunk (``<<<<<<< SEARCH``)."""
    return _SEARCH.match(line) is not None
