"""`mao sessions` and `mao sessions show` (and the MCP ``session`` tool): read the store, then
render the listing or one session as text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mao_tui.domain.errors import UsageError
from mao_tui.domain.sanitize import shown
from mao_tui.render.reports import sessions_table
from mao_tui.store import Store

if TYPE_CHECKING:  # `mao sessions` imports no pydantic
    from mao_tui.domain.pick_events import OutputPicked


async def print_sessions(db_path: Path, limit: int, out: TextIO) -> int:
    if not db_path.exists():
        out.write(f"no sessions yet ({db_path} does not exist); try: mao demo\n")
        return 0
    store = await Store.open(db_path)
    try:
        await store.mark_interrupted()
        rows = await store.list_rows(limit)  # plain rows: a listing imports no pydantic
    finally:
        await store.close()
    out.write(sessions_table(rows))
    return 0


async def print_session(db_path: Path, session_id: str, out: TextIO) -> int:
    if not db_path.exists():
        raise UsageError(f"{db_path}: no database yet, so no session {session_id!r}")
    store = await Store.open(db_path)
    try:
        try:
            detail = await store.get_session(session_id)
        except LookupError as exc:
            raise UsageError(str(exc)) from None
        picks = await _picks(store, detail.id) if detail is not None else []
    finally:
        await store.close()
    if detail is None:
        raise UsageError(f"no session matches {session_id!r}; `mao sessions` lists them")
    from mao_tui.render.candidates import races_markdown
    from mao_tui.render.session_markdown import session_markdown

    text = session_markdown(detail, "summary")
    project = f"- project: {detail.project_dir}\n"
    worktree = _worktree_line(detail.id)
    if worktree and project in text:
        text = text.replace(project, f"{project}{worktree}\n", 1)
    if detail.races:
        text += "\n" + races_markdown(detail.races, detail.attempts, detail.provenance)
    if picks:  # the dashboard's compare view: the answer the user chose for the synthesis
        text += "\n## Picked outputs\n\n" + "".join(f"- {p.line}\n" for p in picks)
    out.write(shown(text))  # bidi and zero-width characters made visible
    return 0


async def _picks(store: Store, session_id: str) -> list[OutputPicked]:
    from mao_tui.store.picks import session_picks

    async with store.transaction(write=False) as conn:
        return await session_picks(conn, session_id)


def _worktree_line(session_id: str) -> str:
    """Where the session's worktree (or, outside git, its copy) is, when it applied in one
    that is not landed yet."""
    from mao_tui.repo.workspace_copy import session_copy
    from mao_tui.repo.worktree import WorktreeError, session_worktree

    land = f"`mao land {session_id[:10]}`"
    try:
        found = session_worktree(session_id)
        copy = session_copy(session_id) if found is None else None
    except WorktreeError:  # two records for one session: `mao clean` lists them
        return ""
    if found is not None:
        return f"- worktree: {found.path}, branch {found.branch} ({land})"
    if copy is not None:
        return f"- temporary copy: {copy.path}, of {copy.source} ({land} copies its files back)"
    return ""
