"""``Cargo.toml``: ``cargo check`` (every target; when it fails the tests cannot compile, so they
are skipped) then ``cargo test``; ``--workspace`` for a workspace."""

from __future__ import annotations

from pathlib import Path

from mao_tui.checks.found import Found
from mao_tui.checks.model import ProjectFileError, check
from mao_tui.checks.toml_file import load_toml, table


def detect(root: Path) -> Found:
    path = root / "Cargo.toml"
    if not path.is_file():
        return Found()
    data = load_toml(path)
    package, workspace = table(data, "package"), table(data, "workspace")
    if package is None and workspace is None:
        raise ProjectFileError(path, "neither a [package] nor a [workspace] table")
    scope = ["--workspace"] if workspace is not None else []
    key = "[workspace]" if workspace is not None else "[package]"
    hint = "cargo is not installed (https://rustup.rs)"
    return Found(
        checks=[
            check(
                "cargo check",
                ["cargo", "check", *scope, "--all-targets"],
                "typecheck",
                f"Cargo.toml {key}",
                stop_on_failure=True,
                hint=hint,
            ),
            check("cargo test", ["cargo", "test", *scope], "test", f"Cargo.toml {key}", hint=hint),
        ]
    )
