"""Where an API key comes from: the first named environment variable that is set. Keys are read
from the environment only, never stored."""

from __future__ import annotations

from collections.abc import Mapping

# Sent to a keyless OpenAI-compatible server (the SDK refuses an empty key), so that a real
# OPENAI_API_KEY in the environment is never sent to a local server.
NO_KEY = "no-key-needed"


def find_key(env_names: list[str], env: Mapping[str, str]) -> str | None:
    """The first of the named environment variables that is set and not blank."""
    for name in env_names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None
