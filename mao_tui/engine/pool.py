"""Provider clients, one per configured provider, built on first use with the key from the env;
with each provider's concurrency limit and its 429 cooldown, shared by every workstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mao_tui.providers.base import Provider
from mao_tui.settings.schema import Settings

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


class ProviderPool:
    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        workdir: Path | None = None,  # where CLI tools run: the session's project directory
    ) -> None:
        self._settings = settings
        self._env = env
        self._workdir = workdir
        self._monotonic = monotonic
        self._clients: dict[str, Provider] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._cooldown_until: dict[str, float] = {}

    def needs_key(self, provider_id: str) -> bool:
        return bool(self._settings.registry.providers[provider_id].api_key_env)

    def has_key(self, provider_id: str) -> bool:
        """True when the provider can be called: its key is set, or it needs none."""
        cfg = self._settings.registry.providers[provider_id]
        return not cfg.api_key_env or find_key(cfg.api_key_env, self._env) is not None

    def get(self, provider_id: str) -> tuple[Provider, asyncio.Semaphore]:
        """The client and its concurrency limit. Call only when ``has_key`` is true."""
        if provider_id not in self._clients:
            from mao_tui.providers.factory import build_provider

            cfg = self._settings.registry.providers[provider_id]
            key = find_key(cfg.api_key_env, self._env) if cfg.api_key_env else NO_KEY
            if key is None:
                raise LookupError(f"provider {provider_id!r} has no API key")
            self._clients[provider_id] = build_provider(
                cfg, key, env=self._env, workdir=self._workdir
            )
        return self._clients[provider_id], self.limit(provider_id)

    def limit(self, provider_id: str) -> asyncio.Semaphore:
        """At most ``max_concurrency`` requests in flight to the provider; others queue."""
        if provider_id not in self._limits:
            cfg = self._settings.registry.providers[provider_id]
            self._limits[provider_id] = asyncio.Semaphore(cfg.max_concurrency)
        return self._limits[provider_id]

    def start_cooldown(self, provider_id: str, seconds: float) -> bool:
        """Hold new requests to the provider for ``seconds``; False if already held longer."""
        until = self._monotonic() + seconds
        if until <= self._cooldown_until.get(provider_id, 0.0):
            return False
        self._cooldown_until[provider_id] = until
        return True

    def cooldown_remaining(self, provider_id: str) -> float:
        return max(self._cooldown_until.get(provider_id, 0.0) - self._monotonic(), 0.0)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()
