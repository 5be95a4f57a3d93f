"""The `mao` command. Exit status: 0 done, 1 the session failed, 2 bad usage or config, 130
interrupted. Heavy modules (Textual, SDKs, the store) are imported only by the command that needs
them, so `mao --help` stays instant."""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence

from mao_tui.cli.parser import build_parser, command_of
from mao_tui.cli.running import EXIT_FAILED, EXIT_USAGE, check_db
from mao_tui.domain.errors import StoreUnwritableError, UsageError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv))
    args = parser.parse_args(argv)
    paused = _opens_a_screen(args) and gc.isenabled()
    if paused:
        # Start-up allocates tens of thousands of long-lived objects (modules, classes, models,
        # the DOM): collecting them young cost 25 ms (Home) to 55 ms (demo) before the first
        # frame. The app turns the collector back on, tuned, once mounted (tui/app.py).
        gc.disable()
    try:
        return _dispatch(parser, args)
    finally:
        if paused:
            gc.enable()


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if _opens_the_database(args):
            check_db(args)
        if args.command is None:
            return _handler("sessions", "cmd_home")(args)
        if args.command == "config" and args.config_command == "check":
            return _handler("info", "cmd_config_check")(args)
        if args.command == "mcp" and args.mcp_command == "config":
            return _handler("mcp_commands", "cmd_mcp_config")(args)
        if args.command == "mcp" and args.mcp_command == "serve":
            return _handler("mcp_commands", "cmd_mcp_serve")(args)
        if args.command in _HANDLERS:
            module, name = _HANDLERS[args.command]
            return _handler(module, name)(args)
    except UsageError as exc:
        sys.stderr.write(f"mao: error: {exc}\n")
        return EXIT_USAGE
    except StoreUnwritableError as exc:
        sys.stderr.write(f"mao: error: {exc}; the session stopped\n")
        return EXIT_FAILED
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# command -> (module in mao_tui.cli, function): only the command's own module is imported, so
# `mao` (Home) does not load land's git and worktree code, bench's or verify's on its way to paint.
_HANDLERS = {
    "demo": ("demo", "cmd_demo"),
    "develop": ("sessions", "cmd_develop"),
    "run": ("sessions", "cmd_run"),
    "journal": ("sessions", "cmd_journal"),
    "qa": ("sessions", "cmd_qa"),
    "sessions": ("info", "cmd_sessions"),
    "models": ("info", "cmd_models"),
    "verify": ("verify_command", "cmd_verify"),
    "land": ("land", "cmd_land"),
    "clean": ("land", "cmd_clean"),
    "bench": ("bench", "cmd_bench"),
}


def _handler(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    handler: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"mao_tui.cli.{module}"), name
    )
    return handler


def _opens_a_screen(args: argparse.Namespace) -> bool:
    """Home, or a session on the dashboard (not --json, --headless or --apply)."""
    if args.command is None:
        return True
    headless = any(getattr(args, flag, False) for flag in ("json", "headless", "apply"))
    return args.command in ("demo", "develop", "run", "qa", "journal") and not headless


def _opens_the_database(args: argparse.Namespace) -> bool:
    if args.command in ("config", "models", "land", "clean"):
        return False
    if args.command == "mcp":
        return bool(args.mcp_command == "serve")
    return True  # Home, demo, develop, run, qa, journal, sessions
