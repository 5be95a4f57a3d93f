"""`mao sessions`: the stored sessions as a table. One session in full is
:func:`mao_tui.render.session_markdown.session_markdown`; the caller reads the store."""

from __future__ import annotations

from mao_tui.domain.sanitize import shown
from mao_tui.domain.stored import SessionSummary


def _when(s: SessionSummary) -> str:
    return s.created_at.astimezone().strftime("%Y-%m-%d %H:%M")


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def sessions_table(rows: list[SessionSummary]) -> str:
    if not rows:
        return "no sessions yet; try: mao demo\n"
    lines = [
        f"{'ID':<26}  {'WHEN':<16}  {'COMMAND':<8}  {'STATUS':<11}  {'TOKENS':>9}  "
        f"{'MODELS':<40}  TASK"
    ]
    for s in rows:
        tokens = s.input_tokens + s.output_tokens
        status = s.status.value + ("*" if s.simulated else "")
        lines.append(
            f"{s.id:<26}  {_when(s):<16}  {s.command:<8}  {status:<11}  {tokens:>9,}  "
            f"{_one_line(', '.join(s.models), 40):<40}  {shown(_one_line(s.task, 60))}"
        )
    if any(s.simulated for s in rows):
        lines.append("* simulated (built-in simulator, no real model calls)")
    return "\n".join(lines) + "\n"
