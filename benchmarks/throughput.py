"""Figure 3, throughput: the most characters per second the dashboard absorbs across 7 panels
before the p99 key latency exceeds 50 ms.

Built on ``benchmarks/responsiveness.py`` (the dashboard work's harness) with its own key
cadence (a key every 0.2 s, as in figure 2). Each step runs ``STEP_S`` seconds in a fresh process,
long enough for more than 100 key presses, so that its p99 is a percentile and not the single
slowest key (in that harness the last key straddles the end of the streams, when the panels'
final Markdown renders start, and is usually the slowest). The search starts at the goal's rate,
doubles while a rate passes, halves while it fails, then narrows between the highest pass and the
lowest failure, ``MAX_STEPS`` runs in all. A rate passes when the p99 key latency is at most
50 ms and every panel shows exactly the text sent. The figure is the character rate actually sent
at the highest passing step.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from dataclasses import asdict
from types import SimpleNamespace
from typing import Any

from benchmarks.figures import BenchResult, Figure, Goal
from benchmarks.streaming import CHARS_PER_TOKEN, STREAMS, harness, profile

GOAL = Goal(">=", 20_000, "≥ 20,000 chars/s")
START_RATE = GOAL.value / STREAMS / CHARS_PER_TOKEN  # tokens/s per panel: ~714
STEP_S = 22.0
MAX_STEPS = 5
CLOSE_ENOUGH = 1.25  # stop when the lowest failure is within this factor of the highest pass
LATENCY_LIMIT_MS = 50.0
RATE_BOUNDS = (10.0, 10_000.0)


def measure(rate: float, seconds: float) -> SimpleNamespace:
    """One step, in a fresh Python process: the harness's result."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", str(rate), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return SimpleNamespace(**json.loads(out.stdout.splitlines()[-1]))


def _step(rate: float, seconds: float) -> dict[str, Any]:
    h = harness()
    cfg = h.Config(seconds=seconds, streams=STREAMS, tokens_per_s=rate)
    result: dict[str, Any] = asdict(asyncio.run(h.measure(cfg)))
    return result


def next_rate(passed: float | None, failed: float | None, last: float) -> float | None:
    """The next rate to try, or None when the search is done."""
    if passed is not None and failed is not None:
        if failed / passed <= CLOSE_ENOUGH:
            return None
        return math.sqrt(passed * failed)
    rate = last * 2 if failed is None else last / 2
    low, high = RATE_BOUNDS
    return rate if low <= rate <= high else None


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("throughput", "", [])
    if harness() is None:
        result.notes.append(
            "not built yet: benchmarks/responsiveness.py (the dashboard work's harness) is missing"
        )
        return result
    seconds = 1.0 if smoke else STEP_S
    steps = 2 if smoke else MAX_STEPS
    passed: float | None = None
    failed: float | None = None
    best_sent = 0.0
    lines = []
    rate: float | None = 100.0 if smoke else START_RATE
    for _ in range(steps):
        if rate is None:
            break
        r = measure(rate, seconds)
        sent = r.chars_sent / seconds
        ok = r.key_p99_ms <= LATENCY_LIMIT_MS and r.text_intact
        lines.append(
            f"{STREAMS * rate * CHARS_PER_TOKEN:>7,.0f} chars/s offered ({rate:,.0f} tok/s x "
            f"{STREAMS}), {sent:>7,.0f} sent: key p99 {r.key_p99_ms} ms "
            f"({r.keys_answered} keys), stall p99 {r.stall_p99_ms} ms, CPU {r.cpu_percent}%, "
            f"backlog {r.backlog_chars} chars, intact {r.text_intact}  {'pass' if ok else 'FAIL'}"
        )
        if ok:
            passed = rate if passed is None else max(passed, rate)
            best_sent = max(best_sent, sent)
        else:
            failed = rate if failed is None else min(failed, rate)
        rate = next_rate(passed, failed, rate)
    figure = Figure(
        "throughput.chars_per_s",
        f"most chars/s across {STREAMS} panels with p99 key latency ≤ 50 ms "
        f"({seconds:g} s per rate)",
        round(best_sent),
        "chars/s",
        GOAL,
        better="higher",
        detail="\n".join(lines),
    )
    result.figures.append(figure)
    if not smoke and best_sent < GOAL.value and failed is not None:
        figure.dominated_by = profile(failed, 5.0)
    return result


if __name__ == "__main__":  # one step: python -m benchmarks.throughput RATE SECONDS
    print(json.dumps(_step(float(sys.argv[1]), float(sys.argv[2]))))
