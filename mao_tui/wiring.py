"""Assemble one session from the command line's choices: configuration, store, simulator, engine.

This is the only place that knows all the layers; the CLI and the TUI call it, nothing below does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mao_tui.domain import EventSink, SessionFinished
from mao_tui.engine.session import SessionRequest
from mao_tui.settings.loader import config_layers, load_settings
from mao_tui.settings.schema import Settings

SIM_KEY = "sim-key-not-secret"
# Stream gaps from the simulator are ~50 ms, so a stall is a stall after this long.
SIM_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Launch:
    """Everything a session needs that is not the task itself."""

    project_dir: Path
    config_dir: Path | None
    db_path: Path
    simulate: bool = False
    speed: float = 1.0
    faults: bool = True  # the demo's scripted failure; off for plain --simulate runs

    def layers(self) -> list[Path]:
        return config_layers(self.project_dir, self.config_dir)

    def settings(self, overlay: dict[str, Any] | None = None) -> Settings:
        return load_settings(self.layers(), overlay)


def simulator_overlay(settings: Settings, base_url: str) -> dict[str, Any]:
    """A configuration layer pointing every provider at the simulator, as a user would a proxy."""
    providers: dict[str, Any] = {}
    for pid, cfg in settings.registry.providers.items():
        url = f"{base_url}/v1" if cfg.kind in ("openai", "openai_chat") else base_url
        providers[pid] = {"base_url": url, "timeout_s": SIM_TIMEOUT_S}
    return {"providers": providers}


def simulator_env(settings: Settings) -> dict[str, str]:
    return {p.api_key_env[0]: SIM_KEY for p in settings.registry.providers.values()}


async def run_session(
    launch: Launch,
    req: SessionRequest,
    sinks: Sequence[EventSink],
    *,
    env: Mapping[str, str] | None = None,
) -> SessionFinished:
    """Run one session to its end, persisting it as it goes. Cleans up on every exit path."""
    from mao_tui.engine.planner import rule_based_plan
    from mao_tui.engine.pool import ProviderPool
    from mao_tui.engine.session import SessionEngine
    from mao_tui.store import Store

    settings = launch.settings()
    store = await Store.open(launch.db_path)
    simulator = None
    pool: ProviderPool | None = None
    store_sink = store.sink()
    try:
        await store.mark_interrupted()
        if launch.simulate:
            from mao_tui.simulator.faults import demo_faults
            from mao_tui.simulator.server import Simulator

            simulator = Simulator(speed=launch.speed, faults=demo_faults() if launch.faults else ())
            await simulator.start()
            settings = launch.settings(simulator_overlay(settings, simulator.base_url))
            env = simulator_env(settings)
        pool = ProviderPool(settings, os.environ if env is None else env)
        engine = SessionEngine(settings, pool, [store_sink, *sinks])
        return await engine.run(req, rule_based_plan(settings, req.playbook))
    finally:
        if pool is not None:
            await pool.aclose()
        if simulator is not None:
            await simulator.stop()
        await store_sink.aclose()
        await store.close()
