"""`mao verify`: the project's checks on the current tree, without a session. ``--detect``
prints what would run and why. Exit status: 0 no check failed (a check that is not available
is not a failure), 1 a check failed, 2 bad input (a malformed project file, bad configuration,
an unknown playbook, no such directory)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from mao_tui.domain import VerificationPlanned
    from mao_tui.settings.schema import VerificationCommand

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
NO_SESSION = ""  # the events of a run outside a session carry no session id


def cmd_verify(args: argparse.Namespace) -> int:
    from mao_tui.checks.model import ProjectFileError
    from mao_tui.checks.report import plan_lines
    from mao_tui.checks.resolve import resolve_checks
    from mao_tui.engine.check_runs import planned_event
    from mao_tui.settings.loader import ConfigError, config_layers, load_settings

    workspace = (args.workspace or Path.cwd()).expanduser().resolve()
    if not workspace.is_dir():
        raise UsageError(f"--workspace {args.workspace}: not a directory")
    try:
        settings = load_settings(config_layers(workspace, getattr(args, "config", None)))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.playbook not in settings.playbooks:
        known = ", ".join(sorted(settings.playbooks))
        raise UsageError(f"--playbook {args.playbook}: no such playbook; known: {known}")
    try:
        plan = resolve_checks(settings, args.playbook, workspace)
    except ProjectFileError as exc:
        raise UsageError(str(exc)) from None
    planned = planned_event(NO_SESSION, plan)
    if args.detect:
        if args.json:
            sys.stdout.write(json.dumps(planned.model_dump(mode="json"), indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(plan_lines(planned)) + "\n")
        return EXIT_OK
    try:
        keys = frozenset(
            name for p in settings.registry.providers.values() for name in p.api_key_env
        )
        failed = asyncio.run(_run(plan.commands, workspace, planned, keys, as_json=args.json))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


async def _run(
    commands: list[VerificationCommand],
    workspace: Path,
    planned: VerificationPlanned,
    key_names: frozenset[str],
    *,
    as_json: bool,
) -> bool:
    """Run every check; True when one failed."""
    from mao_tui.domain import VerificationDone, WorkspaceEvent
    from mao_tui.engine.check_runs import round_detail, run_checks
    from mao_tui.render.headless import JsonLinesSink, workspace_lines

    json_sink = JsonLinesSink(sys.stdout)

    async def publish(event: WorkspaceEvent) -> None:
        if as_json:
            await json_sink(event)
        else:
            sys.stderr.write("".join(f"{line}\n" for line in workspace_lines(event)))
            sys.stderr.flush()

    await publish(planned)
    results = await run_checks(commands, workspace, NO_SESSION, 0, publish, key_names=key_names)
    failed = [r.name for r in results if r.failed]
    detail = round_detail(results) if commands else "no checks to run"
    await publish(
        VerificationDone(
            session_id=NO_SESSION,
            round=0,
            passed=not failed,
            failed=failed,
            unavailable=[r.name for r in results if r.unavailable],
            skipped=[r.name for r in results if r.skipped],
            detail=detail,
        )
    )
    return bool(failed)
