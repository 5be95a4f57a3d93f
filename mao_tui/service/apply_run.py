"""``--apply`` headless: run the session, then apply its files, verify, and fix up to N rounds.

Every apply is confirmed by ``confirm`` (a prompt on a terminal, or ``--yes``); the fix rounds'
syntheses are applied under the same rule. Progress and results are engine events, so the
store keeps them and ``--json`` prints them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from mao_tui.checks.model import ProjectFileError
from mao_tui.checks.resolve import resolve_checks
from mao_tui.domain import (
    ApplyProposal,
    EventSink,
    FilesApplied,
    SessionFinished,
    SessionStatus,
)
from mao_tui.domain.sanitize import shown
from mao_tui.engine.controller import LiveSessionController
from mao_tui.engine.fix_loop import Workbench
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest
from mao_tui.playbooks.output_kinds import output_kind
from mao_tui.repo.worktree import WorktreeError
from mao_tui.service.budget_setup import budget_of, configure_budget
from mao_tui.service.isolation import discard, isolate, settle
from mao_tui.service.launch import Launch, session_resources
from mao_tui.service.race import WorkspaceCopies

Confirm = Callable[[ApplyProposal], Awaitable[bool]]


@dataclass(frozen=True)
class ApplyOutcome:
    """How ``--apply`` ended: ``ok`` when the files were written and every command passed."""

    ok: bool
    summary: str
    session: SessionFinished | None = None


async def run_and_apply(
    launch: Launch, req: SessionRequest, sinks: Sequence[EventSink], confirm: Confirm
) -> ApplyOutcome:
    ends: list[SessionFinished] = []
    written: list[str] = []

    async def watch(event: object) -> None:
        if isinstance(event, SessionFinished):
            ends.append(event)
        elif isinstance(event, FilesApplied):
            written.extend(f.path for f in event.files if f.status == "written")

    async with session_resources(launch, req.project_dir) as res:
        copies = WorkspaceCopies(
            res.settings,
            req.playbook,
            lambda: launch.workspace_dir,
            req.session_id,
            with_uncommitted=launch.with_uncommitted,
        )
        controller = LiveSessionController(
            res.settings,
            res.pool,
            [res.store_sink, *sinks, watch],
            req,
            max_parallel=launch.max_parallel,
            output=output_kind(res.settings, req),
            verifier=copies,  # a candidate race verifies in worktrees or copies of the workspace
        )
        limit = budget_of(res.settings, req)
        await configure_budget(controller, res.store, limit, simulated=req.simulated)
        try:
            first = await controller.run_first(
                rule_based_plan(res.settings, req.playbook, req.sections)
            )
            if first.status is not SessionStatus.DONE:
                return ApplyOutcome(False, "nothing applied: the session did not finish", first)
            outcome = await _apply_isolated(launch, req, controller, confirm, written)
        finally:
            await controller.aclose()
            copies.close()  # a candidate race's worktrees or copies
    return ApplyOutcome(outcome.ok, outcome.summary, ends[-1] if ends else None)


async def _apply_isolated(
    launch: Launch,
    req: SessionRequest,
    controller: LiveSessionController,
    confirm: Confirm,
    written: list[str],
) -> ApplyOutcome:
    """Apply, verify and fix in the session's worktree or copy (or in place), then commit
    there: the user's files are untouched until ``mao land``."""
    settings = controller.settings
    playbook = settings.playbooks[req.playbook]
    rounds = launch.fix_rounds
    if rounds is None:
        rounds = playbook.fix.max_rounds if playbook.fix is not None else 0
    try:
        isolated = await isolate(launch, req.session_id)
    except WorktreeError as exc:
        return ApplyOutcome(False, f"nothing applied: {exc}")
    try:
        checks = resolve_checks(settings, req.playbook, isolated.workspace)
    except ProjectFileError as exc:  # checked up front; changed since
        outcome = ApplyOutcome(False, f"nothing applied: cannot tell how to verify: {exc}")
    else:
        bench = Workbench(controller, isolated.workspace, checks, rounds)
        try:
            await bench.announce()  # before any file is written: what will verify them
            outcome = await _loop(bench, confirm)
        except BaseException:  # interrupted: a worktree with nothing in it is not kept
            if not written:
                await discard(isolated)
            raise
    ok, where = await settle(isolated, req.session_id, req.task, outcome.summary, written)
    return ApplyOutcome(outcome.ok and ok, outcome.summary + where)


async def _loop(bench: Workbench, confirm: Confirm) -> ApplyOutcome:
    while True:
        proposal = bench.propose()
        if proposal.error:
            return ApplyOutcome(False, f"nothing applied: {proposal.error}")
        if not proposal.writable and not any(c.kind == "unchanged" for c in proposal.changes):
            await bench.apply(proposal)  # writes nothing; reports (and stores) every refusal
            return ApplyOutcome(False, "nothing applied: every file was refused")
        if not await confirm(proposal):
            return ApplyOutcome(False, "not applied: declined")
        await bench.apply(proposal)
        done = await bench.verify()
        rejected = len(bench.rejected_hunks)
        if done.passed and not (rejected and bench.rounds_left):  # else a round re-sends them
            after = f" after {bench.round} fix round(s)" if bench.round else ""
            note = f" ({done.detail})" if done.detail else ""
            left = f"; {rejected} hunk(s) could not be applied" if rejected else ""
            return ApplyOutcome(not rejected, f"applied; verification passed{after}{note}{left}")
        if not bench.rounds_left:
            return ApplyOutcome(
                False,
                f"applied; verification failed ({', '.join(done.failed)}) "
                f"after {bench.round} fix round(s) of {bench.max_rounds}",
            )
        fixed = await bench.fix()
        if not fixed.ok:
            return ApplyOutcome(False, f"applied; verification failed and {fixed.detail}")


def describe(proposal: ApplyProposal, *, diffs: bool) -> str:
    """The proposal as text: one line per file, and the unified diffs when asked."""
    marks = {"create": "+", "modify": "~", "unchanged": "=", "refused": "✗"}
    lines = [f"files of round {proposal.round} ({proposal.source}) for {proposal.workspace}:"]
    for change in proposal.changes:
        note = f"  refused: {change.reason}" if change.kind == "refused" else f"  ({change.kind})"
        lines.append(f"  {marks[change.kind]} {change.path}{note}")
    text = "\n".join(lines) + "\n"
    if diffs:  # made fit to show by engine/apply.py: every line ended, invisibles visible
        text += "".join(c.diff for c in proposal.changes if c.diff)
    return shown(text)


def terminal_confirm(err: TextIO) -> Confirm:
    """Show the diffs on ``err`` and ask on the terminal; anything but y/yes declines."""

    async def confirm(proposal: ApplyProposal) -> bool:
        err.write(describe(proposal, diffs=True))
        count = len(proposal.writable)
        question = f"Write {count} file(s) into {proposal.workspace}? [y/N] "
        err.write(question)
        err.flush()
        answer = await asyncio.to_thread(sys.stdin.readline)
        return answer.strip().lower() in ("y", "yes")

    return confirm


def auto_confirm(err: TextIO | None) -> Confirm:
    """``--yes``: every apply confirmed; the file list is still shown on ``err``."""

    async def confirm(proposal: ApplyProposal) -> bool:
        if err is not None:
            err.write(describe(proposal, diffs=False))
            err.flush()
        return True

    return confirm
