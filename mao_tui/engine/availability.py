"""Whether a model can run now, and if not why: retired, its CLI tool or PAL server not on PATH,
or its provider without an API key. The one place that says so: the model picker, the plan
review, reruns and the check before a session starts all ask here."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from datetime import date

from mao_tui.settings.schema import Settings


def unavailable_reason(
    settings: Settings, model_id: str, env: Mapping[str, str], today: date
) -> str | None:
    """None when ``model_id`` can be called with ``env`` on ``today``; else a short reason
    (``retired 2026-11-30``, ``claude not on PATH``, ``no key: set ANTHROPIC_API_KEY``)."""
    from mao_tui.providers.cli.bridge import find_executable
    from mao_tui.settings.api_keys import find_key

    model = settings.model(model_id)
    if model.retires is not None and model.retired(today):
        return f"retired {model.retires.isoformat()}"
    cfg = settings.registry.providers[model.provider]
    if cfg.kind == "cli" and cfg.cli is not None:
        if find_executable(cfg.cli.executable, env) is None:
            return f"{cfg.cli.executable} not on PATH"
        return None
    if cfg.kind == "pal":
        from mao_tui.settings.pal import PalSettings

        command = (cfg.pal or PalSettings()).command[0]
        path = env.get("PATH")
        found = shutil.which(command, path=path) if path else None
        return None if found else f"{command} not on PATH"
    if cfg.api_key_env and find_key(cfg.api_key_env, env) is None:
        return f"no key: set {' or '.join(cfg.api_key_env)}"
    return None


def missing_keys(settings: Settings, model_ids: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """The first key variable of each provider among ``model_ids`` that has none set, in order."""
    from mao_tui.settings.api_keys import find_key

    names: list[str] = []
    for model_id in model_ids:
        cfg = settings.registry.providers[settings.model(model_id).provider]
        missing = cfg.api_key_env and find_key(cfg.api_key_env, env) is None
        if missing and cfg.api_key_env[0] not in names:
            names.append(cfg.api_key_env[0])
    return names
