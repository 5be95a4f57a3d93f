"""`mao sessions` and `mao sessions show`: stored sessions as readable text."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from mao_tui.domain.errors import UsageError
from mao_tui.domain.sanitize import shown
from mao_tui.domain.stored import SessionDetail, SessionSummary
from mao_tui.render.headless import format_cost, format_tokens
from mao_tui.store import Store


def _when(s: SessionSummary) -> str:
    return s.created_at.astimezone().strftime("%Y-%m-%d %H:%M")


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


async def print_sessions(db_path: Path, limit: int, out: TextIO) -> int:
    if not db_path.exists():
        out.write(f"no sessions yet ({db_path} does not exist); try: mao demo\n")
        return 0
    store = await Store.open(db_path)
    try:
        await store.mark_interrupted()
        rows = await store.list_sessions(limit)
    finally:
        await store.close()
    if not rows:
        out.write("no sessions yet; try: mao demo\n")
        return 0
    out.write(
        f"{'ID':<26}  {'WHEN':<16}  {'COMMAND':<8}  {'STATUS':<11}  {'TOKENS':>9}  "
        f"{'MODELS':<40}  TASK\n"
    )
    for s in rows:
        tokens = s.input_tokens + s.output_tokens
        status = s.status.value + ("*" if s.simulated else "")
        out.write(
            f"{s.id:<26}  {_when(s):<16}  {s.command:<8}  {status:<11}  {tokens:>9,}  "
            f"{_one_line(', '.join(s.models), 40):<40}  {shown(_one_line(s.task, 60))}\n"
        )
    if any(s.simulated for s in rows):
        out.write("* simulated (built-in simulator, no real model calls)\n")
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
    finally:
        await store.close()
    if detail is None:
        raise UsageError(f"no session matches {session_id!r}; `mao sessions` lists them")
    out.write(shown(render_session(detail, _worktree_line(detail.id))))  # bidi, zero-width shown
    return 0


def _worktree_line(session_id: str) -> str:
    """Where the session's worktree is, when it applied in one that is not landed yet."""
    from mao_tui.repo.worktree import WorktreeError, session_worktree

    try:
        found = session_worktree(session_id)
    except WorktreeError:  # two records for one session: `mao clean` lists them
        return ""
    if found is None:
        return ""
    return f"- worktree: {found.path}, branch {found.branch} (`mao land {session_id[:10]}`)"


def render_session(d: SessionDetail, worktree: str = "") -> str:
    lines = [
        f"# Session {d.id}" + ("  [SIMULATED]" if d.simulated else ""),
        "",
        f"- command: {d.command} (playbook {d.playbook})",
        f"- when: {_when(d)}, status: {d.status.value}"
        + (f" ({d.error})" if d.error else "")
        + (f", {d.elapsed_s:.1f}s" if d.elapsed_s is not None else ""),
        f"- project: {d.project_dir}",
        *([worktree] if worktree else []),
        f"- tokens: {format_tokens(d.usage)}; {format_cost(d.usage)}",
        f"- task: {d.task}",
        "",
        "## Plan" + (f" ({d.plan.source})" if d.plan else ""),
        "",
    ]
    if d.plan is not None:
        if d.plan.diversity is not None:
            lines.append(f"diversity {d.plan.diversity:.2f}")
        if d.plan.rationale:
            lines.append(f"rationale: {d.plan.rationale}")
        lines += [f"pre-flight {f.severity}: {f.message} ({f.source})" for f in d.plan.findings]
        lines.append("")
    after = {ws.key: ws.depends_on for ws in d.plan.workstreams} if d.plan else {}
    for ws in d.workstreams:
        deps = f"; after {', '.join(after[ws.key])}" if after.get(ws.key) else ""
        lines.append(
            f"- {ws.title} [{ws.status.value}] on {ws.final_model or '-'}; "
            f"chain {' → '.join(ws.chain)}{deps}"
        )
    lines += ["", "## Attempts", ""]
    for a in d.attempts:
        end = f"{a.status.value}" + (
            f" ({a.error_kind}: {a.error_message})" if a.error_kind else ""
        )
        lines.append(
            f"- {a.workstream} #{a.attempt_no} {a.model}: {end}; "
            f"{format_tokens(a.usage)}"
            + (f"; {a.elapsed_s:.1f}s" if a.elapsed_s is not None else "")
        )
    lines += ["", "## Fallbacks", ""]
    lines += [f"- {f.line}" + (f": {f.detail}" if f.detail else "") for f in d.fallbacks] or [
        "- none"
    ]
    if d.policy_events:
        lines += ["", "## Retries, cooldowns and thinking downgrades", ""]
        lines += [f"- {e.line}" for e in d.policy_events]
    lines += ["", "## Synthesis", ""]
    if d.synthesis:
        lines += [
            f"by {d.synthesis.model or '-'} ({d.synthesis.status.value})",
            "",
            d.synthesis.text.rstrip(),
        ]
    else:
        lines.append("none")
    if d.qa_report is not None:  # mao qa: the report built by code from the reviews
        lines += ["", d.qa_report.markdown.rstrip()]
    if d.outputs:
        lines += ["", "## Written", ""]
        lines += [
            f"- {o.kind}: {o.path}" if o.path else f"- {o.kind}: not written ({o.error})"
            for o in d.outputs
        ]
    if d.workspace:  # output kind files: what --apply / `a` wrote, and the verification
        from mao_tui.render.headless import workspace_lines

        lines += ["", "## Applied and verified", ""]
        lines += [line for event in d.workspace for line in workspace_lines(event)]
    return "\n".join(lines) + "\n"
