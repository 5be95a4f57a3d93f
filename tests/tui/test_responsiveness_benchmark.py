"""The responsiveness benchmark runs (tiny, so it never rots): it drives the real app, presses
keys while panels stream, and checks that every panel shows exactly the text that was sent."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import responsiveness


async def test_the_benchmark_measures_a_tiny_run() -> None:
    config = responsiveness.Config(
        seconds=1.0, streams=3, tokens_per_s=60, size=(120, 36), key_every=0.1
    )
    result = await responsiveness.measure(config)
    assert result.text_intact, result.problems
    assert result.deltas_sent > 0 and result.chars_sent > 0
    assert result.keys_pressed > 0 and result.keys_answered == result.keys_pressed
    assert result.key_p50_ms == result.key_p50_ms  # a number, not NaN
    assert result.stall_p99_ms == result.stall_p99_ms and result.cpu_percent > 0
