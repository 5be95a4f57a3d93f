"""`mao qa`: from targets on the command line to the task and listing a qa session reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mao_tui.domain.errors import UsageError
from mao_tui.playbooks.qa_targets import Targets, collect, collect_diff, render_listing
from mao_tui.playbooks.runner import require_playbook
from mao_tui.settings.schema import Settings


@dataclass(frozen=True)
class QaInput:
    task: str
    listing: str  # the session's spec text: requirements, diff, numbered files
    targets: Targets


def prepare(
    settings: Settings,
    playbook: str,
    targets: Sequence[str],
    *,
    root: Path,
    diff: str | None = None,
    prd: Path | None = None,
    task: str | None = None,
    err: TextIO | None = None,
) -> QaInput:
    """Gather what to review, say on ``err`` what is reviewed and what was skipped, and refuse
    (UsageError) a playbook that is not a qa_report one, nothing to review, or input larger
    than the smallest context window in the plan."""
    from mao_tui.engine.budget import check_fit
    from mao_tui.engine.rule_plan import rule_based_plan
    from mao_tui.service.inputs import read_text

    pb = require_playbook(settings, playbook)
    if pb.output != "qa_report":
        raise UsageError(f"playbook {playbook!r} has output {pb.output!r}; mao qa needs qa_report")
    if diff is None and not targets:
        raise UsageError("nothing to review: name files, globs or directories, or pass --diff REV")
    found = collect_diff(diff, root, targets) if diff is not None else collect(targets, root)
    if not found.files:
        raise UsageError("nothing to review: every target was skipped (" + found.summary() + ")")
    limit = settings.registry.global_.limits.max_input_bytes
    prd_text = (str(prd), read_text(prd, "PRD file", limit=limit)) if prd is not None else None
    listing = render_listing(found, prd_text)
    if task is None or not task.strip():
        what = f"the changes since {diff}" if diff is not None else ", ".join(targets)
        task = f"QA review of {what}" + (f" against {prd}" if prd is not None else "")
    plan = rule_based_plan(settings, playbook, [])
    fit = check_fit(settings, plan, task + listing)
    if not fit.fits:
        raise UsageError(
            f"the code to review is about {fit.estimated_tokens:,} tokens (4 characters per "
            f"token), over {fit.limit_tokens:,}: 80% of {fit.model}'s "
            f"{fit.smallest_window:,}-token context window, the smallest in the plan; review "
            "fewer files (a directory or glob narrower, or --diff)"
        )
    if err is not None:
        err.write(f"mao qa: {found.summary()}\n")
    return QaInput(task.strip(), listing, found)
