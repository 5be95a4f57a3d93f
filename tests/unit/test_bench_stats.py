"""The Wilson score interval `mao bench` reports pass rates with, against published values."""

from __future__ import annotations

import pytest

from mao_tui.domain.bench import BenchResult, summarize, wilson


@pytest.mark.parametrize(
    ("passed", "total", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (8, 10, 0.4902, 0.9433),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_wilson_interval(passed: int, total: int, low: float, high: float) -> None:
    got = wilson(passed, total)
    assert got == pytest.approx((low, high), abs=5e-4)


def test_no_trials_is_the_whole_range() -> None:
    assert wilson(0, 0) == (0.0, 1.0)


def test_summary_per_arm() -> None:
    results = [
        BenchResult(task="a", arm="single", passed=True, cost_usd=0.01, wall_s=1),
        BenchResult(task="b", arm="single", passed=False, cost_usd=0.03, wall_s=3),
        BenchResult(task="a", arm="mao", passed=True, cost_usd=0.1, cost_complete=False),
    ]
    single, mao = summarize(["single", "mao"], results)
    assert (single.passed, single.tasks, single.rate) == (1, 2, 0.5)
    assert single.total_usd == pytest.approx(0.04) and single.mean_wall_s == 2
    assert not mao.cost_complete and single.cost_complete
