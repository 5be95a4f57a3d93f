"""Assemble one session from the command line's choices: configuration, store, simulator, engine.

This is the only place that knows all the layers; the CLI and the TUI call it, nothing below does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mao_tui.settings.layers import config_layers

if TYPE_CHECKING:
    from mao_tui.domain import EventSink, SessionFinished
    from mao_tui.engine.pool import ProviderPool
    from mao_tui.engine.request import SessionRequest
    from mao_tui.settings.digest import Preview
    from mao_tui.settings.schema import Settings
    from mao_tui.simulator.faults import FaultRule
    from mao_tui.store import Store, StoreSink

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
    max_parallel: int | None = None  # workstreams running at once (None: all that are ready)
    _cache: dict[str, Settings] = field(default_factory=dict, compare=False, repr=False)
    sim_tokens_per_s: dict[str, float] | None = None  # per-model simulator speeds (tests, bench)
    sim_failing_first: bool = False  # the simulated first synthesis fails its tests (fix loop)
    workspace: Path | None = None  # where files are applied and verified (None: project_dir)
    fix_rounds: int | None = None  # the fix loop's bound (None: the playbook's fix.max_rounds)
    # Headless --apply works in a git worktree on mao/<id> (outside git, a temporary copy),
    # landed only by `mao land` (service/isolation.py); --in-place writes into the workspace.
    # --worktree insists on git; --with-uncommitted starts from the user's uncommitted changes.
    worktree: bool = False
    with_uncommitted: bool = False
    in_place: bool = False
    sim_faults: tuple[FaultRule, ...] | None = None  # with faults on: these, not the demo's
    # The demo: without --workspace, files are applied in a fresh temporary directory, made on
    # first use, never in the directory mao was started in (the user's checkout).
    fresh_workspace: bool = False
    _fresh: list[Path] = field(default_factory=list, compare=False, repr=False)

    @property
    def workspace_dir(self) -> Path:
        if self.workspace is not None:
            return self.workspace
        if self.fresh_workspace:
            if not self._fresh:
                import tempfile

                from mao_tui.domain import FRESH_WORKSPACE_PREFIX

                self._fresh.append(Path(tempfile.mkdtemp(prefix=FRESH_WORKSPACE_PREFIX)))
            return self._fresh[0]
        return self.project_dir

    def layers(self) -> list[Path]:
        return config_layers(self.project_dir, self.config_dir)

    def settings(self) -> Settings:
        """The validated configuration, read once per Launch (and its copies)."""
        if "settings" not in self._cache:
            from mao_tui.settings.loader import load_settings

            self._cache["settings"] = load_settings(self.layers())
        return self._cache["settings"]

    def preview(self) -> Preview:
        """What Home's first frame needs from the configuration: remembered from the last full
        validation of the same files (``settings.digest``), else validated now (ConfigError)."""
        from mao_tui.settings.digest import Preview, remember, remembered

        key, preview = remembered(self.layers())
        if preview is None:
            preview = Preview.of(self.settings())
            remember(key, preview)
        return preview

    def remembered(self) -> tuple[str | None, Preview | None]:
        """This configuration's digest, and what its last full validation remembered (None when
        it has changed since, or never validated): reads the files, validates nothing."""
        from mao_tui.settings.digest import remembered

        return remembered(self.layers())

    def remember_checked(self, key: str | None, before: Preview | None, name: str) -> None:
        """After a full validation under digest ``key`` (taken before it) and every check of the
        fixed request ``name`` passed: the next run of it may paint before checking again."""
        from mao_tui.settings.digest import Preview, remember

        checked = {*(before.checked if before is not None else []), name}
        remember(key, Preview.of(self.settings(), sorted(checked)))

    def with_settings(self, settings: Settings, **changes: Any) -> Launch:
        """A copy with ``changes`` whose configuration is ``settings``, already validated (a
        caller that adjusts it: `mao bench` verifies with the task's tests)."""
        return replace(self, _cache={"settings": settings}, **changes)


def simulator_overlay(settings: Settings, base_url: str) -> dict[str, Any]:
    """A configuration layer pointing every provider at the simulator, as a user would a proxy."""
    providers: dict[str, Any] = {}
    for pid, cfg in settings.registry.providers.items():
        if cfg.kind in ("cli", "pal"):
            continue  # a CLI tool or PAL is no HTTP client of ours; a simulated session
            # gives a CLI tool no PATH, and PAL keeps the endpoints its own configuration names
        url = f"{base_url}/v1" if cfg.kind in ("openai", "openai_chat") else base_url
        providers[pid] = {"base_url": url, "timeout_s": SIM_TIMEOUT_S}
    return {"providers": providers}


def pointed_at_simulator(settings: Settings, base_url: str) -> Settings:
    """``settings`` with :func:`simulator_overlay` applied in memory: the configuration files
    are not read a second time."""
    changes = simulator_overlay(settings, base_url)["providers"]
    providers = {
        pid: cfg.model_copy(update=changes[pid]) if pid in changes else cfg
        for pid, cfg in settings.registry.providers.items()
    }
    registry = settings.registry.model_copy(update={"providers": providers})
    return settings.model_copy(update={"registry": registry})


def simulator_env(settings: Settings) -> dict[str, str]:
    providers = settings.registry.providers.values()
    return {p.api_key_env[0]: SIM_KEY for p in providers if p.api_key_env}


@dataclass
class Resources:
    """What one session runs on: the store, its sink, the provider pool, the final settings."""

    settings: Settings
    store: Store
    store_sink: StoreSink
    pool: ProviderPool


@asynccontextmanager
async def session_resources(
    launch: Launch,
    project_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    simulate: bool | None = None,
    faults: bool | None = None,
) -> AsyncIterator[Resources]:
    """Open the store (marking dead sessions interrupted), start the simulator when simulating
    (pointing every provider at it), build the provider pool; close all of it on every exit."""
    from mao_tui.engine.pool import ProviderPool
    from mao_tui.store import Store

    simulate = launch.simulate if simulate is None else simulate
    faults = launch.faults if faults is None else faults
    settings = launch.settings()
    store = await Store.open(launch.db_path)
    simulator = None
    pool: ProviderPool | None = None
    store_sink = store.sink()
    try:
        await store.mark_interrupted()
        if simulate:
            from mao_tui.simulator.faults import demo_faults
            from mao_tui.simulator.server import Simulator

            rules = demo_faults() if launch.sim_faults is None else launch.sim_faults
            simulator = Simulator(
                speed=launch.speed,
                faults=rules if faults else (),
                tokens_per_s=launch.sim_tokens_per_s,
                failing_first=launch.sim_failing_first,
            )
            await simulator.start()
            settings = pointed_at_simulator(settings, simulator.base_url)
            env = simulator_env(settings)
        pool = ProviderPool(settings, os.environ if env is None else env, workdir=project_dir)
        yield Resources(settings, store, store_sink, pool)
    finally:

        async def close() -> None:
            # Each step runs whatever the one before raised (a full disk fails the last flush):
            # an open connection's thread would keep the process alive for ever.
            try:
                if pool is not None:
                    await pool.aclose()
            finally:
                try:
                    if simulator is not None:
                        await simulator.stop()
                finally:
                    try:
                        await store_sink.aclose()
                    finally:
                        await store.close()

        # Shielded: a second cancellation (an app shutting down) must not leave the database
        # open with its streamed text unwritten.
        await asyncio.shield(close())


async def run_session(
    launch: Launch,
    req: SessionRequest,
    sinks: Sequence[EventSink],
    *,
    env: Mapping[str, str] | None = None,
) -> SessionFinished:
    """Run one session to its end, persisting it as it goes. Cleans up on every exit path."""
    from mao_tui.engine.rule_plan import rule_based_plan
    from mao_tui.engine.session import SessionRun
    from mao_tui.playbooks.output_kinds import output_kind
    from mao_tui.service.budget_setup import budget_of, configure_budget
    from mao_tui.service.race import WorkspaceCopies

    async with session_resources(launch, req.project_dir, env=env) as res:
        copies = WorkspaceCopies(
            res.settings,
            req.playbook,
            lambda: launch.workspace_dir,
            req.session_id,
            with_uncommitted=launch.with_uncommitted,
        )
        engine = SessionRun(
            res.settings,
            res.pool,
            [res.store_sink, *sinks],
            max_parallel=launch.max_parallel,
            output=output_kind(res.settings, req),
            # a candidate race verifies in worktrees or copies of the workspace (a playbook
            # that writes files; another's candidates have nothing to verify)
            verifier=copies if writes_files(res.settings, req.playbook) else None,
        )
        limit = budget_of(res.settings, req)
        await configure_budget(engine, res.store, limit, simulated=req.simulated)
        try:
            return await engine.run(req, rule_based_plan(res.settings, req.playbook, req.sections))
        finally:
            copies.close()


def writes_files(settings: Settings, playbook: str) -> bool:
    """Whether ``playbook``'s answer is files (only then is a race's candidate verified)."""
    found = settings.playbooks.get(playbook)
    return found is not None and found.output == "files"
