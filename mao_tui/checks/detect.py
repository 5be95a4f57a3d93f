"""Every stack's rules over one project directory, the checks in run order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.checks import golang, make, node, python, rust
from mao_tui.checks.found import Found
from mao_tui.checks.model import KIND_ORDER
from mao_tui.settings.schema import VerificationCommand

# (stack, its rules); the Makefile's targets only when these found no test check.
STACKS: tuple[tuple[str, Callable[[Path], Found]], ...] = (
    ("node", node.detect),
    ("python", python.detect),
    ("rust", rust.detect),
    ("go", golang.detect),
)


@dataclass
class Detection:
    checks: list[VerificationCommand] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def detect_checks(root: Path) -> Detection:
    """The checks ``root``'s own files define, typecheck → build → test → lint (stable within a
    kind); ProjectFileError for a project file that cannot be read."""
    found = Detection()
    for _stack, rules in STACKS:
        stack = rules(root)
        found.checks.extend(stack.checks)
        found.notes.extend(stack.notes)
    if not any(c.kind == "test" for c in found.checks):
        made = make.detect(root)
        found.checks.extend(made.checks)
        found.notes.extend(made.notes)
    found.checks = _unique_names(sorted(found.checks, key=lambda c: KIND_ORDER[c.kind]))
    return found


def _unique_names(checks: list[VerificationCommand]) -> list[VerificationCommand]:
    """Two stacks may both name a check ``test``: the later one gets its tool in the name."""
    seen: set[str] = set()
    out = []
    for c in checks:
        name = c.name
        if name in seen:
            name = f"{c.name} ({c.argv[0].rsplit('/', 1)[-1]})"
        seen.add(name)
        out.append(c if name == c.name else c.model_copy(update={"name": name}))
    return out
