"""A stored session as Markdown, the one renderer of both views of it.

``summary`` is `mao sessions show` (and the MCP ``session`` tool): facts, the plan as a list, one
line per attempt, what was written, applied and verified. ``full`` is an export to read or share:
the task as the title, the plan as a table, every attempt's thinking and text, earlier syntheses
and the spec. The lines they share (facts, attempt outcomes, fallbacks, the synthesis's byline)
come from the same helpers; tests pin each view's wording, so the two keep their layouts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from mao_tui.domain.stored import AttemptRecord, SessionDetail, SynthesisRecord
from mao_tui.render.budget_report import estimate_lines
from mao_tui.render.candidates import races_markdown
from mao_tui.render.headless import format_cost, format_tokens, workspace_lines

MarkdownStyle = Literal["summary", "full"]
_Section = Callable[[SessionDetail], list[str]]


def session_markdown(detail: SessionDetail, style: MarkdownStyle) -> str:
    sections = _FULL if style == "full" else _SUMMARY
    text = "\n".join(line for section in sections for line in section(detail))
    return (text.rstrip() if style == "full" else text) + "\n"


def _status(d: SessionDetail) -> str:
    return d.status.value + (f" ({d.error})" if d.error else "")


def _tokens(d: SessionDetail) -> str:
    return f"- tokens: {format_tokens(d.usage)}; {format_cost(d.usage)}"


def _outcome(a: AttemptRecord) -> str:
    """``failed (timeout: …); 1,200 in / 300 out (0 thinking); 4.0s``"""
    end = a.status.value + (f" ({a.error_kind}: {a.error_message})" if a.error_kind else "")
    elapsed = f"; {a.elapsed_s:.1f}s" if a.elapsed_s is not None else ""
    return f"{end}; {format_tokens(a.usage)}{elapsed}"


def _fallback_lines(d: SessionDetail) -> list[str]:
    return [f"- {f.line}" + (f": {f.detail}" if f.detail else "") for f in d.fallbacks]


def _byline(s: SynthesisRecord) -> str:
    return f"by {s.model or '-'} ({s.status.value})"


# -- summary: `mao sessions show` ------------------------------------------------------------


def _summary_head(d: SessionDetail) -> list[str]:
    return [
        f"# Session {d.id}" + ("  [SIMULATED]" if d.simulated else ""),
        "",
        f"- command: {d.command} (playbook {d.playbook})",
        f"- when: {d.created_at.astimezone():%Y-%m-%d %H:%M}, status: {_status(d)}"
        + (f", {d.elapsed_s:.1f}s" if d.elapsed_s is not None else ""),
        f"- project: {d.project_dir}",
        _tokens(d),
        f"- task: {d.task}",
        "",
    ]


def _plan_list(d: SessionDetail) -> list[str]:
    lines = ["## Plan" + (f" ({d.plan.source})" if d.plan else ""), ""]
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
    return lines


def _attempt_lines(d: SessionDetail) -> list[str]:
    lines = ["", "## Attempts", ""]
    return lines + [
        f"- {a.workstream} #{a.attempt_no} {a.model}: {_outcome(a)}" for a in d.attempts
    ]


def _fallbacks(d: SessionDetail) -> list[str]:
    lines = ["", "## Fallbacks", "", *(_fallback_lines(d) or ["- none"])]
    if d.policy_events:
        lines += ["", "## Retries, cooldowns and thinking downgrades", ""]
        lines += [f"- {e.line}" for e in d.policy_events]
    return lines


def _synthesis_summary(d: SessionDetail) -> list[str]:
    lines = ["", "## Synthesis", ""]
    if d.synthesis:
        lines += [_byline(d.synthesis), "", d.synthesis.text.rstrip()]
    else:
        lines.append("none")
    if d.qa_report is not None:  # mao qa: the report built by code from the reviews
        lines += ["", d.qa_report.markdown.rstrip()]
    return lines


def _written_and_applied(d: SessionDetail) -> list[str]:
    lines: list[str] = []
    if d.outputs:
        lines += ["", "## Written", ""]
        lines += [
            f"- {o.kind}: {o.path}" if o.path else f"- {o.kind}: not written ({o.error})"
            for o in d.outputs
        ]
    if d.workspace:  # output kind files: what --apply / `a` wrote, and the verification
        lines += ["", "## Applied and verified", ""]
        lines += [line for event in d.workspace for line in workspace_lines(event)]
    return lines


_SUMMARY: tuple[_Section, ...] = (
    _summary_head,
    _plan_list,
    estimate_lines,
    _attempt_lines,
    _fallbacks,
    _synthesis_summary,
    _written_and_applied,
)


# -- full: an export -------------------------------------------------------------------------


def _full_head(d: SessionDetail) -> list[str]:
    return [
        f"# {' '.join(d.task.split())}",
        "",
        f"- session: `{d.id}`" + (" (simulated)" if d.simulated else ""),
        f"- when: {d.created_at.isoformat(timespec='seconds')}",
        f"- command: {d.command}, playbook {d.playbook}",
        f"- status: {_status(d)}",
        f"- project: {d.project_dir}",
        _tokens(d) + (f"; {d.elapsed_s:.1f}s" if d.elapsed_s is not None else ""),
        f"- models: {', '.join(d.models) or '-'}",
        "",
    ]


def _plan_table(d: SessionDetail) -> list[str]:
    if d.plan is None:
        return []
    lines = ["## Plan", "", "| workstream | chain | status | final model |", "|---|---|---|---|"]
    status = {ws.key: ws for ws in d.workstreams}
    for planned in d.plan.workstreams:
        record = status.get(planned.key)
        lines.append(
            f"| {planned.title} | {' → '.join(planned.chain)} | "
            f"{record.status.value if record else '-'} | "
            f"{(record.final_model if record else None) or '-'} |"
        )
    return [*lines, ""]


def _synthesis_full(d: SessionDetail) -> list[str]:
    lines = []
    if d.qa_report is not None:  # output kind qa_report: the report built by code
        lines += [_demoted(d.qa_report.markdown).rstrip(), ""]
    lines += ["## Synthesis", ""]
    if d.synthesis is None:
        return [*lines, "(none)", ""]
    return [*lines, f"*{_byline(d.synthesis)}*", "", d.synthesis.text.rstrip() or "(empty)", ""]


def _workstreams(d: SessionDetail) -> list[str]:
    titles = {ws.key: ws.title for ws in d.workstreams}
    titles.setdefault("synthesis", "Synthesis")
    lines = ["## Workstreams", ""]
    for key, title in titles.items():
        attempts = d.attempts_for(key)
        if attempts:
            lines += [f"### {title}", ""]
            lines += [line for attempt in attempts for line in _attempt(attempt)]
    return lines


def _attempt(a: AttemptRecord) -> list[str]:
    out = [f"**#{a.attempt_no} {a.model}**: {_outcome(a)}", ""]
    if a.thinking_text.strip():
        thinking = a.thinking_text.rstrip()
        out += ["<details><summary>Thinking</summary>", "", thinking, "", "</details>", ""]
    if a.output_text.strip():
        out += [a.output_text.rstrip(), ""]
    return out


def _fallbacks_and_retries(d: SessionDetail) -> list[str]:
    policy = [f"- {p.line}" + (f": {p.detail}" if p.detail else "") for p in d.policy_events]
    return ["## Fallbacks and retries", "", *(_fallback_lines(d) + policy or ["- none"]), ""]


def _earlier_syntheses(d: SessionDetail) -> list[str]:
    if len(d.syntheses) <= 1:
        return []
    lines = ["## Earlier syntheses", ""]
    for earlier in d.syntheses[:-1]:
        lines += [
            f"<details><summary>{earlier.created_at.isoformat(timespec='seconds')} "
            f"{_byline(earlier)}</summary>",
            "",
            earlier.text.rstrip() or "(empty)",
            "",
            "</details>",
            "",
        ]
    return lines


def _ledger(d: SessionDetail) -> list[str]:
    """The ensemble ledger (issue 19): each candidate race, and where the files came from."""
    return [races_markdown(d.races, d.attempts, d.provenance)] if d.races else []


def _spec(d: SessionDetail) -> list[str]:
    if not d.spec_text.strip():
        return []
    lines = ["## Spec", "", "<details><summary>The spec the models saw</summary>", ""]
    return [*lines, d.spec_text.rstrip(), "", "</details>", ""]


def _demoted(markdown: str) -> str:
    """Every heading one level down (outside code fences), to nest a document in this one."""
    out, fence = [], ""
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = "" if fence == marker else fence or marker
        elif not fence and line.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out) + "\n"


_FULL: tuple[_Section, ...] = (
    _full_head,
    _plan_table,
    _synthesis_full,
    _workstreams,
    _ledger,
    _fallbacks_and_retries,
    _earlier_syntheses,
    _spec,
)
