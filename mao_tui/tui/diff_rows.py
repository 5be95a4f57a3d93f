"""Two answers as aligned rows of a side-by-side line diff (the compare view's; no Textual).

Each row holds a line of the left answer and a line of the right one, or ``None`` where the
other side has lines this one does not (a filler keeps both sides aligned, so they scroll as
one). Text is cleaned of control and invisible characters here: model output never reaches the
terminal raw.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from mao_tui.domain.sanitize import shown

Kind = Literal["same", "changed", "removed", "added"]


@dataclass(frozen=True, slots=True)
class DiffRow:
    kind: Kind
    left: str | None
    right: str | None


@dataclass(frozen=True, slots=True)
class DiffSummary:
    same: int
    changed: int
    removed: int  # only on the left
    added: int  # only on the right

    @property
    def line(self) -> str:
        if not (self.changed or self.removed or self.added):
            return f"identical ({self.same} lines)"
        return (
            f"{self.changed} changed, {self.removed} only left, {self.added} only right, "
            f"{self.same} the same"
        )


def diff_rows(left: str, right: str) -> list[DiffRow]:
    """The aligned rows of ``left`` against ``right``, line by line."""
    a = shown(left).splitlines()
    b = shown(right).splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffRow("same", a[i1 + k], b[j1 + k]) for k in range(i2 - i1)]
        elif tag == "delete":
            rows += [DiffRow("removed", a[i], None) for i in range(i1, i2)]
        elif tag == "insert":
            rows += [DiffRow("added", None, b[j]) for j in range(j1, j2)]
        else:  # replace: paired line by line, the longer side's rest against fillers
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                old = olds[k] if k < len(olds) else None
                new = news[k] if k < len(news) else None
                kind: Kind = (
                    "changed"
                    if old is not None and new is not None
                    else ("removed" if new is None else "added")
                )
                rows.append(DiffRow(kind, old, new))
    return rows


def summary(rows: list[DiffRow]) -> DiffSummary:
    kinds = [row.kind for row in rows]
    return DiffSummary(
        same=kinds.count("same"),
        changed=kinds.count("changed"),
        removed=kinds.count("removed"),
        added=kinds.count("added"),
    )


INLINE_LIMIT = 4000  # characters: longer changed lines are marked whole, not character by character


def changed_spans(left: str, right: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where a changed line differs from its counterpart: (start, end) spans on each side."""
    if len(left) > INLINE_LIMIT or len(right) > INLINE_LIMIT:
        return [], []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    spans: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            if i2 > i1:
                spans[0].append((i1, i2))
            if j2 > j1:
                spans[1].append((j1, j2))
    return spans
