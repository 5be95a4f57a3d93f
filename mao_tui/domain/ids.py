"""Identifiers and timestamps: sortable session and attempt ids, the current UTC time."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

__all__ = ["FRESH_WORKSPACE_PREFIX", "SYNTHESIS_KEY", "new_id", "now"]

# The name of the temporary directory `mao demo` applies its files in (without --workspace).
FRESH_WORKSPACE_PREFIX = "mao-demo-workspace-"

# The synthesis lane's key, whatever the plan calls it (a plain string: the dashboard's first
# frame needs it, not the plan's pydantic models).
SYNTHESIS_KEY = "synthesis"


def now() -> datetime:
    return datetime.now(UTC)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32; sorts by time."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))
