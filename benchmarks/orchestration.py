"""Figure 4, orchestration overhead: session wall time minus the ideal critical path.

The real engine (pre-flight, the orchestrator's plan, workstreams as tasks with the plan's
``depends_on``, fallback machinery, synthesis) runs with the real store sink writing to a
temporary database, but every model call goes to an in-process fake provider that takes a fixed
time: it streams the simulator's scripted thinking and answer in even deltas every 50 ms and
finishes exactly ``LATENCY_S[key]`` after it started. So the ideal session time is known exactly:
the planning calls one after the other, then the longest path through the plan's dependency graph,
then the synthesis. Whatever the session takes beyond that is the engine's overhead.
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.figures import BenchResult, Figure, Goal, median, profile_lines
from mao_tui.domain import EngineEvent, Plan, PlanReady, SessionStatus
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest, SessionRun
from mao_tui.providers.base import (
    Finished,
    ModelRequest,
    Provider,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import simulator_env
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.simulator.scripts import detect_workstream, script_for
from mao_tui.store import Store

# Per-call latency, by the workstream key in the prompt: planning 1 s (pre-flight + plan),
# workstreams 2–5 s, synthesis 2 s.
LATENCY_S: Mapping[str, float] = {
    "dependency_check": 0.3,
    "orchestrator": 0.7,
    "schemas": 2.0,
    "storage": 3.0,
    "core_logic": 4.0,
    "implementation": 5.0,
    "tests": 2.0,
    "synthesis": 2.0,
}
PLANNING_KEYS = ("dependency_check", "orchestrator")
DELTA_EVERY_S = 0.05
FIXED_OVERHEAD_S = 0.050
RELATIVE_OVERHEAD = 0.02


@dataclass
class Call:
    key: str
    nominal_s: float
    started: float
    ended: float = 0.0


@dataclass
class CallLog:
    scale: float
    calls: list[Call] = field(default_factory=list)


class TimedProvider:
    """A model that answers in exactly its key's latency, streaming all the way."""

    def __init__(self, log: CallLog) -> None:
        self._log = log

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        text = f"{request.system}\n{request.prompt}"
        key = detect_workstream(text) or "generic"
        nominal = LATENCY_S.get(key.rsplit(".", 1)[-1], 2.0) * self._log.scale
        loop = asyncio.get_running_loop()
        call = Call(key, nominal, loop.time())
        self._log.calls.append(call)
        script = script_for(key, text)
        ticks = max(1, round(nominal / DELTA_EVERY_S))
        pieces = _split(script.thinking, script.answer, ticks)
        for i, (channel, piece) in enumerate(pieces):
            await asyncio.sleep(max(0.0, call.started + i * nominal / ticks - loop.time()))
            yield ThinkingDelta(piece) if channel == "thinking" else TextDelta(piece)
        await asyncio.sleep(max(0.0, call.started + nominal - loop.time()))
        call.ended = loop.time()
        yield Usage(input_tokens=len(text) // 4, output_tokens=len(script.answer) // 4)
        yield Finished("end_turn")

    async def aclose(self) -> None:
        return None


def _split(thinking: str, answer: str, parts: int) -> list[tuple[str, str]]:
    """``parts`` pieces of thinking-then-answer, none spanning both."""
    whole = [("thinking", c) for c in thinking] + [("text", c) for c in answer]
    step = max(1, -(-len(whole) // parts))
    out = []
    for i in range(0, len(whole), step):
        chunk = whole[i : i + step]
        for channel in ("thinking", "text"):
            piece = "".join(c for ch, c in chunk if ch == channel)
            if piece:
                out.append((channel, piece))
    return out


class TimedPool(ProviderPool):
    """The real pool (keys, concurrency limits, cooldowns) with every client a TimedProvider."""

    def __init__(self, settings: Settings, log: CallLog) -> None:
        super().__init__(settings, simulator_env(settings))
        self._provider = TimedProvider(log)

    def get(self, provider_id: str) -> tuple[Provider, asyncio.Semaphore]:
        return self._provider, self.limit(provider_id)

    async def warm(self) -> None:
        """No SDK is used here: what is measured is the engine's own overhead."""


def critical_path_s(plan: Plan, log: CallLog) -> float:
    """Planning calls in sequence, the longest dependency path, then the synthesis."""
    planning = sum(c.nominal_s for c in log.calls if c.key in PLANNING_KEYS)
    cost = {
        ws.key: LATENCY_S.get(ws.key.rsplit(".", 1)[-1], 2.0) * log.scale for ws in plan.workstreams
    }
    deps = {ws.key: ws.depends_on for ws in plan.workstreams}
    finish: dict[str, float] = {}

    def done_at(key: str) -> float:
        if key not in finish:
            finish[key] = cost[key] + max((done_at(d) for d in deps[key]), default=0.0)
        return finish[key]

    longest = max((done_at(k) for k in deps), default=0.0)
    return planning + longest + LATENCY_S["synthesis"] * log.scale


@dataclass
class Session:
    wall_s: float
    ideal_s: float
    status: SessionStatus
    gaps: list[str]

    @property
    def overhead_s(self) -> float:
        return self.wall_s - self.ideal_s


async def one_session(settings: Settings, db: Path, scale: float) -> Session:
    log = CallLog(scale)
    plans: list[Plan] = []

    async def ui(event: EngineEvent) -> None:  # stands for the dashboard: takes every event
        if isinstance(event, PlanReady):
            plans.append(event.plan)

    store = await Store.open(db)
    pool = TimedPool(settings, log)
    sink = store.sink()
    engine = SessionRun(settings, pool, [sink, ui])
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
    )
    draft = rule_based_plan(settings, "develop")
    loop = asyncio.get_running_loop()
    try:
        t0 = loop.time()
        finished = await engine.run(req, draft)
        t1 = loop.time()
    finally:
        await pool.aclose()
        await sink.aclose()
        await store.close()
    plan = plans[-1]
    return Session(t1 - t0, critical_path_s(plan, log), finished.status, _gaps(log, plan, t0, t1))


def _gaps(log: CallLog, plan: Plan, t0: float, t1: float) -> list[str]:
    """Where the overhead went: time between the critical path's calls, and calls running long."""
    by_key = {c.key: c for c in log.calls}
    rows = []
    first = min(c.started for c in log.calls)
    rows.append(f"session start → first model call: {1000 * (first - t0):.1f} ms")
    ordered = [by_key[k] for k in PLANNING_KEYS if k in by_key]
    for prev, nxt in itertools.pairwise(ordered):
        rows.append(f"{prev.key} end → {nxt.key} start: {1000 * (nxt.started - prev.ended):.1f} ms")
    ws_calls = [by_key[w.key] for w in plan.workstreams if w.key in by_key]
    if ordered and ws_calls:
        start = min(c.started for c in ws_calls)
        rows.append(
            f"plan end → first workstream start: {1000 * (start - ordered[-1].ended):.1f} ms"
        )
    for ws in plan.workstreams:
        for dep in ws.depends_on:
            if ws.key in by_key and dep in by_key:
                gap = by_key[ws.key].started - by_key[dep].ended
                rows.append(f"{dep} end → {ws.key} start: {1000 * gap:.1f} ms")
    if ws_calls and "synthesis" in by_key:
        last = max(c.ended for c in ws_calls)
        synthesis = by_key["synthesis"]
        rows.append(
            f"last workstream end → synthesis start: {1000 * (synthesis.started - last):.1f} ms"
        )
        rows.append(f"synthesis end → session end: {1000 * (t1 - synthesis.ended):.1f} ms")
    over = sum(c.ended - c.started - c.nominal_s for c in log.calls if c.ended)
    rows.append(f"calls running past their latency (sleep overshoot), summed: {1000 * over:.1f} ms")
    return rows


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("orchestration", "", [])
    scale = 0.05 if smoke else 1.0
    runs = 1 if smoke else 3
    base = load_settings([shipped_config_dir()])
    sessions: list[Session] = []
    with tempfile.TemporaryDirectory(prefix="mao-bench-orch-") as tmp:
        for i in range(runs):
            sessions.append(asyncio.run(one_session(base, Path(tmp) / f"s{i}.db", scale)))
        bad = [s.status for s in sessions if s.status is not SessionStatus.DONE]
        if bad:
            result.notes.append(f"sessions did not finish cleanly: {bad}")
        ideal = sessions[0].ideal_s
        overheads = [s.overhead_s * 1000 for s in sessions]
        worst = max(sessions, key=lambda s: s.overhead_s)
        budget_ms = (RELATIVE_OVERHEAD * ideal + FIXED_OVERHEAD_S) * 1000
        figure = Figure(
            "orchestration.overhead_ms",
            f"session wall time minus the ideal critical path, median of {runs}",
            round(median(overheads), 1),
            "ms",
            Goal("<=", round(budget_ms, 1), f"≤ 2% + 50 ms (= {budget_ms:.0f} ms here)"),
            detail=(
                f"ideal critical path {ideal:.2f} s (planning "
                f"{sum(LATENCY_S[k] for k in PLANNING_KEYS) * scale:.2f} s, then the plan's "
                "longest dependency path, then synthesis); walls "
                + ", ".join(f"{s.wall_s:.3f}" for s in sessions)
                + " s\nwhere the worst run's overhead went:\n  "
                + "\n  ".join(worst.gaps)
            ),
        )
        result.figures.append(figure)
        if not smoke and figure.value is not None and figure.value > budget_ms:
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(one_session(base, Path(tmp) / "profiled.db", scale))
            profiler.disable()
            figure.dominated_by = [*worst.gaps, "cProfile of one session:"]
            figure.dominated_by += profile_lines(profiler, limit=10)
    return result
