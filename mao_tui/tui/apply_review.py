"""What the apply view reviews, file by file: each file's units (its hunks, or the file whole when
the synthesis gave it whole), which of them the user accepts, and what they declined, for
:meth:`~mao_tui.service.ports.WorkspaceControl.apply`. Pure state: the screen draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from mao_tui.domain import ApplyProposal, Declined, FileChangeView, HunkView


@dataclass(frozen=True)
class Unit:
    """One thing to accept or decline: a hunk, or a file given whole (``hunk`` None)."""

    path: str
    hunk: HunkView | None = None
    change: FileChangeView | None = None  # the whole file's change

    @property
    def acceptable(self) -> bool:
        return self.hunk.acceptable if self.hunk is not None else self.change is not None

    @property
    def title(self) -> str:
        hunk = self.hunk
        if hunk is None:
            return "whole file"
        where = f" at line {hunk.line}" if hunk.line and hunk.acceptable else ""
        made = " (creates the file)" if not hunk.search.strip() else ""
        return f"hunk {hunk.number}{where}{made}"


@dataclass
class FileReview:
    path: str
    kind: str  # create, modify, unchanged, refused: what applying every accepted unit does
    units: list[Unit]
    reason: str = ""  # why the file itself is refused (its path), not one of its hunks


@dataclass
class Review:
    files: list[FileReview]
    declined_hunks: set[int] = field(default_factory=set)
    declined_files: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, proposal: ApplyProposal) -> Review:
        hunks: dict[str, list[HunkView]] = {}
        for hunk in proposal.hunks:
            hunks.setdefault(hunk.path, []).append(hunk)
        files: dict[str, FileReview] = {}
        for change in proposal.changes:
            review = files.get(change.path)
            if review is None:
                review = files[change.path] = FileReview(change.path, change.kind, [])
                review.units = [Unit(change.path, hunk=h) for h in hunks.get(change.path, [])]
            if change.kind in ("create", "modify"):
                review.kind = change.kind
                if not any(u.hunk is not None and u.hunk.acceptable for u in review.units):
                    review.units.insert(0, Unit(change.path, change=change))
            elif change.kind == "refused" and not change.reason.startswith("hunk "):
                review.reason = change.reason
        return cls(list(files.values()))

    def accepted(self, unit: Unit) -> bool:
        if not unit.acceptable:
            return False
        if unit.hunk is not None:
            return unit.hunk.number not in self.declined_hunks
        return unit.path not in self.declined_files

    def set(self, unit: Unit, accept: bool) -> bool:
        """Accept or decline ``unit``; False (nothing changes) when it cannot be accepted."""
        if not unit.acceptable:
            return False
        if unit.hunk is not None:
            _mark(self.declined_hunks, unit.hunk.number, not accept)
        else:
            _mark(self.declined_files, unit.path, not accept)
        return True

    def tally(self, review: FileReview) -> tuple[int, int]:
        """(accepted, acceptable) units of one file."""
        acceptable = [u for u in review.units if u.acceptable]
        return sum(self.accepted(u) for u in acceptable), len(acceptable)

    @property
    def any_accepted(self) -> bool:
        return any(self.accepted(u) for f in self.files for u in f.units)

    @property
    def declined(self) -> Declined:
        return Declined(frozenset(self.declined_hunks), frozenset(self.declined_files))


_K = TypeVar("_K", int, str)


def _mark(chosen: set[_K], key: _K, present: bool) -> None:
    if present:
        chosen.add(key)
    else:
        chosen.discard(key)
