"""verify.yaml: a project's verification commands, by playbook, replacing the playbook's own.

Usually in the project's ``.mao/verify.yaml``; any configuration layer may hold one, later layers
win playbook by playbook::

    develop:
      - name: tests
        argv: [python, -m, pytest, -q]
        timeout_s: 600
      - {name: types, argv: [npx, tsc, --noEmit], env: {CI: "1"}}
"""

from __future__ import annotations

from pydantic import RootModel

from mao_tui.settings.schema import VerificationCommand


class VerifyFile(RootModel[dict[str, list[VerificationCommand]]]):
    pass


def unknown_playbooks(
    verification: dict[str, list[VerificationCommand]], playbooks: list[str]
) -> list[tuple[tuple[str, ...], str]]:
    """(location, message) for every playbook verify.yaml names that does not exist."""
    known = ", ".join(sorted(playbooks))
    return [
        ((name,), f"unknown playbook {name!r}; known playbooks: {known}")
        for name in verification
        if name not in playbooks
    ]
