"""Figure 2, responsiveness while streaming: key latency, loop stalls, CPU and backlog.

The measuring is ``benchmarks/responsiveness.py`` (the dashboard work's own harness: the real
app headless under ``run_test``, a paced fake runner, a key pressed every 0.2 s, a 10 ms ticker);
this module runs it at 7 panels x 100 tokens/s and 7 x 300 tokens/s for 30 s each and turns its
result into figures. When p99 misses its goal, a shorter run under cProfile names what dominates.
"""

from __future__ import annotations

import asyncio
import cProfile
import math
from typing import Any

from benchmarks.figures import BenchResult, Figure, Goal, profile_lines

RATES = (100, 300)  # tokens/s per panel
STREAMS = 7
SECONDS = 30.0
CHARS_PER_TOKEN = 4
FLUSH_INTERVAL_S = 0.1  # the dashboard renders panels at most 10 times a second
KEY_GOAL = Goal("<=", 50, "≤ 50 ms p99")


def harness() -> Any:
    """``benchmarks.responsiveness``, or None while it is not there."""
    try:
        from benchmarks import responsiveness
    except ImportError:
        return None
    return responsiveness


def measure(rate: float, seconds: float) -> Any:
    h = harness()
    cfg = h.Config(seconds=seconds, streams=STREAMS, tokens_per_s=rate)
    return asyncio.run(h.measure(cfg))


def profile(rate: float, seconds: float) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        measure(rate, seconds)
    finally:
        profiler.disable()
    return [f"cProfile of a {seconds:g} s run at this rate:", *profile_lines(profiler, limit=10)]


def _num(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def figures_for(rate: float, seconds: float, result: Any) -> list[Figure]:
    tag = f"responsiveness.{STREAMS}x{rate:g}"
    offered = STREAMS * rate * CHARS_PER_TOKEN
    allowed = offered * FLUSH_INTERVAL_S
    where = f"{STREAMS} panels x {rate:g} tok/s ({offered:,.0f} chars/s), {seconds:g} s"
    problems = "; ".join(result.problems) if result.problems else ""
    return [
        Figure(
            f"{tag}.key_p99_ms",
            f"key latency p99, {where}",
            _num(result.key_p99_ms),
            "ms",
            KEY_GOAL,
            detail=f"p50 {result.key_p50_ms} ms, max {result.key_max_ms} ms; "
            f"{result.keys_answered} of {result.keys_pressed} keys answered",
        ),
        Figure(
            f"{tag}.stall_p99_ms",
            f"event-loop stall p99 (10 ms ticker), {where}",
            _num(result.stall_p99_ms),
            "ms",
            detail=f"p50 {result.stall_p50_ms} ms, max {result.stall_max_ms} ms",
        ),
        Figure(f"{tag}.cpu_pct", f"CPU while streaming, {where}", _num(result.cpu_percent), "%"),
        Figure(
            f"{tag}.backlog_chars",
            f"text backlog when the streams end, {where}",
            result.backlog_chars,
            "chars",
            Goal("<=", allowed, f"no backlog (≤ one {FLUSH_INTERVAL_S * 1000:.0f} ms render)"),
            detail=f"{result.backlog_messages} messages still queued; every panel shows exactly "
            f"the text sent: {'yes' if result.text_intact else 'NO'}"
            + (f" ({problems})" if problems else ""),
        ),
    ]


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("responsiveness", "", [])
    if harness() is None:
        result.notes.append(
            "not built yet: benchmarks/responsiveness.py (the dashboard work's harness) is missing"
        )
        return result
    seconds = 1.0 if smoke else SECONDS
    for rate in RATES[:1] if smoke else RATES:
        figures = figures_for(rate, seconds, measure(rate, seconds))
        result.figures.extend(figures)
        key = figures[0]
        if not smoke and key.value is not None and key.value > KEY_GOAL.value:
            key.dominated_by = profile(rate, 5.0)
    return result
