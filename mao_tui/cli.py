"""The `mao` command. Exit status: 0 done, 1 the session failed, 2 bad usage or config, 130
interrupted. Heavy modules (Textual, SDKs, the store) are imported only by the command that needs
them, so `mao --help` stays instant."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui import __version__
from mao_tui.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from mao_tui.domain import Plan
    from mao_tui.engine.session import SessionRequest
    from mao_tui.settings.schema import Settings
    from mao_tui.tui.app import MaoApp
    from mao_tui.wiring import Launch

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a nested subcommand's default must not overwrite a value given before it.
    parser.add_argument(
        "--config",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="a configuration directory layered over all others",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the SQLite database (default: $MAO_DB, else the user data dir)",
    )


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no dashboard: progress on stderr, the synthesized output on stdout",
    )
    parser.add_argument(
        "--json", action="store_true", help="headless, one JSON object per event on stdout"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        metavar="X",
        help="simulator speed multiplier (with --simulate; default 2 for demo)",
    )
    parser.add_argument(
        "--no-planner",
        action="store_true",
        help="skip the orchestrator: use the plan from the playbook and routing rules",
    )
    parser.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="run this plan instead of planning (JSON as the orchestrator writes it, "
        "or a `plan` event line from --json)",
    )
    parser.add_argument(
        "--review-plan",
        action="store_true",
        help="show the plan before any work: accept, change a model, or drop a workstream",
    )
    parser.add_argument(
        "--truncate",
        action="store_true",
        help="cut a spec that does not fit the smallest context window in the plan, "
        "instead of refusing it",
    )
    parser.add_argument(
        "--max-parallel",
        type=int,
        metavar="N",
        help="at most N workstreams at once (default: all that are ready)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mao",
        description="Orchestrate several frontier models on one piece of software work. "
        "With no command, open Home: start a session, or find and review a stored one.",
    )
    parser.add_argument("--version", action="version", version=f"mao {__version__}")
    _common(parser)  # `mao` alone opens Home on this configuration and database
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run a develop session on the built-in simulator (no keys)")
    _common(demo)
    _run_options(demo)

    develop = sub.add_parser("develop", help="build a feature with several models in parallel")
    develop.add_argument("task", help="what to build")
    develop.add_argument("--spec", type=Path, metavar="FILE", help="a spec or PRD in Markdown")
    develop.add_argument(
        "--sections",
        metavar="N,M",
        help="spec sections to build, e.g. 2,3: one group of workstreams per section",
    )
    develop.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulator instead of the real providers",
    )
    _common(develop)
    _run_options(develop)

    sessions = sub.add_parser("sessions", help="list stored sessions, or show one")
    _common(sessions)
    sessions.add_argument("--limit", type=int, default=30, help="how many to list (default 30)")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="SUBCOMMAND")
    show = sessions_sub.add_parser("show", help="print one session in full")
    show.add_argument("session_id", help="a session id or a unique prefix of one")
    _common(show)

    models = sub.add_parser(
        "models", help="list every model: provider, key, thinking, prices and status"
    )
    _common(models)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_sub.add_parser("check", help="validate the configuration and show provider keys")
    _common(check)
    return parser


def _launch(args: argparse.Namespace, *, simulate: bool, speed: float) -> Launch:
    import os

    from mao_tui.wiring import Launch

    db_arg: Path | None = getattr(args, "db", None)
    if db_arg is not None:
        db = db_arg
    elif os.environ.get("MAO_DB"):
        db = Path(os.environ["MAO_DB"])
    else:
        from mao_tui.store import default_db_path

        db = default_db_path()
    return Launch(
        project_dir=Path.cwd(),
        config_dir=getattr(args, "config", None),
        db_path=db,
        simulate=simulate,
        speed=speed,
        max_parallel=getattr(args, "max_parallel", None),
    )


def _read_spec(path: Path) -> str:
    from mao_tui.inputs import read_text

    return read_text(path)


def _run(args: argparse.Namespace, launch: Launch, req: SessionRequest) -> int:
    from mao_tui.settings.loader import ConfigError

    try:
        launch.settings()  # validate before any UI or model work
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    settings = launch.settings()
    if req.playbook not in settings.playbooks:
        raise UsageError(f"no playbook named {req.playbook!r}")
    req = _fit_input(args, settings, req)
    if args.json or args.headless:
        if getattr(args, "review_plan", False):
            raise UsageError(
                "--review-plan needs the dashboard; headless, save a plan (a `plan` line of "
                "--json output), edit it, and pass --plan FILE"
            )
        return _run_headless(launch, req, as_json=args.json)
    return _run_tui(launch, req, review_plan=getattr(args, "review_plan", False))


def _fit_input(args: argparse.Namespace, settings: Settings, req: SessionRequest) -> SessionRequest:
    """Refuse input larger than the smallest context window in the plan, with the numbers;
    cut the spec to fit only when the user asked to (--truncate)."""
    from dataclasses import replace

    from mao_tui.engine.budget import check_fit, truncate_to_fit
    from mao_tui.engine.planner import rule_based_plan

    plan = req.fixed_plan or rule_based_plan(settings, req.playbook, req.sections)
    spec = "".join(s.text for s in req.sections) if req.sections else req.spec_text
    fit = check_fit(settings, plan, req.task + spec)
    if fit.fits:
        return req
    numbers = (
        f"the task and spec are about {fit.estimated_tokens:,} tokens (4 characters per token), "
        f"over {fit.limit_tokens:,}: 80% of {fit.model}'s {fit.smallest_window:,}-token context "
        "window, the smallest in the plan"
    )
    if req.sections:
        raise UsageError(f"{numbers}; choose fewer --sections")
    if not getattr(args, "truncate", False):
        raise UsageError(f"{numbers}; choose --sections, shorten the spec, or pass --truncate")
    sys.stderr.write(f"mao: {numbers}; --truncate: cutting the spec to fit\n")
    return replace(req, spec_text=truncate_to_fit(req.spec_text, fit, len(req.task)))


def _exit_code(status: str) -> int:
    return {"done": EXIT_OK, "cancelled": EXIT_INTERRUPTED}.get(status, EXIT_FAILED)


def _run_headless(launch: Launch, req: SessionRequest, *, as_json: bool) -> int:
    from mao_tui.domain import EventSink
    from mao_tui.headless import JsonLinesSink, ProgressSink
    from mao_tui.wiring import run_session

    sink: EventSink = JsonLinesSink(sys.stdout) if as_json else ProgressSink(sys.stderr)
    try:
        finished = asyncio.run(run_session(launch, req, [sink]))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    if not as_json:
        synthesis = _last_synthesis_text(launch, req.session_id)
        if synthesis:
            sys.stdout.write(synthesis.rstrip() + "\n")
    return _exit_code(finished.status)


def _last_synthesis_text(launch: Launch, session_id: str) -> str:
    from mao_tui.store import Store

    async def read() -> str:
        store = await Store.open(launch.db_path)
        try:
            detail = await store.get_session(session_id)
        finally:
            await store.close()
        return detail.synthesis.text if detail and detail.synthesis else ""

    return asyncio.run(read())


def _run_tui(launch: Launch, req: SessionRequest, *, review_plan: bool = False) -> int:
    """The dashboard on this session; it stays open for reruns until the user quits."""
    from dataclasses import replace

    from mao_tui.live import AppBackend, OpenSession
    from mao_tui.tui.app import MaoApp

    app_ref: list[MaoApp] = []
    if review_plan:
        req = replace(req, review=_plan_reviewer(launch, app_ref))
    session = OpenSession(launch, req)
    app = MaoApp(
        session.run,
        control=session,
        simulated=launch.simulate,
        title=f"mao · {req.command}",
        backend=AppBackend(launch),
        keymap=launch.settings().keybindings,
    )
    app_ref.append(app)
    code = app.run()
    return EXIT_INTERRUPTED if code is None else code


def _plan_reviewer(
    launch: Launch, app_ref: list[MaoApp]
) -> Callable[[Plan], Awaitable[Plan | None]]:
    """--review-plan: the plan review screen, shown from the session's worker."""
    import os

    from mao_tui.engine.pool import find_key
    from mao_tui.tui.plan_review import PlanReviewScreen

    settings = launch.settings()
    providers = settings.registry.providers
    has_key = {
        model_id: providers[m.provider].kind != "cli"
        and (
            launch.simulate
            or not providers[m.provider].api_key_env
            or find_key(providers[m.provider].api_key_env, os.environ) is not None
        )
        for model_id, m in settings.registry.models.items()
    }

    async def review(plan: Plan) -> Plan | None:
        return await app_ref[0].push_screen_wait(PlanReviewScreen(plan, settings, has_key))

    return review


def cmd_home(args: argparse.Namespace) -> int:
    """``mao`` with no command: Home, to start a session or review one."""
    from mao_tui.live import AppBackend
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
    from mao_tui.engine.session import SessionRequest
    from mao_tui.samples import DEMO_TASK, demo_spec

    speed = 2.0 if args.speed is None else args.speed
    launch = _launch(args, simulate=True, speed=speed)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=launch.project_dir,
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def cmd_develop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mao_tui.engine.session import SessionRequest

    task = args.task.strip()
    if not task:
        raise UsageError('the task is empty; say what to build, e.g. mao develop "add search"')
    spec = _read_spec(args.spec) if args.spec else ""
    sections = []
    if args.sections is not None:
        from mao_tui.engine.sections import SectionError, parse_selection, select_sections

        if not args.spec:
            raise UsageError("--sections needs --spec FILE: the sections are the spec's")
        try:
            sections = select_sections(spec, parse_selection(args.sections), str(args.spec))
        except SectionError as exc:
            raise UsageError(str(exc)) from None
    launch = _launch(args, simulate=args.simulate, speed=args.speed or 1.0)
    launch = replace(launch, faults=False)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=task,
        spec_text=spec,
        simulated=args.simulate,
        project_dir=launch.project_dir,
        sections=sections,
    )
    return _run(args, launch, _with_plan_options(args, launch, req))


def _with_plan_options(
    args: argparse.Namespace, launch: Launch, req: SessionRequest
) -> SessionRequest:
    """--no-planner, --plan FILE and --max-parallel, checked before anything runs."""
    import json
    from dataclasses import replace

    from mao_tui.engine.planner import rule_based_plan
    from mao_tui.engine.planning import PlanInvalid, apply_proposal
    from mao_tui.settings.loader import ConfigError

    if args.max_parallel is not None and args.max_parallel < 1:
        raise UsageError(f"--max-parallel expects 1 or more (got {args.max_parallel})")
    req = replace(req, use_planner=not args.no_planner)
    if args.plan is None:
        return req
    try:
        settings = launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    try:
        raw = json.loads(args.plan.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{args.plan}: plan file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.plan}: cannot read the plan ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{args.plan}:{exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(raw, dict) and raw.get("type") == "plan" and isinstance(raw.get("plan"), dict):
        event_plan = raw["plan"]
        raw = {
            "rationale": event_plan.get("rationale", ""),
            "workstreams": event_plan.get("workstreams", []),
            "synthesis_chain": (event_plan.get("synthesis") or {}).get("chain"),
        }
    draft = rule_based_plan(settings, req.playbook, req.sections)
    try:
        plan = apply_proposal(raw, draft, settings, "file")
    except PlanInvalid as exc:
        raise UsageError(f"{args.plan}: the plan cannot be used: {exc}") from None
    return replace(req, fixed_plan=plan)


def cmd_sessions(args: argparse.Namespace) -> int:
    from mao_tui.reports import print_session, print_sessions

    launch = _launch(args, simulate=False, speed=1.0)
    if args.sessions_command == "show":
        return asyncio.run(print_session(launch.db_path, args.session_id, sys.stdout))
    return asyncio.run(print_sessions(launch.db_path, args.limit, sys.stdout))


def cmd_config_check(args: argparse.Namespace) -> int:
    import os

    from mao_tui.engine.pool import find_key
    from mao_tui.settings.loader import ConfigError

    launch = _launch(args, simulate=False, speed=1.0)
    try:
        settings = launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    out = sys.stdout
    out.write("configuration layers (later wins):\n")
    for layer in launch.layers():
        out.write(f"  {'✓' if layer.is_dir() else '·'} {layer}\n")
    reg = settings.registry
    out.write(
        f"\n{len(reg.models)} models, {len(settings.routing.routes)} routes, "
        f"playbooks: {', '.join(sorted(settings.playbooks))}\n\nproviders:\n"
    )
    for pid, cfg in reg.providers.items():
        if cfg.cli is not None:  # a CLI tool: is it there, which version, are its flags known
            from mao_tui.providers.cli_bridge import probe

            key = probe(cfg.cli, os.environ).summary
        else:
            found = next((n for n in cfg.api_key_env if find_key([n], os.environ)), None)
            key = f"key from ${found}" if found else f"no key (set {' or '.join(cfg.api_key_env)})"
            if not cfg.api_key_env:
                key = "no key needed"
        models = ", ".join(m for m, mc in reg.models.items() if mc.provider == pid)
        out.write(f"  {pid:<10} {cfg.kind:<12} {key}\n             models: {models}\n")
    from mao_tui.engine import policy
    from mao_tui.registry_report import config_warnings

    warnings = config_warnings(settings, policy.today())
    if warnings:
        out.write(f"\n{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:\n")
        out.writelines(f"  warning: {line}\n" for line in warnings)
    out.write("\nconfiguration OK\n")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    import os

    from mao_tui.engine import policy
    from mao_tui.registry_report import render_models
    from mao_tui.settings.loader import ConfigError

    launch = _launch(args, simulate=False, speed=1.0)
    try:
        settings = launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(render_models(settings, os.environ, policy.today()))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "demo": cmd_demo,
        "develop": cmd_develop,
        "sessions": cmd_sessions,
        "models": cmd_models,
    }
    try:
        if args.command is None:
            return cmd_home(args)
        if args.command == "config" and args.config_command == "check":
            return cmd_config_check(args)
        if args.command in handlers:
            return handlers[args.command](args)
    except UsageError as exc:
        sys.stderr.write(f"mao: error: {exc}\n")
        return EXIT_USAGE
    parser.print_help(sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
