"""Provider clients, one per configured provider, built on first use with the key from the env;
with each provider's concurrency limit and its 429 cooldown, shared by every workstream."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mao_tui.engine.price_sources import DATABASE_MODULE
from mao_tui.providers.base import Provider
from mao_tui.settings.api_keys import NO_KEY, find_key
from mao_tui.settings.schema import Settings

# What each provider kind's first request imports; loaded in a thread by ProviderPool.warm.
SDK_MODULES: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic", "anthropic.types"),
    "openai": ("openai", "openai.types.responses", "openai.resources.responses.responses"),
    "openai_chat": ("openai", "openai.types.chat"),
    "gemini": ("google.genai", "google.genai.types"),
}

# The stream events' models that each SDK (pydantic, deferred) builds at its first event, on the
# event loop: ~300 ms for openai's Responses events, ~50 for anthropic's, ~70 for gemini's request
# and response types; and what anthropic's first request imports (its trace propagators). Built
# and imported in a thread by ProviderPool.warm.
SDK_MODELS: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic.types",),
    "openai": ("openai.types.responses",),
    "openai_chat": ("openai.types.chat",),
    "gemini": tuple(  # of its ~470 models (~0.1-0.6 s to build), those a streamed request uses
        f"google.genai.types:{name}"
        for name in (
            "GenerateContentConfig",
            "_GenerateContentParameters",
            "GenerateContentResponse",
            "Candidate",
            "Part",
            "Content",
            "UserContent",
            "ThinkingConfig",
            "HttpResponse",
            "GenerateContentResponseUsageMetadata",
        )
    ),
}
SDK_OPTIONAL: dict[str, tuple[str, ...]] = {"anthropic": ("opentelemetry.propagate",)}


def build_models_then_freeze(modules: list[str], loop: asyncio.AbstractEventLoop) -> None:
    """:func:`build_models`, then keep what they made out of garbage collections (on the loop).

    Only when they made something (the first session of the process): a freeze also keeps
    whatever garbage is not collected yet, for good, so none is done for nothing."""
    if build_models(modules):
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to keep
            loop.call_soon_threadsafe(gc.freeze)


def build_models(modules: list[str]) -> bool:
    """Build the pydantic models of these modules that are not built yet (of ``module:Name``,
    that one), and import the optional modules; whatever fails is left to the first request.
    Whether it imported or built anything."""
    from pydantic import BaseModel

    made = False
    for name in modules:
        try:
            module_name, _, only = name.partition(":")
            imported = module_name not in sys.modules
            module = importlib.import_module(module_name)
            made = made or imported
            values = [getattr(module, only)] if only else list(vars(module).values())
            for value in values:
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseModel)
                    and not value.__pydantic_complete__
                ):
                    value.model_rebuild(raise_errors=False)
                    made = True
        except Exception:  # an optional module missing, or a model only the SDK can build
            continue
    return made


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

    @property
    def env(self) -> Mapping[str, str]:
        """The environment the clients are built with (keys, PATH for CLI tools)."""
        return self._env

    def is_http_api(self, provider_id: str) -> bool:
        """An API the SDKs call over HTTP (not a CLI tool or PAL): it answers a bad model or
        key with a status at once."""
        return self._settings.registry.providers[provider_id].kind in SDK_MODULES

    def has_key(self, provider_id: str) -> bool:
        """True when the provider can be called: its key is set, or it needs none."""
        cfg = self._settings.registry.providers[provider_id]
        return not cfg.api_key_env or find_key(cfg.api_key_env, self._env) is not None

    def get(self, provider_id: str) -> tuple[Provider, asyncio.Semaphore]:
        """The client and its concurrency limit. Call only when ``has_key`` is true."""
        if provider_id not in self._clients:
            self._clients[provider_id] = self._build(provider_id)
        return self._clients[provider_id], self.limit(provider_id)

    def _build(self, provider_id: str) -> Provider:
        from mao_tui.providers.factory import build_provider

        cfg = self._settings.registry.providers[provider_id]
        key = find_key(cfg.api_key_env, self._env) if cfg.api_key_env else NO_KEY
        if key is None:
            raise LookupError(f"provider {provider_id!r} has no API key")
        return build_provider(cfg, key, env=self._env, workdir=self._workdir)

    async def warm(self) -> None:
        """Import the provider SDKs and build the keyed clients in a thread, before any request.

        Done on the event loop by the first requests, the imports took ~2.5 s here: the
        dashboard answered no key meanwhile, and under load other requests' first-event
        timeouts ran out while the loop was blocked.
        """
        kinds = {p.kind for p in self._settings.registry.providers.values()}
        modules = [m for kind in sorted(kinds) for m in SDK_MODULES.get(kind, ())]
        modules.append(DATABASE_MODULE)  # every attempt's cost is looked up in it (~0.2 s)
        missing = [m for m in modules if m not in sys.modules]
        if missing:
            await asyncio.to_thread(lambda: [importlib.import_module(m) for m in missing])
            # The SDKs' hundreds of thousands of objects live as long as the process: left in the
            # young generations, the next collection walked them all on the loop (a 140-200 ms
            # stall, as the first panels streamed). Frozen, like the app's own at start-up.
            gc.freeze()
        later = [
            m
            for kind in sorted(kinds)
            for m in (*SDK_MODELS.get(kind, ()), *SDK_OPTIONAL.get(kind, ()))
        ]
        if later:  # not awaited: the first events come seconds later, after the plan
            threading.Thread(
                target=build_models_then_freeze,
                args=(later, asyncio.get_running_loop()),
                name="mao-sdk-models",
                daemon=True,
            ).start()
        await self.prebuild(frozenset(SDK_MODULES))

    async def prebuild(self, kinds: frozenset[str]) -> None:
        """Build the clients of every keyed provider of these kinds in a thread, before any
        request: an SDK client's construction (SSL context, HTTP pool) took 30–130 ms each here,
        time the dashboard would not answer keys if it happened on the event loop."""
        wanted = [
            pid
            for pid, cfg in self._settings.registry.providers.items()
            if cfg.kind in kinds and pid not in self._clients and self.has_key(pid)
        ]
        if not wanted:
            return
        built = await asyncio.to_thread(lambda: {pid: self._build(pid) for pid in wanted})
        for pid, client in built.items():
            if pid in self._clients:  # built meanwhile by a request on the loop
                await client.aclose()
            else:
                self._clients[pid] = client

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
