"""Where the configuration comes from: its layers and the files the loader reads in each.

Kept apart from :mod:`mao_tui.settings.loader` (YAML and pydantic) so that finding the files costs
no import: :mod:`mao_tui.settings.digest` hashes them before the first frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

FileKind = Literal["models", "routing", "keys", "verify", "playbook", "prompt"]
_TOP_FILES: tuple[tuple[str, FileKind], ...] = (
    ("models.yaml", "models"),
    ("routing.yaml", "routing"),
    ("keys.yaml", "keys"),
    ("verify.yaml", "verify"),
)


class ConfigError(Exception):
    """One or more configuration problems, each already phrased as ``file:line: field: what``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def shipped_config_dir() -> Path:
    """The defaults: ``mao_tui/_defaults`` in a wheel, the repo's ``config/`` in a checkout."""
    # the package's folder, as importlib.resources.files("mao_tui") gives it (~10 ms to import)
    packaged = Path(__file__).parent.parent / "_defaults"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def config_layers(project_dir: Path, cli_dir: Path | None = None) -> list[Path]:
    import platformdirs

    layers = [shipped_config_dir(), Path(platformdirs.user_config_dir("mao")), project_dir / ".mao"]
    env_dir = os.environ.get("MAO_CONFIG_DIR")
    if env_dir:
        layers.append(Path(env_dir))
    if cli_dir is not None:
        if not cli_dir.is_dir():
            raise ConfigError([f"{cli_dir}: --config expects a directory; none is there"])
        layers.append(cli_dir)
    return layers


def layer_files(layer: Path) -> Iterator[tuple[FileKind, Path]]:
    """Every file of one layer the loader reads, in the order it reads them."""
    if not layer.is_dir():
        return
    for name, kind in _TOP_FILES:
        if (layer / name).is_file():
            yield kind, layer / name
    pb_dir = layer / "playbooks"
    if pb_dir.is_dir():
        for f in sorted(pb_dir.glob("*.yaml")):
            yield "playbook", f
    prompt_dir = layer / "prompts"
    if prompt_dir.is_dir():
        for f in sorted(prompt_dir.rglob("*.md")):
            yield "prompt", f
