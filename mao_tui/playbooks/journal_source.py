"""What a journal entry is about: a stored mao session, or a range of git history.

Either way the result is a :class:`JournalSource`: a one-line ``label`` (the session's task) and
the Markdown ``material`` the three perspectives read. The material has the same sections for
both sources: ``### Summary``, ``### Work items`` (workstreams, or commits), ``### Friction``
(fallbacks, retries and failures, or reverts and fixes), then the details (outputs, or the diff
stat and commit messages), each cut to a bounded size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mao_tui.domain import AttemptStatus, SessionStatus
from mao_tui.domain.errors import UsageError
from mao_tui.domain.stored import SessionDetail
from mao_tui.repo.git import GitError, run_git

OUTPUT_CHARS = 3_000  # of each workstream's output
SYNTHESIS_CHARS = 6_000
BODY_CHARS = 1_500  # of each commit message body
MAX_COMMITS = 200
_FRICTION = re.compile(r"\b(revert|fix(es|ed)?|fixup|hotfix|wip|broken|oops|undo)\b", re.I)


@dataclass(frozen=True)
class JournalSource:
    label: str  # one line: what the entry is about (the session's task)
    material: str  # Markdown the models read
    ref: str  # the session id, or "git since DATE"


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n\n[… {len(text) - limit:,} more characters not shown]"


def _one_line(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- a stored session -------------------------------------------------------------------------


def session_material(d: SessionDetail) -> JournalSource:
    """The label and material for a journal entry about stored session ``d``."""
    usage = d.usage
    elapsed = f", {d.elapsed_s:.1f} s" if d.elapsed_s is not None else ""
    cost = f"${usage.cost_usd:.4f}" + ("" if usage.cost_complete else " (some prices unknown)")
    lines = [
        "### Summary",
        "",
        f"- session: {d.id} (`mao {d.command}`, playbook {d.playbook})"
        + (" — simulated" if d.simulated else ""),
        f"- task: {_one_line(d.task, 400)}",
        f"- status: {d.status.value}{elapsed}" + (f" — {d.error}" if d.error else ""),
        f"- started: {d.created_at.isoformat(timespec='seconds')}",
        f"- project: {d.project_dir}",
        f"- tokens: {usage.input_tokens:,} in, {usage.output_tokens:,} out "
        f"({usage.thinking_tokens:,} thinking); cost {cost}",
        f"- models: {', '.join(d.models) or 'none'}",
    ]
    if d.plan is not None:
        diversity = f", diversity {d.plan.diversity:.2f}" if d.plan.diversity is not None else ""
        lines.append(f"- plan: {d.plan.source}{diversity}")
        if d.plan.rationale:
            lines.append(f"- plan rationale: {_one_line(d.plan.rationale, 400)}")
    if d.synthesis is not None:
        runs = len(d.syntheses)
        lines.append(
            f"- synthesis: {d.synthesis.status.value} on {d.synthesis.model or 'no model'} "
            f"({runs} run{'s' if runs != 1 else ''})"
        )
    lines += ["", "### Work items", ""]
    attempts: dict[str, int] = {}
    for a in d.attempts:
        attempts[a.workstream] = attempts.get(a.workstream, 0) + 1
    for ws in d.workstreams:
        count = attempts.get(ws.key, 0)
        primary = ws.chain[0] if ws.chain else None
        detour = (
            f"; its primary, {primary}, failed"
            if ws.final_model and primary and ws.final_model != primary
            else ""
        )
        lines.append(
            f"- {ws.title} — {ws.status.value} on {ws.final_model or 'no model'} "
            f"({count} attempt{'s' if count != 1 else ''}, {ws.output_tokens:,} tokens out"
            f"{detour})"
        )
    friction = [
        f"- {f.line}" + (f" — {_one_line(f.detail)}" if f.detail else "") for f in d.fallbacks
    ]
    friction += [f"- {e.line}" for e in d.policy_events]
    if d.plan is not None:
        friction += [
            f"- pre-flight {f.severity}: {f.message}"
            for f in d.plan.findings
            if f.severity != "info"
        ]
    lines += ["", "### Friction", "", *(friction or ["- none recorded"])]
    lines += ["", "### Outputs", ""]
    titles = {ws.key: ws.title for ws in d.workstreams}
    latest: dict[str, tuple[str, str]] = {}
    for a in d.attempts:
        if a.output_text and a.status is AttemptStatus.OK and a.workstream in titles:
            latest[a.workstream] = (a.model, a.output_text)
    for key, title in titles.items():
        if key in latest:
            model, text = latest[key]
            lines += [f"#### {title} (by {model})", "", _cut(text, OUTPUT_CHARS), ""]
    if d.synthesis is not None and d.synthesis.text:
        lines += [
            f"#### Synthesis (by {d.synthesis.model or '?'})",
            "",
            _cut(d.synthesis.text, SYNTHESIS_CHARS),
            "",
        ]
    label = f"{_one_line(d.task, 120)} (mao session {d.id[:10]}, {d.playbook})"
    return JournalSource(label=label, material="\n".join(lines).rstrip() + "\n", ref=d.id)


# -- git history ------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    """``git args`` in ``repo`` (``repo.git``: no shell, no pager, no hooks); its stdout, or a
    UsageError quoting its stderr."""
    try:
        done = run_git(repo, args, check=False)
    except GitError as exc:  # git missing, or over its time limit
        raise UsageError(f"--since reads git history: {exc}") from None
    if done.returncode != 0:
        message = _one_line(done.stderr or done.stdout or f"exit {done.returncode}", 300)
        raise UsageError(f"git {args[0]} failed in {repo}: {message}")
    return done.stdout


@dataclass(frozen=True)
class _Commit:
    sha: str
    author: str
    date: str
    subject: str
    body: str


_FIELD, _RECORD = "\x1f", "\x1e"


def git_material(repo: Path, since: str) -> JournalSource:
    """The label and material for a journal entry about ``repo``'s commits since ``since``
    (anything ``git log --since`` takes: 2026-11-01, "2 weeks ago", yesterday)."""
    since = since.strip()
    if not since:
        raise UsageError("--since expects a date, e.g. 2026-11-01 or '2 weeks ago'")
    try:
        inside = _git(repo, "rev-parse", "--is-inside-work-tree").strip()
    except UsageError:
        inside = ""
    if inside != "true":
        raise UsageError(f"{repo}: not inside a git repository; --since reads its history")
    top = Path(_git(repo, "rev-parse", "--show-toplevel").strip())
    log = _git(
        repo,
        "log",
        f"--since={since}",
        "--reverse",
        "--date=iso-strict",
        f"--max-count={MAX_COMMITS}",
        f"--format=%H{_FIELD}%an{_FIELD}%ad{_FIELD}%s{_FIELD}%b{_RECORD}",
    )
    commits = [
        _Commit(*(part.strip() for part in record.split(_FIELD, 4)))
        for record in log.split(_RECORD)
        if record.strip() and record.count(_FIELD) >= 4
    ]
    if not commits:
        raise UsageError(f"no commits in {top} since {since!r}; try an earlier --since")
    first = commits[0].sha
    parents = _git(repo, "rev-list", "--parents", "-n", "1", first).split()
    base = parents[1] if len(parents) > 1 else _git(repo, "hash-object", "-t", "tree", "--stdin")
    base = base.strip()
    stat = _git(repo, "diff", "--no-ext-diff", "--no-textconv", "--stat=120", base, "HEAD")
    shortstat = _git(
        repo, "diff", "--no-ext-diff", "--no-textconv", "--shortstat", base, "HEAD"
    ).strip()
    branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    authors = sorted({c.author for c in commits})
    lines = [
        "### Summary",
        "",
        f"- repository: {top.name} ({top}), branch {branch}, HEAD {commits[-1].sha[:10]}",
        f"- range: {len(commits)} commit{'s' if len(commits) != 1 else ''} since {since} "
        f"({commits[0].date[:10]} → {commits[-1].date[:10]}) by {', '.join(authors)}"
        + (f" (only the first {MAX_COMMITS})" if len(commits) == MAX_COMMITS else ""),
        f"- changes: {shortstat or 'none'}",
        "",
        "### Work items",
        "",
        *(f"- {c.sha[:10]} {c.date[:10]} {c.author}: {_one_line(c.subject)}" for c in commits),
        "",
        "### Friction",
        "",
    ]
    friction = [
        f"- {c.sha[:10]} {_one_line(c.subject)}" for c in commits if _FRICTION.search(c.subject)
    ]
    lines += friction or ["- none recorded (no revert, fix or wip commits)"]
    lines += ["", "### Changes (git diff --stat)", "", "```", _cut(stat, 8_000), "```", ""]
    bodies = [c for c in commits if c.body]
    if bodies:
        lines += ["### Commit messages", ""]
        for c in bodies:
            lines += [f"#### {c.sha[:10]} {_one_line(c.subject)}", "", _cut(c.body, BODY_CHARS), ""]
    label = f"git history of {top.name} since {since} ({len(commits)} commits)"
    return JournalSource(
        label=label, material="\n".join(lines).rstrip() + "\n", ref=f"git since {since}"
    )


# -- which session ----------------------------------------------------------------------------


async def load_session(db_path: Path, id_or_prefix: str | None, skip: set[str]) -> SessionDetail:
    """The session ``id_or_prefix`` names, or the latest whose playbook is not in ``skip``
    (the journal's own: an entry about an entry is not what `mao journal` alone means)."""
    from mao_tui.store import Store
    from mao_tui.store.db import AmbiguousSessionIdError

    if not db_path.exists():
        raise UsageError(f"{db_path}: no database yet, so no session to write about; run one first")
    store = await Store.open(db_path)
    try:
        await store.mark_interrupted()
        if id_or_prefix is not None:
            try:
                detail = await store.get_session(id_or_prefix)
            except AmbiguousSessionIdError as exc:
                raise UsageError(f"--session: {exc}") from None
            if detail is None:
                raise UsageError(
                    f"--session: no session matches {id_or_prefix!r}; `mao sessions` lists them"
                )
            return detail
        for summary in await store.list_sessions(200):
            if summary.playbook not in skip and summary.status is not SessionStatus.RUNNING:
                found = await store.get_session(summary.id)
                if found is not None:
                    return found
        raise UsageError(
            f"no finished session in {db_path} to write about (journal sessions are skipped); "
            "run one first, or use --since DATE for git history"
        )
    finally:
        await store.close()
