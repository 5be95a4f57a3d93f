"""The ensemble ledger's provenance: for every file (and every hunk of it) of a session's final
output, which race candidate it came from, or the synthesis itself. Computed by code after the
synthesis (from its answer's files) and after each apply (from the files written).

A file's hunks are its changes against the file before (``difflib``'s opcodes; the lines a
hunk adds or replaces). A hunk comes from a candidate when that candidate's version of the same
file holds its lines exactly, as one block; else from the candidate whose file holds the largest
share of them in order (``SequenceMatcher`` matching blocks), when that share is at least
:data:`SIMILAR_AT_LEAST`; else from the synthesis. Ties go to the race's selected candidate, then
the earlier one; the other candidates holding the same lines are listed (``also``). A file's own
source is its content's exact match when a candidate's file is identical, else the source of most
of its hunks' lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from mao_tui.domain.candidate_events import (
    FileSource,
    HunkSource,
    LedgerProvenance,
    Source,
)
from mao_tui.domain.events import EventSink
from mao_tui.engine.edits import synthesis_edits

SIMILAR_AT_LEAST = 0.6  # the share of a hunk's lines a candidate's file must hold, in order


@dataclass(frozen=True)
class Candidate:
    number: int
    model: str
    files: dict[str, str]  # path -> content, its answer's files


@dataclass(frozen=True)
class RaceFiles:
    workstream: str
    selected: int | None
    candidates: list[Candidate] = field(default_factory=list)


def answer_files(root: Path, text: str) -> dict[str, str]:
    """The files an answer gives (whole, or its hunks applied to ``root``'s), by path."""
    return {f.path: f.content for f in synthesis_edits(root, text).files}


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines()


def changed_hunks(before: str | None, after: str) -> list[tuple[int, list[str]]]:
    """The blocks of lines ``after`` adds or replaces, each with its 1-based first line."""
    old, new = _lines(before), _lines(after)
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [
        (j1 + 1, new[j1:j2])
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]


def _holds(haystack: list[str], block: list[str]) -> bool:
    n = len(block)
    return any(haystack[i : i + n] == block for i in range(len(haystack) - n + 1))


def _share(haystack: list[str], block: list[str]) -> float:
    matcher = SequenceMatcher(None, block, haystack, autojunk=False)
    return sum(m.size for m in matcher.get_matching_blocks()) / max(len(block), 1)


def _scored(
    races: list[RaceFiles], path: str, score: Callable[[str], float]
) -> list[tuple[float, bool, int, RaceFiles, Candidate]]:
    """Every candidate holding ``path``, best first: score, then selected, then earlier."""
    found = []
    for r, race in enumerate(races):
        for c in race.candidates:
            if path in c.files:
                found.append((score(c.files[path]), c.number == race.selected, r, race, c))
    return sorted(found, key=lambda f: (-f[0], not f[1], f[2], f[4].number))


def hunk_source(
    races: list[RaceFiles], path: str, block: list[str], synthesis_model: str | None
) -> Source:
    """Where ``block`` (lines of the final ``path``) came from; the module's docstring says how."""
    exact = _scored(races, path, lambda text: float(_holds(_lines(text), block)))
    if exact and exact[0][0] == 1.0:
        _, _, _, race, best = exact[0]
        also = [f[4].number for f in exact[1:] if f[0] == 1.0 and f[3] is race]
        return Source(
            how="exact",
            workstream=race.workstream,
            number=best.number,
            model=best.model,
            ratio=1.0,
            also=sorted(also),
        )
    alike = _scored(races, path, lambda text: _share(_lines(text), block))
    if alike and alike[0][0] >= SIMILAR_AT_LEAST:
        ratio, _, _, race, best = alike[0]
        return Source(
            how="similar",
            workstream=race.workstream,
            number=best.number,
            model=best.model,
            ratio=round(ratio, 3),
        )
    return Source(how="synthesis", model=synthesis_model)


def file_source(
    races: list[RaceFiles],
    path: str,
    before: str | None,
    after: str,
    model: str | None,
) -> FileSource:
    """``path``'s final content ``after`` (``before``: the file before, None when new)."""
    hunks = [
        HunkSource(start=start, lines=len(block), source=hunk_source(races, path, block, model))
        for start, block in changed_hunks(before, after)
    ]
    same = _scored(races, path, lambda text: float(text == after))
    if same and same[0][0] == 1.0:
        _, _, _, race, best = same[0]
        also = sorted(f[4].number for f in same[1:] if f[0] == 1.0 and f[3] is race)
        whole = Source(
            how="exact",
            workstream=race.workstream,
            number=best.number,
            model=best.model,
            ratio=1.0,
            also=also,
        )
        return FileSource(path=path, source=whole, hunks=hunks)
    weight: dict[tuple[str, int | None], int] = {}
    for h in hunks:
        key = (h.source.workstream, h.source.number)
        weight[key] = weight.get(key, 0) + h.lines
    if not weight:
        return FileSource(path=path, source=Source(how="synthesis", model=model))
    top = max(weight, key=lambda k: weight[k])  # the first of equals: the earliest hunk's
    picked = [h for h in hunks if (h.source.workstream, h.source.number) == top]
    source = picked[0].source
    if source.how != "synthesis":
        lines = sum(h.lines for h in picked)
        ratio = sum(h.source.ratio * h.lines for h in picked) / max(lines, 1)
        how = "exact" if all(h.source.how == "exact" for h in picked) else "similar"
        source = source.model_copy(update={"how": how, "ratio": round(ratio, 3), "also": []})
    return FileSource(path=path, source=source, hunks=hunks)


def provenance(
    races: list[RaceFiles],
    after: dict[str, str],
    before: Callable[[str], str | None],
    synthesis_model: str | None,
) -> list[FileSource]:
    """Every file of the final output ``after`` (path -> content), by path."""
    return [
        file_source(races, path, before(path), after[path], synthesis_model)
        for path in sorted(after)
    ]


def read_before(root: Path) -> Callable[[str], str | None]:
    """A file's text under ``root`` as it is now (None: not there, unreadable, or outside
    ``root``: the paths are model output)."""
    top = root.resolve()

    def read(path: str) -> str | None:
        try:
            target = (top / path).resolve()
            if not target.is_relative_to(top) or ".git" in target.relative_to(top).parts:
                return None
            return target.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None

    return read


@dataclass
class RaceAnswer:
    workstream: str
    selected: int | None
    answers: list[tuple[int, str, str]]  # number, model, the answer's text


class ProvenanceKeeper:
    """The session's races' answers, kept for the provenance events it emits."""

    def __init__(self, emit: EventSink) -> None:
        self._emit = emit
        self.races: list[RaceAnswer] = []
        self.synthesis_model: str | None = None
        self._files_of: list[RaceFiles] | None = None  # before any apply changed the files

    def keep(self, race: RaceAnswer) -> None:
        self.races = [r for r in self.races if r.workstream != race.workstream] + [race]

    def _files(self, root: Path) -> list[RaceFiles]:
        return [
            RaceFiles(
                r.workstream,
                r.selected,
                [Candidate(n, m, answer_files(root, text)) for n, m, text in r.answers],
            )
            for r in self.races
        ]

    async def after_synthesis(
        self, session_id: str, root: Path, text: str, model: str | None
    ) -> None:
        """The synthesis answer's files against ``root`` (nothing when no race ran)."""
        self.synthesis_model = model
        if not self.races:
            return
        self._files_of = self._files(root)
        after = answer_files(root, text)
        if not after:
            return
        files = provenance(self._files_of, after, read_before(root), model)
        await self._emit(LedgerProvenance(session_id=session_id, stage="synthesis", files=files))

    async def after_apply(
        self,
        session_id: str,
        root: Path,
        before: dict[str, str | None],
        after: dict[str, str],
    ) -> None:
        """The files an apply wrote (``after``), against what they held before it."""
        if not self.races or not after:
            return
        races = self._files_of if self._files_of is not None else self._files(root)
        files = provenance(races, after, before.get, self.synthesis_model)
        await self._emit(LedgerProvenance(session_id=session_id, stage="applied", files=files))
