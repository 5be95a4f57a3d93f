"""Provider clients, one per configured provider, built on first use with the key from the env."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from mao_tui.providers.base import Provider
from mao_tui.settings.schema import Settings


def find_key(env_names: list[str], env: Mapping[str, str]) -> str | None:
    """The first of the named environment variables that is set and not blank."""
    for name in env_names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


class ProviderPool:
    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        self._settings = settings
        self._env = env
        self._clients: dict[str, Provider] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}

    def has_key(self, provider_id: str) -> bool:
        cfg = self._settings.registry.providers[provider_id]
        return find_key(cfg.api_key_env, self._env) is not None

    def get(self, provider_id: str) -> tuple[Provider, asyncio.Semaphore]:
        """The client and its concurrency limit. Call only when ``has_key`` is true."""
        if provider_id not in self._clients:
            from mao_tui.providers.factory import build_provider

            cfg = self._settings.registry.providers[provider_id]
            key = find_key(cfg.api_key_env, self._env)
            if key is None:
                raise LookupError(f"provider {provider_id!r} has no API key")
            self._clients[provider_id] = build_provider(cfg, key)
            self._limits[provider_id] = asyncio.Semaphore(cfg.max_concurrency)
        return self._clients[provider_id], self._limits[provider_id]

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()
