"""The key bindings a user may remap, by id, with their default keys.

``keys.yaml`` in any configuration layer maps ids to keys (``rerun: ctrl+r``; several keys
separated by commas); later layers win id by id. The TUI builds every binding from this table, so
an id here is exactly an id there.
"""

from __future__ import annotations

import re

DEFAULT_KEYS: dict[str, str] = {
    # everywhere
    "quit": "q",
    "quit-now": "ctrl+c",
    "help": "question_mark,f1",
    "history": "h,f3",  # F3 and F4 also work while typing in a field
    "new-session": "n,f4",
    # the dashboard
    "rerun": "r",
    "rerun-model": "m",
    "cancel": "x",
    "resynthesize": "s",
    "toggle-thinking": "t",
    "maximize-panel": "f",
    "attempts": "A",  # shift+a: `a` applies the synthesis's files
    "compare": "c",  # two answers of the row side by side; pick the synthesis's
    "race": "R",
    "export": "e",
    "apply": "a",
    "fix": "F",
    "land": "L",  # a worktree session's commit onto the checked-out branch, as `mao land`
    "qa-report": "g",
    "ledger": "l",  # the ensemble ledger of a session's candidate races
    "back": "escape",
    # home and history
    "start": "f5",
    "search": "slash",
    "refresh": "f2",
}

_KEY = re.compile(r"^[A-Za-z0-9_+\-]+$|^.$")


def key_problem(keys: str) -> str | None:
    """Why ``keys`` is not a key list (``"r"``, ``"ctrl+r,f5"``), or None when it is."""
    parts = [part.strip() for part in keys.split(",")]
    if not keys.strip() or any(not part for part in parts):
        return f"expected one key or several separated by commas, e.g. 'ctrl+r,f5' (got {keys!r})"
    bad = [part for part in parts if not _KEY.match(part)]
    if bad:
        return (
            f"not a key name: {bad[0]!r}; use Textual key names such as 'r', 'ctrl+r', 'f5', "
            "'escape', 'question_mark'"
        )
    return None


def keymap_problems(keybindings: dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    """(location, message) for every unknown id or malformed key list."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for binding_id, keys in keybindings.items():
        loc = ("keybindings", binding_id)
        if binding_id not in DEFAULT_KEYS:
            known = ", ".join(sorted(DEFAULT_KEYS))
            problems.append((loc, f"unknown binding id {binding_id!r}; known ids: {known}"))
        elif (problem := key_problem(keys)) is not None:
            problems.append((loc, problem))
    return problems
