"""What one stack's detection returns: the checks it found and notes on what it passed over."""

from __future__ import annotations

from dataclasses import dataclass, field

from mao_tui.settings.schema import VerificationCommand


@dataclass
class Found:
    checks: list[VerificationCommand] = field(default_factory=list)
    notes: list[str] = field(
        default_factory=list
    )  # e.g. "package.json scripts.test: npm's placeholder"
