"""The parser `mao` builds for one command line parses it as the whole parser does."""

from __future__ import annotations

import argparse

import pytest

from mao_tui.cli.parser import build_parser, command_of

LINES = [
    [],
    ["--db", "x.db"],
    ["demo"],
    ["demo", "--headless", "--json", "--speed", "3", "--apply"],
    ["develop", "Add search", "--spec", "PRD.md", "--sections", "2,3", "--simulate"],
    ["run", "journal", "A week of work", "--simulate"],
    ["qa", "--simulate"],
    ["journal", "--since", "2026-11-01"],
    ["sessions", "--limit", "5"],
    ["sessions", "show", "abc"],
    ["land", "abc"],
    ["clean", "abc"],
    ["verify", "."],
    ["models"],
    ["mcp", "config"],
    ["config", "check"],
    ["bench"],
]


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_every_command_of_the_whole_parser_can_be_built_alone() -> None:
    names = _subcommands(build_parser())
    assert names == {line[0] for line in LINES if line and not line[0].startswith("-")}
    for name in names:
        assert command_of([name, "--help"]) == name
        alone = _subcommands(build_parser(name))
        assert name in alone and len(alone) <= 2  # land and clean are added together


@pytest.mark.parametrize("argv", LINES, ids=lambda argv: " ".join(argv) or "(none)")
def test_one_command_parses_as_the_whole_parser_does(argv: list[str]) -> None:
    whole = build_parser().parse_known_args(argv)
    assert build_parser(command_of(argv)).parse_known_args(argv) == whole


def test_options_before_the_command_take_the_whole_parser() -> None:
    assert command_of(["--db", "x.db", "demo"]) is None
    assert command_of(["--version"]) is None
    assert command_of([]) == ""
