"""One verification round over a list of checks, in order, each with its own timeout: a check
that cannot run here is "not available" (not a failure), a check whose failure makes the later
ones meaningless (``stop_on_failure``) skips them. Every step is an event for ``publish``; the
command itself runs through engine/verify.py."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypedDict

from mao_tui.checks.availability import unavailable_reason
from mao_tui.checks.excerpt import around_first_errors
from mao_tui.checks.resolve import CheckPlan
from mao_tui.domain import (
    PlannedCheck,
    VerificationFinished,
    VerificationOutput,
    VerificationPlanned,
    VerificationStarted,
    WorkspaceEvent,
)
from mao_tui.engine import sandbox
from mao_tui.engine.verify import Confinement, run_command
from mao_tui.settings.schema import VerificationCommand

Publish = Callable[[WorkspaceEvent], Awaitable[None]]


def planned_event(session_id: str, plan: CheckPlan) -> VerificationPlanned:
    return VerificationPlanned(
        session_id=session_id,
        origin=plan.origin,
        why=plan.why,
        notes=plan.notes,
        checks=[
            PlannedCheck(
                name=c.name,
                argv=c.argv,
                kind=c.kind,
                source=c.source or plan.origin,
                timeout_s=c.timeout_s,
                stop_on_failure=c.stop_on_failure,
            )
            for c in plan.commands
        ],
    )


async def run_checks(
    commands: list[VerificationCommand],
    workspace: Path,
    session_id: str,
    round_no: int,
    publish: Publish,
    *,
    key_names: frozenset[str] = frozenset(),
) -> list[VerificationFinished]:
    """``key_names``: the registry's api_key_env names, scrubbed from every check's environment
    (with every variable that looks like a secret; engine/verify.py)."""
    results: list[VerificationFinished] = []
    stopped_by: VerificationFinished | None = None
    machine = await asyncio.to_thread(sandbox.detect) if commands else None
    for command in commands:
        confinement = Confinement(
            environ=dict(os.environ),
            key_names=key_names,
            sandbox=machine
            if command.sandbox and machine is not None
            else sandbox.unconfined("sandbox: false in this verification command"),
        )
        if stopped_by is not None:
            why = f"{stopped_by.name} {stopped_by.outcome}, so its result would mean nothing"
            finished = _not_run(command, session_id, round_no, skipped=why)
        elif reason := await unavailable_reason(command, workspace):
            finished = _not_run(command, session_id, round_no, unavailable=reason)
        else:
            finished = await _run(command, workspace, session_id, round_no, publish, confinement)
            if finished.failed and command.stop_on_failure:
                stopped_by = finished
        results.append(finished)
        await publish(finished)
    return results


class _Which(TypedDict):
    """What every VerificationFinished says of the check it is about."""

    session_id: str
    round: int
    name: str
    argv: list[str]
    kind: str
    source: str


def _which(command: VerificationCommand, session_id: str, round_no: int) -> _Which:
    return _Which(
        session_id=session_id,
        round=round_no,
        name=command.name,
        argv=command.argv,
        kind=command.kind,
        source=command.source,
    )


def _not_run(
    command: VerificationCommand,
    session_id: str,
    round_no: int,
    *,
    skipped: str = "",
    unavailable: str = "",
) -> VerificationFinished:
    return VerificationFinished(
        **_which(command, session_id, round_no),
        exit_code=None,
        elapsed_s=0.0,
        skipped=skipped,
        unavailable=unavailable,
    )


async def _run(
    command: VerificationCommand,
    workspace: Path,
    session_id: str,
    round_no: int,
    publish: Publish,
    confinement: Confinement,
) -> VerificationFinished:
    await publish(
        VerificationStarted(
            session_id=session_id,
            round=round_no,
            name=command.name,
            argv=command.argv,
            sandbox=confinement.sandbox.note,
        )
    )

    async def on_line(line: str) -> None:
        await publish(
            VerificationOutput(session_id=session_id, round=round_no, name=command.name, line=line)
        )

    result = await run_command(
        command.argv,
        workspace,
        command.timeout_s,
        on_line,
        command.env,
        env_pass=command.env_pass,
        confinement=confinement,
        max_output=command.max_output_chars,
    )
    return VerificationFinished(
        **_which(command, session_id, round_no),
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        elapsed_s=result.elapsed_s,
        output_tail=result.tail(),
        error=result.error,
        sandbox=result.sandbox,
        excerpt="" if result.ok else around_first_errors(result.output),
    )


def round_detail(results: list[VerificationFinished]) -> str:
    """What else a round's result must say: checks not available or skipped, or none ran."""
    parts = []
    unavailable = [r.name for r in results if r.unavailable]
    skipped = [r.name for r in results if r.skipped]
    if unavailable:
        parts.append(f"not available: {', '.join(unavailable)}")
    if skipped:
        parts.append(f"skipped: {', '.join(skipped)}")
    if results and len(unavailable) == len(results):
        parts.append("nothing was verified")
    return "; ".join(parts)
