"""The commands that run a session: `mao` (Home), `demo`, `develop`, `run`, `qa`, `journal`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    pass

from mao_tui.cli.running import (
    EXIT_OK,
    _launch,
    _run,
    _settings_of,
    _spec_and_sections,
    _with_plan_options,
)


def cmd_home(args: argparse.Namespace) -> int:
    """``mao`` with no command: Home, to start a session or review one."""
    from mao_tui.service.live_session import AppBackend
    from mao_tui.settings.loader import ConfigError
    from mao_tui.tui.app import MaoApp

    launch = _launch(args, simulate=False, speed=1.0)
    try:
        settings = launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    code = MaoApp(backend=AppBackend(launch), keymap=settings.keybindings).run()
    return EXIT_OK if code is None else code


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mao_tui.engine.request import SessionRequest
    from mao_tui.samples import DEMO_TASK, demo_spec

    speed = 2.0 if args.speed is None else args.speed
    if args.repo:
        return _demo_on_sample_repo(args, speed)
    # Files are applied in a fresh temporary directory unless --workspace names one: the
    # demo never writes into the directory it was started in (often a checkout).
    launch = replace(_launch(args, simulate=True, speed=speed), fresh_workspace=True)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=launch.project_dir,
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def _demo_on_sample_repo(args: argparse.Namespace, speed: float) -> int:
    """``mao demo --repo``: the sample repository, fresh, in --workspace DIR (empty or missing)
    or a temporary folder; with --apply the session works in a worktree, landed by `mao land`."""
    import tempfile
    from pathlib import Path

    from mao_tui.domain import FRESH_WORKSPACE_PREFIX
    from mao_tui.engine.request import SessionRequest
    from mao_tui.repo.git import GitError
    from mao_tui.samples.sample_repo import SAMPLE_TASK, write_sample_repo

    if args.workspace is not None:
        target = args.workspace.expanduser().resolve()
    else:
        target = Path(tempfile.mkdtemp(prefix=FRESH_WORKSPACE_PREFIX))
    try:
        write_sample_repo(target)
    except ValueError as exc:
        raise UsageError(f"--workspace with --repo: {exc}; give an empty or missing one") from None
    except (GitError, OSError) as exc:
        raise UsageError(f"cannot make the sample repository in {target}: {exc}") from None
    sys.stderr.write(f"mao: the sample repository is in {target}\n")
    args.workspace = target
    args.worktree = args.apply  # its checkout stays as it is; `mao land` brings the commit
    launch = _launch(args, simulate=True, speed=speed)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=SAMPLE_TASK,
        simulated=True,
        project_dir=launch.project_dir,
        repository=target,
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def cmd_develop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mao_tui.engine.request import SessionRequest

    task = args.task.strip()
    if not task:
        raise UsageError('the task is empty; say what to build, e.g. mao develop "add search"')
    launch = _launch(args, simulate=args.simulate, speed=args.speed or 1.0)
    launch = replace(launch, faults=False)
    spec, sections = _spec_and_sections(args, launch)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=task,
        spec_text=spec,
        simulated=args.simulate,
        project_dir=launch.project_dir,
        sections=sections,
        # In a git repository, the models see its map and the files most relevant to the task.
        repository=args.workspace.expanduser() if args.workspace else launch.project_dir,
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def cmd_run(args: argparse.Namespace) -> int:
    """``mao run NAME "task"``: any playbook, the shipped ones and the user's own."""
    from dataclasses import replace

    from mao_tui.engine.request import SessionRequest
    from mao_tui.playbooks.runner import deliverer_for, require_playbook

    task = args.task.strip()
    if not task:
        raise UsageError(f'the task is empty; say what to do, e.g. mao run {args.playbook} "..."')
    launch = replace(_launch(args, simulate=args.simulate, speed=args.speed or 1.0), faults=False)
    spec, sections = _spec_and_sections(args, launch)
    settings = _settings_of(launch)
    name = require_playbook(settings, args.playbook).name
    req = SessionRequest(
        command=name,
        playbook=name,
        task=task,
        spec_text=spec,
        simulated=args.simulate,
        project_dir=launch.project_dir,
        sections=sections,
        deliver=deliverer_for(settings, name, launch.project_dir, task),
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def cmd_qa(args: argparse.Namespace) -> int:
    """``mao qa TARGET...``: five reviewers, a weighted score by code, one merged report."""
    from dataclasses import replace

    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.qa_input import prepare

    if args.truncate:
        raise UsageError(
            "--truncate does not apply to mao qa: code cut mid-file would mislead the reviewers; "
            "review fewer files (a narrower directory or glob, or --diff)"
        )
    launch = replace(_launch(args, simulate=args.simulate, speed=args.speed or 1.0), faults=False)
    settings = _settings_of(launch)
    qa_input = prepare(
        settings,
        args.playbook,
        args.targets,
        root=launch.project_dir,
        diff=args.diff,
        prd=args.spec,
        task=args.task,
        err=sys.stderr,
    )
    req = SessionRequest(
        command="qa",
        playbook=args.playbook,
        task=qa_input.task,
        spec_text=qa_input.listing,
        simulated=args.simulate,
        project_dir=launch.project_dir,
        repository=launch.project_dir,  # in a git repository, the orchestrator sees its map
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def cmd_journal(args: argparse.Namespace) -> int:
    """``mao journal``: three perspectives on a stored session (or git history), one entry."""
    from dataclasses import replace

    from mao_tui.playbooks.journal import journal_request

    launch = replace(_launch(args, simulate=args.simulate, speed=args.speed or 1.0), faults=False)
    req = asyncio.run(
        journal_request(
            _settings_of(launch),
            db_path=launch.db_path,
            project_dir=launch.project_dir,
            session=args.session,
            since=args.since,
            out=args.out,
            playbook=args.playbook,
            simulated=args.simulate,
        )
    )
    return _run(args, launch, _with_plan_options(args, launch, req))
