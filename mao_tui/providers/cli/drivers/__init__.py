"""One stdout parser per command-line tool; :func:`parser_for` picks it by driver name."""

from __future__ import annotations

from mao_tui.providers.cli.drivers.base import LineParser
from mao_tui.providers.cli.drivers.claude import ClaudeParser
from mao_tui.providers.cli.drivers.codex import CodexParser
from mao_tui.providers.cli.drivers.gemini import GeminiParser
from mao_tui.settings.cli import CliDriver

_PARSERS: dict[CliDriver, type[LineParser]] = {
    "claude": ClaudeParser,
    "codex": CodexParser,
    "gemini": GeminiParser,
}


def parser_for(driver: CliDriver, tool: str) -> LineParser:
    """A fresh parser for one call; ``tool`` names the tool in error messages."""
    return _PARSERS[driver](tool)


__all__ = ["LineParser", "parser_for"]
