"""`mao demo`: a simulated session on a fresh sample repository (or, --greenfield, the spec).

The demo's request is fixed, so once it passed every check with a configuration (remembered in
that configuration's digest, ``settings.digest``), the next `mao demo` on the unchanged
configuration paints the dashboard at once: the sample repository is made and the request is
built and checked by the session's worker, after the first frame. The checks that need none of
that still stop it before any screen (exit 2); anything else, or a configuration that changed,
takes the path where every check runs before any screen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.cli import running
from mao_tui.cli.request_checks import checked, settings_of
from mao_tui.cli.running import make_launch, run_checked, with_plan_options
from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.service.session_request import SessionInputs
    from mao_tui.settings.digest import Preview

DEMO_CHECKED = "demo"  # the name the demo's passed checks are remembered by (Preview.checked)
_PLAYBOOK = "develop"


def cmd_demo(args: argparse.Namespace) -> int:
    speed = 2.0 if args.speed is None else args.speed
    if args.greenfield and args.repo:
        raise UsageError("--greenfield is the demo without a repository; --repo is the default")
    if not args.greenfield:
        return _demo_on_sample_repo(args, speed)
    from dataclasses import replace

    from mao_tui.samples import DEMO_TASK, demo_spec
    from mao_tui.service.session_request import SessionInputs

    # Files are applied in a fresh temporary directory unless --workspace names one: the
    # demo never writes into the directory it was started in (often a checkout).
    launch = replace(make_launch(args, simulate=True, speed=speed), fresh_workspace=True)
    inputs = SessionInputs(
        playbook=_PLAYBOOK,
        task=DEMO_TASK,
        project_dir=launch.project_dir,
        simulated=True,
        spec_text=demo_spec(),
    )
    return run_checked(args, launch, _built(args, launch, inputs))


def _demo_on_sample_repo(args: argparse.Namespace, speed: float) -> int:
    """``mao demo``: the sample repository, fresh, in --workspace DIR (empty or missing) or a
    temporary folder; with --apply the session works in a worktree, landed by `mao land`."""
    import tempfile

    from mao_tui.domain import FRESH_WORKSPACE_PREFIX
    from mao_tui.settings.layers import ConfigError

    if args.workspace is not None:
        target = args.workspace.expanduser().resolve()
    else:
        target = Path(tempfile.mkdtemp(prefix=FRESH_WORKSPACE_PREFIX))
    launch = make_launch(args, simulate=True, speed=speed)
    try:
        key, before = launch.remembered()
    except ConfigError as exc:  # --config names no directory
        raise UsageError(str(exc)) from None
    if _only_the_dashboard(args) and before is not None and DEMO_CHECKED in before.checked:
        return _painted_first(args, launch, target, before)
    _make_sample_repo(target)
    sys.stderr.write(f"mao: the sample repository is in {target}\n")
    args.workspace = target
    req = _built(args, launch, _sample_inputs(launch, target))
    if not _only_the_dashboard(args):
        return run_checked(args, launch, req)
    launch, req = checked(args, launch, req)
    launch.remember_checked(key, before, DEMO_CHECKED)
    return running.run_tui(launch, req)


def _only_the_dashboard(args: argparse.Namespace) -> bool:
    """The dashboard, with none of the options that are checked against the configuration or
    run without it (--workspace, --speed, --budget, --max-parallel, --no-planner are fine)."""
    return not (
        args.json
        or args.headless
        or args.apply
        or args.review_plan
        or args.plan is not None
        or args.truncate
        or args.yes
        or args.fix_rounds is not None
        or args.sim_failing_tests
        or args.in_place
        or args.worktree
        or args.with_uncommitted
    )


def _painted_first(args: argparse.Namespace, launch: Launch, target: Path, known: Preview) -> int:
    """The dashboard at once; its worker makes the sample repository and checks the request
    (this configuration passed those checks before: only a change since can fail them, and
    then the command exits 2 with the reason once the app has closed)."""
    import shutil
    from dataclasses import replace

    from mao_tui.service.live_session import OpenSession

    running.require_terminal(
        "the dashboard", "add --headless (progress lines) or --json (one event per line)"
    )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(_not_empty(f"{target} is not an empty folder"))
    if shutil.which("git") is None:
        raise UsageError(f"cannot make the sample repository in {target}: git is not on PATH")
    sys.stderr.write(f"mao: the sample repository is in {target}\n")
    args.workspace = target
    launch = replace(launch, workspace=target)  # what the checks give with these options

    def prepare() -> SessionRequest:
        _make_sample_repo(target)
        return checked(args, launch, _built(args, launch, _sample_inputs(launch, target)))[1]

    session = OpenSession(launch, prepare=prepare)
    return running.run_dashboard(launch, session, f"mao · {_PLAYBOOK}", known.keybindings)


def _make_sample_repo(target: Path) -> None:
    from mao_tui.repo.git import GitError
    from mao_tui.samples.sample_repo import write_sample_repo

    try:
        write_sample_repo(target)
    except ValueError as exc:
        raise UsageError(_not_empty(str(exc))) from None
    except (GitError, OSError) as exc:
        raise UsageError(f"cannot make the sample repository in {target}: {exc}") from None


def _not_empty(reason: str) -> str:
    return (
        f"--workspace: {reason}; the demo makes its sample repository there, so give an empty "
        "or missing folder (or --greenfield to apply the snippet store into any folder)"
    )


def _sample_inputs(launch: Launch, target: Path) -> SessionInputs:
    from mao_tui.samples.sample_repo import SAMPLE_TASK
    from mao_tui.service.session_request import SessionInputs

    return SessionInputs(
        playbook=_PLAYBOOK,
        task=SAMPLE_TASK,
        project_dir=launch.project_dir,
        simulated=True,
        repository=target,
    )


def _built(args: argparse.Namespace, launch: Launch, inputs: SessionInputs) -> SessionRequest:
    from mao_tui.service.session_request import CLI_FIELDS, build_request

    req = build_request(settings_of(launch), inputs, CLI_FIELDS)
    return with_plan_options(args, launch, req)
