"""A stored session, exported whole: Markdown to read or share, JSON for scripts.

Both come from the store's read model, which holds no API key (keys are never stored), so no
export can contain one.
"""

from __future__ import annotations

import json
from typing import Literal

from mao_tui.domain.stored import AttemptRecord, SessionDetail
from mao_tui.render.headless import format_cost, format_tokens

ExportFormat = Literal["markdown", "json"]
JSON_FORMAT = "mao-session/1"


def render(detail: SessionDetail, fmt: ExportFormat) -> str:
    return to_json(detail) if fmt == "json" else to_markdown(detail)


def to_json(detail: SessionDetail) -> str:
    data = {"format": JSON_FORMAT, **detail.model_dump(mode="json")}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_markdown(detail: SessionDetail) -> str:
    d = detail
    lines = [
        f"# {' '.join(d.task.split())}",
        "",
        f"- session: `{d.id}`" + (" (simulated)" if d.simulated else ""),
        f"- when: {d.created_at.isoformat(timespec='seconds')}",
        f"- command: {d.command}, playbook {d.playbook}",
        f"- status: {d.status.value}" + (f" ({d.error})" if d.error else ""),
        f"- project: {d.project_dir}",
        f"- tokens: {format_tokens(d.usage)}; {format_cost(d.usage)}"
        + (f"; {d.elapsed_s:.1f}s" if d.elapsed_s is not None else ""),
        f"- models: {', '.join(d.models) or '-'}",
        "",
    ]
    if d.plan is not None:
        lines += ["## Plan", "", "| workstream | chain | status | final model |"]
        lines.append("|---|---|---|---|")
        status = {ws.key: ws for ws in d.workstreams}
        for planned in d.plan.workstreams:
            record = status.get(planned.key)
            lines.append(
                f"| {planned.title} | {' → '.join(planned.chain)} | "
                f"{record.status.value if record else '-'} | "
                f"{(record.final_model if record else None) or '-'} |"
            )
        lines.append("")
    if d.qa_report is not None:  # output kind qa_report: the report built by code
        lines += [_demoted(d.qa_report.markdown).rstrip(), ""]
    lines += ["## Synthesis", ""]
    if d.synthesis is not None:
        lines += [
            f"*by {d.synthesis.model or '-'} ({d.synthesis.status.value})*",
            "",
            d.synthesis.text.rstrip() or "(empty)",
            "",
        ]
    else:
        lines += ["(none)", ""]
    titles = {ws.key: ws.title for ws in d.workstreams}
    titles.setdefault("synthesis", "Synthesis")
    lines += ["## Workstreams", ""]
    for key, title in titles.items():
        attempts = d.attempts_for(key)
        if not attempts:
            continue
        lines += [f"### {title}", ""]
        for attempt in attempts:
            lines += _attempt(attempt)
    fallbacks = [f"- {f.line}" + (f": {f.detail}" if f.detail else "") for f in d.fallbacks]
    policy = [f"- {p.line}" + (f": {p.detail}" if p.detail else "") for p in d.policy_events]
    lines += ["## Fallbacks and retries", "", *(fallbacks + policy or ["- none"]), ""]
    if len(d.syntheses) > 1:
        lines += ["## Earlier syntheses", ""]
        for earlier in d.syntheses[:-1]:
            lines += [
                f"<details><summary>{earlier.created_at.isoformat(timespec='seconds')} by "
                f"{earlier.model or '-'} ({earlier.status.value})</summary>",
                "",
                earlier.text.rstrip() or "(empty)",
                "",
                "</details>",
                "",
            ]
    if d.spec_text.strip():
        lines += ["## Spec", "", "<details><summary>The spec the models saw</summary>", ""]
        lines += [d.spec_text.rstrip(), "", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


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


def _attempt(a: AttemptRecord) -> list[str]:
    head = f"**#{a.attempt_no} {a.model}**: {a.status.value}"
    if a.error_kind:
        head += f" ({a.error_kind}: {a.error_message})"
    head += f"; {format_tokens(a.usage)}"
    if a.elapsed_s is not None:
        head += f"; {a.elapsed_s:.1f}s"
    out = [head, ""]
    if a.thinking_text.strip():
        thinking = a.thinking_text.rstrip()
        out += ["<details><summary>Thinking</summary>", "", thinking, "", "</details>", ""]
    if a.output_text.strip():
        out += [a.output_text.rstrip(), ""]
    return out
