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
    from mao_tui.engine.session import SessionRequest
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
        help="simulator speed multiplier (with --simulate; default 1.5 for demo)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mao",
        description="Orchestrate several frontier models on one piece of software work.",
    )
    parser.add_argument("--version", action="version", version=f"mao {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run a develop session on the built-in simulator (no keys)")
    _common(demo)
    _run_options(demo)

    develop = sub.add_parser("develop", help="build a feature with several models in parallel")
    develop.add_argument("task", help="what to build")
    develop.add_argument("--spec", type=Path, metavar="FILE", help="a spec or PRD in Markdown")
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
    )


def _read_spec(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: spec file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; --spec expects a Markdown file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read spec file ({exc.strerror})") from None
    if b"\0" in data:
        raise UsageError(f"{path}: looks binary (NUL byte); --spec expects Markdown text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def _run(args: argparse.Namespace, launch: Launch, req: SessionRequest) -> int:
    from mao_tui.settings.loader import ConfigError

    try:
        launch.settings()  # validate before any UI or model work
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if req.playbook not in launch.settings().playbooks:
        raise UsageError(f"no playbook named {req.playbook!r}")
    if args.json or args.headless:
        return _run_headless(launch, req, as_json=args.json)
    return _run_tui(launch, req)


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


def _run_tui(launch: Launch, req: SessionRequest) -> int:
    from mao_tui.domain import EventSink, SessionFinished
    from mao_tui.tui.app import MaoApp
    from mao_tui.wiring import run_session

    async def runner(sink: EventSink) -> SessionFinished:
        return await run_session(launch, req, [sink])

    title = f"mao · {req.command}"
    code = MaoApp(runner, simulated=launch.simulate, title=title).run()
    return EXIT_INTERRUPTED if code is None else code


def cmd_demo(args: argparse.Namespace) -> int:
    from mao_tui.engine.session import SessionRequest
    from mao_tui.samples import DEMO_TASK, demo_spec

    speed = 1.5 if args.speed is None else args.speed
    launch = _launch(args, simulate=True, speed=speed)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        project_dir=launch.project_dir,
    )
    return _run(args, launch, req)


def cmd_develop(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mao_tui.engine.session import SessionRequest

    task = args.task.strip()
    if not task:
        raise UsageError('the task is empty; say what to build, e.g. mao develop "add search"')
    spec = _read_spec(args.spec) if args.spec else ""
    launch = _launch(args, simulate=args.simulate, speed=args.speed or 1.0)
    launch = replace(launch, faults=False)
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=task,
        spec_text=spec,
        simulated=args.simulate,
        project_dir=launch.project_dir,
    )
    return _run(args, launch, req)


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
        found = next((n for n in cfg.api_key_env if find_key([n], os.environ)), None)
        key = f"key from ${found}" if found else f"no key (set {' or '.join(cfg.api_key_env)})"
        models = ", ".join(m for m, mc in reg.models.items() if mc.provider == pid)
        out.write(f"  {pid:<10} {cfg.kind:<12} {key}\n             models: {models}\n")
    out.write("\nconfiguration OK\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"demo": cmd_demo, "develop": cmd_develop, "sessions": cmd_sessions}
    try:
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
