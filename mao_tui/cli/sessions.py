"""The commands that run a session: `mao` (Home), `develop`, `run`, `qa`, `journal`
(`demo`: mao_tui/cli/demo.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from mao_tui.cli.request_checks import settings_of
from mao_tui.cli.running import (
    EXIT_OK,
    make_launch,
    preview_of,
    require_terminal,
    run_checked,
    with_plan_options,
)
from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from mao_tui.service.launch import Launch
    from mao_tui.service.session_request import Fields, SessionInputs


def cmd_home(args: argparse.Namespace) -> int:
    """``mao`` with no command: Home, to start a session or review one."""
    from mao_tui.service.live_session import AppBackend
    from mao_tui.tui.app import MaoApp

    require_terminal("mao (Home)", "`mao --help` lists the commands that run without one")
    launch = make_launch(args, simulate=False, speed=1.0)
    preview = preview_of(launch)  # a bad configuration: exit 2 before any screen
    code = MaoApp(backend=AppBackend(launch, preview), keymap=preview.keybindings).run()
    return EXIT_OK if code is None else code


def cmd_develop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mao_tui.service.session_request import CLI_FIELDS, with_fields

    launch = _session_launch(args)
    example = with_fields(CLI_FIELDS, task_example='mao develop "add search"')
    # In a git repository, the models see its map and the files most relevant to the task.
    repository = args.workspace.expanduser() if args.workspace else launch.project_dir
    inputs = replace(_inputs(args, launch, "develop"), repository=repository)
    return _run_built(args, launch, inputs, example)


def cmd_run(args: argparse.Namespace) -> int:
    """``mao run NAME "task"``: any playbook, the shipped ones and the user's own."""
    from mao_tui.service.session_request import CLI_FIELDS, with_fields

    launch = _session_launch(args)
    example = with_fields(CLI_FIELDS, task_example=f'mao run {args.playbook} "..."')
    return _run_built(args, launch, _inputs(args, launch, args.playbook), example)


def _inputs(args: argparse.Namespace, launch: Launch, playbook: str) -> SessionInputs:
    from mao_tui.service.session_request import SessionInputs

    return SessionInputs(
        playbook=playbook,
        task=args.task,
        project_dir=launch.project_dir,
        simulated=args.simulate,
        spec_path=args.spec,
        sections=args.sections,
    )


def _run_built(
    args: argparse.Namespace, launch: Launch, inputs: SessionInputs, fields: Fields | None = None
) -> int:
    from mao_tui.service.session_request import CLI_FIELDS, build_request

    req = build_request(settings_of(launch), inputs, fields or CLI_FIELDS)
    return run_checked(args, launch, with_plan_options(args, launch, req))


def cmd_qa(args: argparse.Namespace) -> int:
    """``mao qa TARGET...``: five reviewers, a weighted score by code, one merged report."""
    from dataclasses import replace

    from mao_tui.service.session_request import qa_request

    if args.truncate:
        raise UsageError(
            "--truncate does not apply to mao qa: code cut mid-file would mislead the reviewers; "
            "review fewer files (a narrower directory or glob, or --diff)"
        )
    launch = _session_launch(args)
    req = qa_request(
        settings_of(launch),
        playbook=args.playbook,
        targets=args.targets,
        project_dir=launch.project_dir,
        diff=args.diff,
        prd=args.spec,
        task=args.task,
        simulated=args.simulate,
        err=sys.stderr,
    )
    req = replace(req, repository=launch.project_dir)  # in git: the orchestrator sees its map
    return run_checked(args, launch, with_plan_options(args, launch, req))


def cmd_journal(args: argparse.Namespace) -> int:
    """``mao journal``: three perspectives on a stored session (or git history), one entry."""
    from mao_tui.service.session_request import journal_request

    launch = _session_launch(args)
    req = asyncio.run(
        journal_request(
            settings_of(launch),
            db_path=launch.db_path,
            project_dir=launch.project_dir,
            session=args.session,
            since=args.since,
            out=args.out,
            playbook=args.playbook,
            simulated=args.simulate,
        )
    )
    return run_checked(args, launch, with_plan_options(args, launch, req))


def _session_launch(args: argparse.Namespace) -> Launch:
    """A session command's launch: --simulate at --speed (1 by default), no simulated faults."""
    from dataclasses import replace

    return replace(make_launch(args, simulate=args.simulate, speed=args.speed or 1.0), faults=False)
