"""`mao mcp config` and `mao mcp serve`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    pass

from mao_tui.cli.running import EXIT_INTERRUPTED, EXIT_OK, make_launch


def cmd_mcp_config(args: argparse.Namespace) -> int:
    """``mao mcp config``: write or merge the project's .mcp.json; ``--check`` validates it."""
    from mao_tui.mcp.config import check, configure

    path: Path = args.file
    try:
        outcome = (
            check(path)
            if args.check
            else configure(path, with_mao=args.with_mao, dry_run=args.dry_run)
        )
    except OSError as exc:
        raise UsageError(f"{path}: cannot write it ({exc.strerror})") from None
    for problem in outcome.problems:
        sys.stderr.write(problem.render(path) + "\n")
    if outcome.errors:
        what = (
            "fix it" if args.check else "fix it and run `mao mcp config` again; nothing was written"
        )
        raise UsageError(f"{path}: {len(outcome.errors)} problem(s); {what}")
    if args.check:
        sys.stdout.write(f"{path}: OK\n")
        return EXIT_OK
    if args.dry_run:
        sys.stdout.write(outcome.text)
        return EXIT_OK
    added = f"added {', '.join(outcome.added)}" if outcome.added else "nothing to add"
    kept = f"; kept your {', '.join(outcome.kept)}" if outcome.kept else ""
    backup = f"; the previous file is in {outcome.backup}" if outcome.backup else ""
    verb = "wrote" if outcome.written else "left"
    sys.stdout.write(f"{verb} {path}: {added}{kept}{backup}\n")
    if outcome.added:
        sys.stdout.write(
            "keys are ${NAME} placeholders: the MCP host fills them from its environment\n"
        )
    return EXIT_OK


def cmd_mcp_serve(args: argparse.Namespace) -> int:
    """``mao mcp serve``: MCP over stdin/stdout until the host closes it."""
    import logging

    from mao_tui.mcp.serve import serve
    from mao_tui.settings.loader import ConfigError

    launch = make_launch(args, simulate=False, speed=args.speed)
    try:
        launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the protocol's
    try:
        asyncio.run(serve(launch))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK
