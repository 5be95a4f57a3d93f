"""The argument parser: every command and option of `mao`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui import __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expects a whole number, {least} or more (got {text!r})"
            ) from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expects {least} or more (got {value})")
        return value

    return parse


def _speed(zero_ok: bool) -> Callable[[str], float]:
    """An argparse type: a speed multiplier above 0 (or 0 where it means "no pacing")."""
    least = "0 or more" if zero_ok else "above 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isnan(value) or value < 0 or (value == 0 and not zero_ok):
            raise argparse.ArgumentTypeError(
                f"expects a number {least}, e.g. 2 or inf (got {text!r})"
            )
        return value

    return parse


def _budget(text: str) -> float:
    """An argparse type: US dollars above 0, e.g. 2.50 ("$2.50" is taken too)."""
    try:
        value = float(text.strip().removeprefix("$"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expects an amount in US dollars above 0, e.g. 2.50 (got {text!r})"
        )
    return value


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
        type=_speed(zero_ok=False),
        default=None,
        metavar="X",
        help="simulator speed multiplier, above 0 (with --simulate; default 2 for demo; "
        "inf: no pacing)",
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
        "--budget",
        type=_budget,
        metavar="USD",
        help="the session's cost budget in US dollars (default: global.budget in models.yaml): "
        "the plan shows its estimate against it, and the session stops (headless) or asks "
        "(dashboard) before an attempt would pass it",
    )
    parser.add_argument(
        "--max-parallel",
        type=_count(1),
        metavar="N",
        help="at most N workstreams at once (default: all that are ready)",
    )


def _apply_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("applying the synthesized files (output kind files)")
    group.add_argument(
        "--apply",
        action="store_true",
        help="headless (implies --headless): write the synthesis's files into the workspace, "
        "then run the verification commands; asks first on a terminal",
    )
    group.add_argument("--yes", action="store_true", help="with --apply: do not ask")
    group.add_argument(
        "--workspace",
        type=Path,
        metavar="DIR",
        help="where files are written and verified (default: the current directory)",
    )
    group.add_argument(
        "--fix-rounds",
        type=_count(0),
        metavar="N",
        help="when verification fails, send the failures back and re-synthesize up to N times "
        "(default: the playbook's fix.max_rounds; 0: never)",
    )
    group.add_argument(
        "--sim-failing-tests",
        action="store_true",
        help="(simulator) the first synthesis's tests fail and a fix round repairs them",
    )
    group.add_argument(
        "--in-place",
        action="store_true",
        help="with --apply: write into the workspace itself (by default a session applies, "
        "verifies and fixes in a git worktree on a new branch mao/ID, or outside git in a "
        "temporary copy, and `mao land ID` brings the result over)",
    )
    group.add_argument(
        "--worktree",
        action="store_true",
        help="with --apply: insist on a git worktree (the default in a git repository)",
    )
    group.add_argument(
        "--with-uncommitted",
        action="store_true",
        help="with --apply in git: start from your uncommitted changes too (snapshotted, "
        "untouched)",
    )


def _simulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulator instead of the real providers",
    )


def _input_options(parser: argparse.ArgumentParser, *, sections_for: str = "work on") -> None:
    parser.add_argument("--spec", type=Path, metavar="FILE", help="a spec or PRD in Markdown")
    parser.add_argument(
        "--sections",
        metavar="N,M",
        help=f"spec sections to {sections_for}, e.g. 2,3: one group of workstreams per section",
    )
    _simulate(parser)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; or, given the command a command line starts with ("" for none),
    that one alone: `mao` and `mao demo` skip building the other commands (~6 ms) on their way
    to the first frame. ``parse_args`` gives the same namespace for that command line."""
    parser = argparse.ArgumentParser(
        prog="mao",
        description="Orchestrate several frontier models on one piece of software work. "
        "With no command, open Home: start a session, or find and review a stored one.",
    )
    parser.add_argument("--version", action="version", version=f"mao {__version__}")
    _common(parser)  # `mao` alone opens Home on this configuration and database
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for names, add in _adders():
        if command is None or command in names:
            add(sub)
    return parser


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` starts with, "" for none at all; None when options come first (or
    anything else), for which only the whole parser will do."""
    if not argv:
        return ""
    return argv[0] if any(argv[0] in names for names, _ in _adders()) else None


def _adders() -> list[tuple[tuple[str, ...], Callable[[Commands], None]]]:
    """Each function adding commands, with their names, in `mao --help`'s order."""

    def bench(sub: Commands) -> None:
        from mao_tui.cli.bench import add_bench

        add_bench(sub)

    return [
        (("demo",), _demo),
        (("develop",), _develop),
        (("run",), _run),
        (("qa",), _qa),
        (("journal",), _journal),
        (("sessions",), _sessions),
        (("land", "clean"), _worktrees),
        (("verify",), _verify),
        (("models",), _models),
        (("mcp",), _mcp),
        (("config",), _config),
        (("bench",), bench),
    ]


def _demo(sub: Commands) -> None:
    demo = sub.add_parser(
        "demo",
        help="run a develop session on the built-in simulator (no keys), on a fresh copy of a "
        "small sample repository",
    )
    _common(demo)
    _run_options(demo)
    _apply_options(demo)
    demo.add_argument(
        "--greenfield",
        action="store_true",
        help="the first demo instead: a snippet store built from a spec, with no repository "
        "(files applied in a fresh temporary folder, or --workspace DIR)",
    )
    # The sample repository is the default now; --repo stays accepted for scripts that say it.
    demo.add_argument("--repo", action="store_true", help=argparse.SUPPRESS)


def _develop(sub: Commands) -> None:
    develop = sub.add_parser("develop", help="build a feature with several models in parallel")
    develop.add_argument("task", help="what to build")
    _input_options(develop, sections_for="build")
    _common(develop)
    _run_options(develop)
    _apply_options(develop)
    _candidates_option(develop)


def _race(text: str) -> tuple[str, int]:
    """``N`` or ``KEY=N``: a candidate race of N models (on the default workstream, or KEY)."""
    key, _, count = text.rpartition("=")
    return key, _count(1)(count)


def _candidates_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--candidates",
        type=_race,
        action="append",
        metavar="[KEY=]N",
        help="run a workstream on N models at once, verify each candidate in its own copy of "
        "the workspace (a playbook that writes files) and keep the best (default workstream: "
        "the one the fix route runs, implementation in develop, else the first); repeat with "
        "KEY=N for others (docs/ensembles.md)",
    )
    parser.add_argument(
        "--cross-review",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="have each race's candidates rank each other's answers blind (neutral labels, "
        "never their own), aggregated by code between verification and cost; over the plan's "
        "and the playbook's cross_review (docs/ensembles.md)",
    )


def _run(sub: Commands) -> None:
    run = sub.add_parser(
        "run", help="run any playbook by name, yours included (.mao/playbooks/NAME.yaml)"
    )
    run.add_argument("playbook", metavar="NAME", help="the playbook, e.g. develop or your own")
    run.add_argument("task", help="what to do")
    _input_options(run)
    _common(run)
    _run_options(run)


def _qa(sub: Commands) -> None:
    qa = sub.add_parser(
        "qa", help="review code on five dimensions: a weighted score and one merged report"
    )
    qa.add_argument(
        "targets", nargs="*", metavar="TARGET", help="files, globs or directories to review"
    )
    qa.add_argument(
        "--diff",
        metavar="REV",
        help="review the changes since REV (git diff REV; TARGETs, if any, limit the paths)",
    )
    qa.add_argument("--spec", type=Path, metavar="FILE", help="the PRD to check compliance with")
    qa.add_argument(
        "--task", metavar="TEXT", help="what the review is about (default: the targets)"
    )
    qa.add_argument(
        "--playbook", default="qa", metavar="NAME", help="a playbook with output: qa_report"
    )
    _simulate(qa)
    _common(qa)
    _run_options(qa)
    _candidates_option(qa)


def _journal(sub: Commands) -> None:
    journal = sub.add_parser(
        "journal", help="write a journal entry about a stored session or recent git history"
    )
    source = journal.add_mutually_exclusive_group()
    source.add_argument(
        "--session",
        metavar="ID",
        help="the stored session to write about (an id prefix is enough; default: the latest)",
    )
    source.add_argument(
        "--since",
        metavar="DATE",
        help="write about this git repository's commits since DATE (e.g. 2026-11-01, "
        "'2 weeks ago') instead of a session",
    )
    journal.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="the folder for the entry (default: the playbook's journal.folder, journal/)",
    )
    journal.add_argument(
        "--playbook",
        default="journal",
        metavar="NAME",
        help="a playbook with output: journal (default: journal)",
    )
    _simulate(journal)
    _common(journal)
    _run_options(journal)


def _sessions(sub: Commands) -> None:
    sessions = sub.add_parser("sessions", help="list stored sessions, or show one")
    _common(sessions)
    sessions.add_argument(
        "--limit", type=_count(1), default=30, help="how many to list (default 30)"
    )
    sessions_sub = sessions.add_subparsers(dest="sessions_command", metavar="SUBCOMMAND")
    show = sessions_sub.add_parser("show", help="print one session in full")
    show.add_argument("session_id", help="a session id or a unique prefix of one")
    _common(show)


def _worktrees(sub: Commands) -> None:
    land = sub.add_parser(
        "land",
        help="bring a session's result onto your checked-out branch (or, outside git, into "
        "your folder), then remove its worktree or copy",
        description="Land a session's commit from its worktree onto the checked-out branch, as "
        "`git cherry-pick` would (or --merge), or copy a session's files back outside git. "
        "Exit status: 0 landed, 1 refused and nothing changed (your uncommitted changes touch "
        "its files, a conflict, or a file changed since the session copied it), 2 bad input.",
    )
    land.add_argument("session_id", help="a session id or a unique prefix of one")
    land.add_argument("--workspace", type=Path, metavar="DIR", help="the repository (default: .)")
    how = land.add_mutually_exclusive_group()
    how.add_argument(
        "--merge", action="store_true", help="a merge commit of mao/ID instead of a new commit"
    )
    how.add_argument(
        "--leave",
        action="store_true",
        help="land nothing: keep the branch mao/ID for you to merge, remove its worktree",
    )
    clean = sub.add_parser(
        "clean",
        help="remove session worktrees (and mao/ branches) and copies: with no ID, those landed "
        "by hand or gone, listing the others",
    )
    clean.add_argument("session_id", nargs="?", help="one session's, landed or not")
    clean.add_argument("--all", action="store_true", help="every one of the workspace")
    clean.add_argument("--workspace", type=Path, metavar="DIR", help="the repository (default: .)")


def _verify(sub: Commands) -> None:
    verify = sub.add_parser(
        "verify",
        help="run the project's checks (type-check, build, tests, lint) on the current tree",
        description="Run the checks that verify applied files, without a session: the "
        "project's .mao/verify.yaml, else the checks detected from its own files, else the "
        "playbook's. Exit status: 0 no check failed, 1 a check failed, 2 bad input.",
    )
    _common(verify)
    verify.add_argument(
        "--detect", action="store_true", help="print what would run and why; run nothing"
    )
    verify.add_argument("--json", action="store_true", help="JSON on stdout (events when running)")
    verify.add_argument(
        "--workspace",
        type=Path,
        metavar="DIR",
        help="the project to verify (default: the current directory)",
    )
    verify.add_argument(
        "--playbook",
        default="develop",
        metavar="NAME",
        help="whose verify.yaml entry and shipped commands apply (default: develop)",
    )


def _models(sub: Commands) -> None:
    models = sub.add_parser(
        "models",
        help="list every model: provider, key, thinking, prices, their source and status",
        description="List the registry's models. --refresh first asks every provider with a "
        "key for the models it offers (exit 0: every one answered; 1: one could not be "
        "asked, or none has a key; 2: a configuration error).",
    )
    _common(models)
    models.add_argument(
        "--refresh",
        action="store_true",
        help="ask each provider with a key for its model list, store it for sessions, and "
        "report what differs from the registry",
    )


def _mcp(sub: Commands) -> None:
    mcp = sub.add_parser("mcp", help="MCP: the project's .mcp.json, and mao as an MCP server")
    mcp_sub = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND")
    mcp_config = mcp_sub.add_parser(
        "config", help="write ./.mcp.json (pal, context7), merge into it, or --check it"
    )
    mcp_config.add_argument(
        "--file", type=Path, default=Path(".mcp.json"), metavar="PATH", help="default ./.mcp.json"
    )
    mcp_config.add_argument(
        "--check", action="store_true", help="only validate the file; change nothing"
    )
    mcp_config.add_argument(
        "--with-mao", action="store_true", help="add mao itself too (`mao mcp serve`)"
    )
    mcp_config.add_argument(
        "--dry-run", action="store_true", help="print the merged file instead of writing it"
    )
    mcp_serve = mcp_sub.add_parser(
        "serve", help="mao as an MCP server on stdio: tools develop, qa, journal, session"
    )
    mcp_serve.add_argument(
        "--speed",
        type=_speed(zero_ok=True),
        default=1.0,
        metavar="X",
        help="simulator speed for tool calls with simulate: true (0: no pacing)",
    )
    _common(mcp_serve)


def _config(sub: Commands) -> None:
    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_sub.add_parser("check", help="validate the configuration and show provider keys")
    _common(check)
