"""The `mao` command. Exit status: 0 done, 1 the session failed, 2 bad usage or config, 130
interrupted. Heavy modules (Textual, SDKs, the store) are imported only by the command that needs
them, so `mao --help` stays instant."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mao_tui.cli.bench import cmd_bench
from mao_tui.cli.info import cmd_config_check, cmd_models, cmd_sessions
from mao_tui.cli.land import cmd_clean, cmd_land
from mao_tui.cli.mcp_commands import cmd_mcp_config, cmd_mcp_serve
from mao_tui.cli.parser import build_parser
from mao_tui.cli.running import EXIT_FAILED, EXIT_USAGE, check_db
from mao_tui.cli.sessions import cmd_demo, cmd_develop, cmd_home, cmd_journal, cmd_qa, cmd_run
from mao_tui.cli.verify_command import cmd_verify
from mao_tui.domain.errors import StoreUnwritableError, UsageError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {
        "demo": cmd_demo,
        "develop": cmd_develop,
        "run": cmd_run,
        "journal": cmd_journal,
        "qa": cmd_qa,
        "sessions": cmd_sessions,
        "models": cmd_models,
        "verify": cmd_verify,
        "land": cmd_land,
        "clean": cmd_clean,
        "bench": cmd_bench,
    }
    try:
        if _opens_the_database(args):
            check_db(args)
        if args.command is None:
            return cmd_home(args)
        if args.command == "config" and args.config_command == "check":
            return cmd_config_check(args)
        if args.command == "mcp" and args.mcp_command == "config":
            return cmd_mcp_config(args)
        if args.command == "mcp" and args.mcp_command == "serve":
            return cmd_mcp_serve(args)
        if args.command in handlers:
            return handlers[args.command](args)
    except UsageError as exc:
        sys.stderr.write(f"mao: error: {exc}\n")
        return EXIT_USAGE
    except StoreUnwritableError as exc:
        sys.stderr.write(f"mao: error: {exc}; the session stopped\n")
        return EXIT_FAILED
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _opens_the_database(args: argparse.Namespace) -> bool:
    if args.command in ("config", "models", "land", "clean"):
        return False
    if args.command == "mcp":
        return bool(args.mcp_command == "serve")
    return True  # Home, demo, develop, run, qa, journal, sessions
