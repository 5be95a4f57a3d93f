"""The checks as text, the same in the dashboard, headless progress and ``mao verify``."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mao_tui.domain import VerificationFinished, VerificationPlanned


def plan_lines(event: VerificationPlanned) -> list[str]:
    """``checks (detected): …`` then one line per check with where it came from."""
    if not event.checks:
        return [f"verification: no checks ({event.why})"]
    lines = [f"verification: {len(event.checks)} check(s), {event.origin}: {event.why}"]
    for number, c in enumerate(event.checks, start=1):
        stops = ", stops the rest when it fails" if c.stop_on_failure else ""
        lines.append(
            f"  {number}. {c.name} [{c.kind}] `{shlex.join(c.argv)}` from {c.source}"
            f" (timeout {c.timeout_s:g}s{stops})"
        )
    lines.extend(f"  note: {note}" for note in event.notes)
    return lines


def mark(event: VerificationFinished) -> str:
    if event.unavailable:
        return "–"
    if event.skipped:
        return "○"
    return "✓" if event.passed else "✗"


def finished_line(event: VerificationFinished, label: str = "") -> str:
    """``✓ tests: passed in 1.2s``; ``label`` goes before the name (headless: ``verify``)."""
    took = "" if event.unavailable or event.skipped else f" in {event.elapsed_s:.1f}s"
    return f"{mark(event)} {label}{event.name}: {event.outcome}{took}"
