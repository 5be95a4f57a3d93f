"""A synthesis's edits: whole files (its ``mao-files`` manifest or fenced blocks naming their
paths, see ``files.py``) and search/replace hunks for existing files (``hunks.py``), as one
list of whole files for ``apply.plan_changes`` and the hunks that could not apply, with why.

A fenced block that holds hunk markers is hunks, never a file's whole content. A file given
whole wins over hunks for the same path: those hunks are rejected, saying so. Hunks the user
declined in the review (``skip``, by number) are left out, as if the answer had not held them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mao_tui.engine.files import FileBlock, synthesis_files
from mao_tui.engine.hunks import HunkResult, edit_files, is_search_line, parse_hunks


@dataclass(frozen=True)
class SynthesisEdits:
    files: list[FileBlock]  # whole files, those the hunks changed included
    source: Literal["manifest", "fenced", "none"]  # hunks alone read as "fenced" (tolerant)
    error: str = ""  # why nothing at all could be taken
    rejected: list[HunkResult] = field(default_factory=list)
    hunks: int = 0  # hunks found
    results: list[HunkResult] = field(default_factory=list)  # every hunk's, in order


def _holds_hunks(block: FileBlock) -> bool:
    return any(is_search_line(line) for line in block.content.split("\n"))


def synthesis_edits(
    root: Path, markdown: str, skip: frozenset[int] = frozenset()
) -> SynthesisEdits:
    """Everything ``markdown`` asks to change under ``root`` (nothing is written here), but
    the hunks numbered in ``skip``."""
    hunks = [h for h in parse_hunks(markdown) if h.number not in skip]
    found = synthesis_files(markdown)
    if not hunks and not skip:
        return SynthesisEdits(found.files, found.source, found.error)
    whole = [block for block in found.files if not _holds_hunks(block)]
    given = {block.path for block in whole}
    kept = [h for h in hunks if h.path not in given]
    edits = edit_files(root, kept)
    shadowed = [
        HunkResult(h, "rejected", "the answer also gives this file whole; the whole file is used")
        for h in hunks
        if h.path in given
    ]
    results = sorted([*edits.results, *shadowed], key=lambda r: r.hunk.number)
    rejected = [r for r in results if not r.applied]
    source = found.source if whole else "fenced"
    return SynthesisEdits([*whole, *edits.files], source, "", rejected, len(hunks), results)
