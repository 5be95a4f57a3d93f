"""Each provider's model list through its official SDK, every page of it:
Anthropic and OpenAI ``client.models.list()`` (``GET /v1/models``), Gemini
``client.aio.models.list()``. A failure comes back classified, with the key masked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from mao_tui.discovery.lists import OfferedModel, ProviderList, endpoint_of
from mao_tui.providers.base import ProviderError
from mao_tui.providers.errors import classify
from mao_tui.settings.schema import ProviderConfig

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Fetched:
    """One provider's answer: its list, or why there is none."""

    provider: str
    listing: ProviderList | None = None
    error: ProviderError | None = None


async def fetch_all(
    providers: Mapping[str, tuple[ProviderConfig, str]], env: Mapping[str, str]
) -> list[Fetched]:
    """Every provider at once: ``providers`` maps a provider id to its configuration and key."""
    return list(
        await asyncio.gather(*(fetch(pid, cfg, key, env) for pid, (cfg, key) in providers.items()))
    )


async def fetch(provider_id: str, cfg: ProviderConfig, key: str, env: Mapping[str, str]) -> Fetched:
    try:
        if cfg.kind == "anthropic":
            models = await _anthropic(cfg, key)
        elif cfg.kind in ("openai", "openai_chat"):
            models = await _openai(cfg, key)
        elif cfg.kind == "gemini":
            models = await _gemini(cfg, key)
        else:
            raise ValueError(f"kind {cfg.kind!r} has no model list")
    except Exception as exc:
        mapped = classify(exc, secrets=(key,))
        if mapped is None:
            raise
        return Fetched(provider_id, error=mapped)
    listing = ProviderList(
        provider=provider_id,
        kind=cfg.kind,
        endpoint=endpoint_of(cfg, env),
        fetched_at=datetime.now(UTC),
        models=models,
    )
    return Fetched(provider_id, listing=listing)


async def _anthropic(cfg: ProviderConfig, key: str) -> list[OfferedModel]:
    from anthropic import AsyncAnthropic

    client = AsyncAnthropic(api_key=key, base_url=cfg.base_url, timeout=TIMEOUT_S, max_retries=1)
    try:
        return [
            OfferedModel(
                id=m.id,
                display_name=m.display_name,
                created=m.created_at,
                lifecycle=_field(m, "lifecycle"),
                retires=_day(_field(m, "retires_at")),
                input_token_limit=_field(m, "max_input_tokens"),
                output_token_limit=_field(m, "max_tokens"),
            )
            async for m in client.models.list()
        ]
    finally:
        await client.close()


async def _openai(cfg: ProviderConfig, key: str) -> list[OfferedModel]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=key, base_url=cfg.base_url, timeout=TIMEOUT_S, max_retries=1)
    try:
        offered = []
        async for m in client.models.list():
            shutdown = _day(_field(m, "shutdown_date"))
            offered.append(
                OfferedModel(
                    id=m.id,
                    created=datetime.fromtimestamp(m.created, UTC) if m.created else None,
                    lifecycle="deprecated" if shutdown else None,
                    retires=shutdown,
                )
            )
        return offered
    finally:
        await client.close()


async def _gemini(cfg: ProviderConfig, key: str) -> list[OfferedModel]:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        base_url=cfg.base_url, api_version=cfg.api_version, timeout=int(TIMEOUT_S * 1000)
    )
    client = genai.Client(api_key=key, vertexai=False, http_options=options)
    try:
        return [
            OfferedModel(
                id=(m.name or "").removeprefix("models/"),
                display_name=m.display_name,
                input_token_limit=m.input_token_limit or None,
                output_token_limit=m.output_token_limit or None,
            )
            async for m in await client.aio.models.list()
            if m.name
        ]
    finally:
        await client.aio.aclose()
        client.close()


def _field(obj: object, name: str) -> Any:
    """A field an older SDK may not declare (then it is in ``model_extra``, or absent)."""
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None) or {}
        value = extra.get(name)
    return value


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
