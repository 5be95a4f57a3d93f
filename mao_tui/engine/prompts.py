"""Prompt rendering with ``$name`` placeholders (string.Template); code in them stays literal."""

from __future__ import annotations

from string import Template

from mao_tui.settings.schema import Settings


def render(settings: Settings, template_path: str, values: dict[str, str]) -> str:
    return Template(settings.prompts[template_path]).safe_substitute(values)
