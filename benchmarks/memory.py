"""Figure 6, memory: how much the dashboard's RSS grows after 10 MB of streamed text.

The real app (``MaoApp`` and its dashboard, headless under ``run_test`` at 200x60) receives one
session of seven workstreams from a fast fake runner: thinking, then a Markdown answer, in deltas
of ``DELTA_CHARS`` characters (about what a provider sends per event), 10 MB in all, as fast as the
dashboard takes them (the runner waits whenever the dashboard has more than ``MAX_QUEUED``
messages waiting). RSS is read from /proc before the first delta, once every delta has been shown,
and after every attempt has ended and its final Markdown render is done (the figure), each after a
garbage collection. When the goal is missed, tracemalloc names the biggest allocation sites.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from benchmarks.figures import BenchResult, Figure, Goal, rss_mb
from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EventSink,
    Plan,
    PlannedWorkstream,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.simulator.scripts import SCRIPTED_KEYS, script_for

TOTAL_CHARS = 10_000_000
STREAMS = 7
DELTA_CHARS = 16  # ~4 tokens: the simulator's delta at 80 tokens/s, 20 events/s
THINKING_SHARE = 0.3
MAX_QUEUED = 2_000
GOAL = Goal("<=", 60, "≤ 60 MB")
SESSION_ID = "01MEMBENCH0000000000000000"


def _text(key: str, chars: int) -> tuple[str, str]:
    """(thinking, answer) of about ``chars`` characters from the simulator's script for ``key``."""
    script = script_for(key)
    thinking_chars = int(chars * THINKING_SHARE)
    thinking = (script.thinking * (thinking_chars // len(script.thinking) + 1))[:thinking_chars]
    parts, size, n = [], 0, 0
    while size < chars - thinking_chars:
        n += 1
        part = f"\n\n## Part {n}\n\n{script.answer}" if n > 1 else script.answer
        parts.append(part)
        size += len(part)
    return thinking, "".join(parts)[: chars - thinking_chars]


@dataclass
class Firehose:
    """A session runner streaming ``total`` characters over ``streams`` workstreams."""

    total: int
    streams: int = STREAMS
    delta_chars: int = DELTA_CHARS
    queued: Callable[[], int] = lambda: 0  # messages waiting on the dashboard
    start: asyncio.Event = field(default_factory=asyncio.Event)  # begin the deltas
    streamed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # end the attempts
    keys: list[str] = field(default_factory=list)
    sent: int = 0

    async def __call__(self, sink: EventSink) -> SessionFinished:
        base = [k for k in SCRIPTED_KEYS if k != SYNTHESIS_KEY]
        self.keys = [f"{base[i % len(base)]}_{i + 1}" for i in range(self.streams)]
        await sink(
            SessionStarted(
                session_id=SESSION_ID,
                command="develop",
                playbook="develop",
                task="memory benchmark",
                simulated=True,
                project_dir=".",
            )
        )
        chain = ["sonnet-5.5", "opus-5.5"]
        plan = Plan(
            playbook="develop",
            workstreams=[
                PlannedWorkstream(key=k, title=k.replace("_", " ").title(), route="x", chain=chain)
                for k in self.keys
            ],
            synthesis=PlannedWorkstream(
                key=SYNTHESIS_KEY, title="Synthesis", route="synthesis", chain=chain
            ),
        )
        await sink(PlanReady(session_id=SESSION_ID, plan=plan))
        texts = {k: _text(k.rsplit("_", 1)[0], self.total // self.streams) for k in self.keys}
        for k in self.keys:
            await sink(
                AttemptStarted(
                    session_id=SESSION_ID,
                    attempt_id=f"a-{k}",
                    workstream=k,
                    model="sonnet-5.5",
                    provider="anthropic",
                    api_model="sonnet-5.5",
                    attempt_no=1,
                    thinking=True,
                )
            )
        await self.start.wait()
        step = self.delta_chars
        longest = max(len(t) + len(a) for t, a in texts.values())
        for pos in range(0, longest, step):
            for k in self.keys:
                thinking, answer = texts[k]
                channel: Literal["thinking", "text"] = "thinking"
                piece = thinking[pos : pos + step]
                if pos >= len(thinking):
                    channel, at = "text", pos - len(thinking)
                    piece = answer[at : at + step]
                if piece:
                    self.sent += len(piece)
                    await sink(
                        Delta(
                            session_id=SESSION_ID,
                            attempt_id=f"a-{k}",
                            workstream=k,
                            channel=channel,
                            text=piece,
                        )
                    )
            while self.queued() > MAX_QUEUED:
                await asyncio.sleep(0.005)
            if pos % (step * 64) == 0:
                await asyncio.sleep(0)
        self.streamed.set()
        await self.release.wait()
        usage = TokenTotals(input_tokens=1000, output_tokens=self.total // 4 // self.streams)
        for k in self.keys:
            await sink(
                AttemptFinished(
                    session_id=SESSION_ID,
                    attempt_id=f"a-{k}",
                    workstream=k,
                    model="sonnet-5.5",
                    status=AttemptStatus.OK,
                    usage=usage,
                )
            )
            await sink(
                WorkstreamFinished(
                    session_id=SESSION_ID,
                    workstream=k,
                    model="sonnet-5.5",
                    status=WorkstreamStatus.DONE,
                    usage=usage,
                )
            )
        finished = SessionFinished(
            session_id=SESSION_ID, status=SessionStatus.DONE, totals=usage, elapsed_s=1.0
        )
        await sink(finished)
        return finished


@dataclass
class Reading:
    before_mb: float = 0.0
    streamed_mb: float = 0.0
    ended_mb: float = 0.0
    peak_mb: float = 0.0
    seconds: float = 0.0
    end_seconds: float = 0.0  # from the attempts' end to their final renders done
    chars: int = 0


def _settled_rss() -> float:
    gc.collect()
    return rss_mb()


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(total: int) -> Reading:
    from mao_tui.tui.app import MaoApp
    from mao_tui.tui.dashboard import DashboardScreen

    reading = Reading()
    firehose = Firehose(total)
    app = MaoApp(firehose, simulated=True)
    async with app.run_test(size=(200, 60)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        firehose.queued = screen._message_queue.qsize
        while len(screen.panels) < firehose.streams:
            await pilot.pause(0.01)
        await pilot.pause()
        reading.before_mb = _settled_rss()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        firehose.start.set()
        await firehose.streamed.wait()
        while screen._message_queue.qsize():
            await pilot.pause(0.01)
        await screen.settle()
        await pilot.pause()
        reading.seconds = loop.time() - t0
        reading.streamed_mb = _settled_rss()
        t1 = loop.time()
        firehose.release.set()
        await asyncio.wait_for(app.session_done.wait(), 600)
        await screen.settle()
        await pilot.pause()
        reading.end_seconds = loop.time() - t1
        reading.ended_mb = _settled_rss()
        reading.peak_mb = _peak_mb()
        reading.chars = firehose.sent
        shown = sum(len(p.thinking_text) + len(p.answer_text) for p in screen.panels.values())
        if shown != firehose.sent:
            raise AssertionError(f"the panels hold {shown:,} characters of {firehose.sent:,} sent")
    return reading


def top_allocations(total: int, limit: int = 8) -> list[str]:
    """The biggest live allocation sites after streaming ``total`` characters."""
    tracemalloc.start(1)
    try:
        holder: list[Reading] = []

        async def go() -> None:
            holder.append(await measure(total))

        asyncio.run(go())
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    stats = snapshot.statistics("lineno")[:limit]
    return [
        f"{s.size / 1e6:7.1f} MB  {s.count:>9} blocks  "
        f"{s.traceback[0].filename.split('site-packages/')[-1]}:{s.traceback[0].lineno}"
        for s in stats
    ]


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("memory", "", [])
    total = 200_000 if smoke else TOTAL_CHARS
    reading = asyncio.run(measure(total))
    growth = reading.ended_mb - reading.before_mb
    figure = Figure(
        "memory.rss_growth_mb",
        f"RSS growth after {reading.chars / 1e6:.1f} MB streamed across {STREAMS} panels "
        f"(deltas of {DELTA_CHARS} chars)",
        round(growth, 1),
        "MB",
        GOAL,
        detail=(
            f"RSS {reading.before_mb:.0f} MB before, {reading.streamed_mb:.0f} MB once all was "
            f"shown (+{reading.streamed_mb - reading.before_mb:.0f}), {reading.ended_mb:.0f} MB "
            f"after the attempts ended and rendered their final Markdown; peak (VmHWM) "
            f"{reading.peak_mb:.0f} MB; streamed in {reading.seconds:.1f} s "
            f"({reading.chars / reading.seconds:,.0f} chars/s absorbed); the final renders took "
            f"{reading.end_seconds:.1f} s"
        ),
    )
    result.figures.append(figure)
    if not smoke and growth > GOAL.value:
        share = 0.1
        figure.dominated_by = [
            f"tracemalloc, live allocations after {share * total / 1e6:.0f} MB streamed:",
            *top_allocations(int(total * share)),
        ]
    return result
