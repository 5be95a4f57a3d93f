"""One provider per configured provider kind; each SDK is imported only when first needed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from mao_tui.providers.base import Provider
from mao_tui.settings.schema import ProviderConfig


class _ProviderClass(Protocol):
    def __call__(
        self, *, api_key: str, base_url: str | None, timeout_s: float, api_version: str | None
    ) -> Provider: ...


def build_provider(
    config: ProviderConfig,
    api_key: str,
    *,
    env: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> Provider:
    """``env`` and ``workdir`` are for a CLI tool: the environment its allowed variables come
    from (default: mao's own) and the directory it runs in (default: the current one)."""
    cls: _ProviderClass
    if config.kind == "cli":
        from mao_tui.providers.cli.bridge import CliProvider

        assert config.cli is not None  # the schema requires it for kind cli
        return CliProvider(config.cli, env=os.environ if env is None else env, workdir=workdir)
    if config.kind == "pal":
        from mao_tui.providers.pal.provider import PalProvider
        from mao_tui.settings.pal import PalSettings

        return PalProvider(
            config.pal or PalSettings(), env=os.environ if env is None else env, workdir=workdir
        )
    if config.kind == "anthropic":
        from mao_tui.providers.sdk.anthropic_api import AnthropicProvider as cls
    elif config.kind == "openai":
        from mao_tui.providers.sdk.openai_api import OpenAIResponsesProvider as cls
    elif config.kind == "openai_chat":
        from mao_tui.providers.sdk.openai_api import OpenAIChatProvider as cls
    elif config.kind == "gemini":
        from mao_tui.providers.sdk.gemini_api import GeminiProvider as cls
    else:
        raise ValueError(f"unknown provider kind {config.kind!r}")
    return cls(
        api_key=api_key,
        base_url=config.base_url,
        timeout_s=config.resolved_timeouts().read_s,  # each request sets its own as well
        api_version=config.api_version,
    )
