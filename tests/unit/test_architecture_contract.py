"""The layer list in docs/architecture.md is the import-linter contract's, so it cannot go stale."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [" | ".join(part.strip() for part in layer.split("|")) for layer in contract["layers"]]


def _documented_layers() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    match = re.search(r"<!-- layers: generated from pyproject.toml -->\n```\n(.*?)```", text, re.S)
    assert match, "docs/architecture.md lost its layer block"
    return match.group(1).strip().splitlines()


def test_the_documented_layers_are_the_contract() -> None:
    assert _documented_layers() == _contract_layers()


def test_every_package_is_in_a_layer_or_apart() -> None:
    packages = {p.name for p in (ROOT / "mao_tui").iterdir() if (p / "__init__.py").exists()}
    layered = {
        name.strip().removeprefix("mao_tui.")
        for layer in _contract_layers()
        for name in layer.split("|")
    }
    apart = {"simulator", "samples"}
    assert packages - apart == layered


def test_no_module_sits_at_the_package_root() -> None:
    loose = {p.name for p in (ROOT / "mao_tui").glob("*.py")}
    assert loose == {"__init__.py", "__main__.py"}
