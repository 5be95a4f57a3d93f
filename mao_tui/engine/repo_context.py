"""What a session in a git repository sees of it: the repository map for the orchestrator's
plan, and for each workstream the contents of the files most relevant to its part of the task.

Built once per session (in a worker thread: parsing is CPU work) when the workspace is inside a
git work tree; outside one there is none and the prompts are as they always were. A file is cut
at ``FILE_CHARS`` with a marker saying how much was left out, and a workstream gets files until
``FILES_CHARS`` is reached. The files chosen are reported as plan findings, so they show in the
plan pane, in ``--json`` events and in the stored session.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from mao_tui.domain import Finding, Plan, PlannedWorkstream
from mao_tui.engine.files import language_of
from mao_tui.repo.git import GitError
from mao_tui.repo.map import RepoMap, build_map, file_excerpt, relevant_files

MAP_TOKENS = 2_048
FILES_PER_WORKSTREAM = 4
FILE_CHARS = 16_000
FILES_CHARS = 40_000
READ_TAG = "mao-read"


@dataclass(frozen=True)
class RepoFile:
    path: str
    text: str  # cut with a marker when long


@dataclass(frozen=True)
class RepoContext:
    map: RepoMap

    @property
    def root(self) -> Path:
        return self.map.root

    def map_section(self) -> str:
        """The map as a prompt section."""
        m = self.map
        return (
            "## Repository map\n\n"
            f"The workspace is a git repository of {m.files_listed:,} files. Below, the files "
            f"most relevant to the task first, each with its top-level symbols (~{m.tokens:,} "
            "tokens; further files are not shown):\n\n"
            f"```text\n{m.text}```\n\n"
            'In your plan, give each workstream "files": the paths from this map it must read or '
            "change (at most 8); it receives their contents.\n"
        )

    def read(self, paths: list[str]) -> tuple[list[RepoFile], list[str]]:
        """The files ``paths`` names that git lists (within the budget), and those it could
        not give."""
        found: list[RepoFile] = []
        missing: list[str] = []
        total = 0
        for path in paths:
            room = min(FILE_CHARS, FILES_CHARS - total)
            text = file_excerpt(self.root, path, room) if path in self.map.tags and room else None
            if text is None:
                missing.append(path)
                continue
            found.append(RepoFile(path, text))
            total += len(text)
        return found, missing

    def files_for(self, task: str, ws: PlannedWorkstream) -> list[RepoFile]:
        """The files for ``ws``: those the plan names for it, then the most relevant to the task
        and the workstream's own words."""
        text = "\n".join(part for part in (task, ws.title, ws.instructions) if part)
        chosen: list[RepoFile] = []
        total = 0
        named = [p for p in ws.files if p in self.map.tags]  # never a file git ignores
        limit = max(FILES_PER_WORKSTREAM, len(named))
        ranked = relevant_files(self.map.tags, text, limit)
        for path in list(dict.fromkeys([*named, *ranked]))[:limit]:
            excerpt = file_excerpt(self.root, path, min(FILE_CHARS, FILES_CHARS - total))
            if excerpt is None:
                continue
            chosen.append(RepoFile(path, excerpt))
            total += len(excerpt)
            if total >= FILES_CHARS:
                break
        return chosen


def files_section(files: list[RepoFile], *, can_ask: bool = False) -> str:
    """The chosen files as a prompt section ("" for none); ``can_ask``: how to ask for more."""
    if not files:
        return ""
    parts = [
        "## Files from the repository\n\nThe files most relevant to this part of the task, as "
        "they are now in the workspace (a long file is cut, and the cut is marked):\n"
        + (f"\n{ASK_NOTE}" if can_ask else "")
    ]
    for f in files:
        fence = "`" * max(3, _longest_backtick_run(f.text) + 1)
        body = f.text if f.text.endswith("\n") else f.text + "\n"
        parts.append(f"### `{f.path}`\n\n{fence}{language_of(f.path)}\n{body}{fence}\n")
    return "\n".join(parts)


HUNK_FORMAT = """## Editing existing files

The workspace is a git repository. For a file that exists there, you may give search/replace
hunks instead of the whole file: after the manifest (outside it), one block per change:

path/to/file.py
<<<<<<< SEARCH
the file's current lines to replace, with a few lines around them so they occur once
=======
the lines to put in their place
>>>>>>> REPLACE

SEARCH must be the file's current lines, exactly as shown above, occurring once in the file;
an empty SEARCH creates a new file. A hunk that does not match is rejected and comes back to
you with the reason. Never give one file both whole in the manifest and as hunks.
"""


def synthesis_section(files: dict[str, list[RepoFile]]) -> str:
    """For the synthesis: every workstream's files once (within ``FILES_CHARS``), and the hunk
    format it may use to edit them."""
    chosen: list[RepoFile] = []
    total = 0
    for f in dict((f.path, f) for group in files.values() for f in group).values():
        if total + len(f.text) > FILES_CHARS:
            continue
        chosen.append(f)
        total += len(f.text)
    return files_section(chosen) + "\n" + HUNK_FORMAT


def _longest_backtick_run(text: str) -> int:
    run = best = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        best = max(best, run)
    return best


def files_finding(ws: PlannedWorkstream, files: list[RepoFile]) -> Finding:
    listed = ", ".join(f"{f.path} ({len(f.text):,} characters)" for f in files) or "none"
    return Finding(severity="info", message=f"{ws.title} receives from the repository: {listed}")


def map_finding(context: RepoContext) -> Finding:
    m = context.map
    return Finding(
        severity="info",
        message=(
            f"repository map: {m.files_shown:,} of {m.files_listed:,} files, ~{m.tokens:,} tokens "
            f"({m.symbols:,} symbols; {m.cache_hits:,} files from the cache, "
            f"{m.seconds:.2f}s)"
        ),
    )


ASK_LIMIT = 4
ASK_NOTE = (
    "If you need another file of the repository to do this part well, you may instead answer "
    f"with only a fenced block tagged `{READ_TAG}` listing up to {ASK_LIMIT} paths, one per line; "
    "you will get them, and this request again (once).\n"
)
_READ_BLOCK = re.compile(rf"^(`{{3,}})[ \t]*{READ_TAG}[^\n]*\n(?P<body>.*?)^\1", re.S | re.M)


def requested_files(answer: str) -> list[str]:
    """The paths a workstream asked for (its last ``mao-read`` block), at most ASK_LIMIT."""
    blocks = [m["body"] for m in _READ_BLOCK.finditer(answer)]
    if not blocks:
        return []
    paths = [line.strip().lstrip("-* ").strip("`").strip() for line in blocks[-1].splitlines()]
    return list(dict.fromkeys(p for p in paths if p))[:ASK_LIMIT]


def answer_section(found: list[RepoFile], missing: list[str]) -> str:
    """The reply to a workstream's request for files, appended to its prompt for its second
    (and last) run."""
    parts = ["## The files you asked for\n"]
    for f in found:
        fence = "`" * max(3, _longest_backtick_run(f.text) + 1)
        body = f.text if f.text.endswith("\n") else f.text + "\n"
        parts.append(f"### `{f.path}`\n\n{fence}{language_of(f.path)}\n{body}{fence}\n")
    if missing:
        names = ", ".join(f"`{p}`" for p in missing)
        parts.append(f"Not files of the repository (or not readable): {names}.\n")
    parts.append("Now do your part of the task in full; you cannot ask for files again.\n")
    return "\n".join(parts)


def repo_findings(
    context: RepoContext, task: str, plan: Plan
) -> tuple[dict[str, list[RepoFile]], list[Finding]]:
    """Each workstream's files, and the findings that report the map and them."""
    chosen = {ws.key: context.files_for(task, ws) for ws in plan.workstreams}
    found = [map_finding(context)]
    found += [files_finding(ws, chosen[ws.key]) for ws in plan.workstreams]
    return chosen, found


async def load_context(folder: Path, task: str) -> RepoContext | None:
    """The context of the git repository ``folder`` is in; None outside git, or when git
    fails (the session then runs as it would outside git)."""
    try:
        repo_map = await asyncio.to_thread(build_map, folder, task, MAP_TOKENS)
    except (GitError, OSError):
        return None
    return RepoContext(repo_map) if repo_map is not None else None
