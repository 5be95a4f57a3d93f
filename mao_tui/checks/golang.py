"""``go.mod``: ``go build ./...`` (when it fails the tests cannot compile, so they are skipped),
``go test ./...``, and ``go vet ./...`` as the lint."""

from __future__ import annotations

from pathlib import Path

from mao_tui.checks.found import Found
from mao_tui.checks.model import ProjectFileError, check, read_text


def detect(root: Path) -> Found:
    path = root / "go.mod"
    if not path.is_file():
        return Found()
    module = _module(path)
    source = f"go.mod module {module}"
    hint = "go is not installed (https://go.dev/dl)"
    return Found(
        checks=[
            check(
                "go build",
                ["go", "build", "./..."],
                "build",
                source,
                stop_on_failure=True,
                hint=hint,
            ),
            check("go test", ["go", "test", "./..."], "test", source, hint=hint),
            check("go vet", ["go", "vet", "./..."], "lint", source, hint=hint),
        ]
    )


def _module(path: Path) -> str:
    """The ``module`` directive: go.mod is line-oriented, one directive per line."""
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        words = raw.split("//", 1)[0].split()
        if words and words[0] == "module":
            if len(words) != 2:
                raise ProjectFileError(path, "module: expected one module path", number)
            return words[1].strip('"')
    raise ProjectFileError(path, "no module directive (expected `module example.com/name`)")
