"""A ``Makefile``'s ``check`` and ``test`` targets, when no other rule found a test check (a
Makefile's ``test`` usually wraps the same tool)."""

from __future__ import annotations

import re
from pathlib import Path

from mao_tui.checks.found import Found
from mao_tui.checks.model import check, read_text

MAKEFILES = ("GNUmakefile", "makefile", "Makefile")  # the order make itself reads them in
TARGETS = ("check", "test")
# A rule line: the target, one colon (`::` too), not an assignment (`:=`, `::=`).
_RULE = re.compile(r"^(?P<targets>[A-Za-z0-9_.\- ]+?)\s*::?(?!=)")


def detect(root: Path) -> Found:
    path = next((root / name for name in MAKEFILES if (root / name).is_file()), None)
    if path is None:
        return Found()
    targets: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        match = _RULE.match(line)
        if match is None or line.startswith("\t"):
            continue
        for target in match["targets"].split():
            if target in TARGETS:
                targets.setdefault(target, number)
    found = Found()
    for target in TARGETS:
        if target in targets:
            found.checks.append(
                check(
                    f"make {target}",
                    ["make", target],
                    "test",
                    f"{path.name}:{targets[target]} target {target}",
                    hint="make is not installed",
                )
            )
    return found
