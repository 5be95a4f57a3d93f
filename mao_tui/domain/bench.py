"""`mao bench` records: one run over a task set, one result per task and arm, and the
Wilson score interval its pass rates are reported with (docs/bench.md)."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

ARMS = ("single", "best-of-n", "mao")


class BenchResult(BaseModel):
    """One task run by one arm: its answer applied to a fresh copy of the task's snapshot and
    the task's tests run there."""

    model_config = ConfigDict(frozen=True)

    task: str
    arm: str
    passed: bool
    cost_usd: float = 0.0
    cost_complete: bool = True  # False when some model's price is unknown
    wall_s: float = 0.0
    session_ids: list[str] = Field(default_factory=list)  # best-of-N: one per sample
    samples: int = 1  # best-of-N's N; 1 for the other arms
    detail: str = ""  # why it failed, or which sample passed


class BenchRun(BaseModel):
    """One `mao bench` run: what it ran and whether it got to the end."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: str
    task_set: str
    tasks: list[str]
    arms: list[str]
    model: str
    simulated: bool
    finished: bool = False


class ArmSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    arm: str
    tasks: int
    passed: int
    low: float  # the 95% Wilson interval of the pass rate
    high: float
    total_usd: float
    cost_complete: bool
    mean_wall_s: float

    @property
    def rate(self) -> float:
        return self.passed / self.tasks if self.tasks else 0.0

    @property
    def mean_usd(self) -> float:
        return self.total_usd / self.tasks if self.tasks else 0.0


def wilson(passed: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of ``passed`` successes in ``total`` trials (95% by default);
    (0, 1) when there are no trials."""
    if total <= 0:
        return 0.0, 1.0
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def summarize(arms: list[str], results: list[BenchResult]) -> list[ArmSummary]:
    """Per arm, in ``arms``' order: pass count, its interval, total cost, mean wall time."""
    summaries = []
    for arm in arms:
        mine = [r for r in results if r.arm == arm]
        passed = sum(r.passed for r in mine)
        low, high = wilson(passed, len(mine))
        summaries.append(
            ArmSummary(
                arm=arm,
                tasks=len(mine),
                passed=passed,
                low=low,
                high=high,
                total_usd=sum(r.cost_usd for r in mine),
                cost_complete=all(r.cost_complete for r in mine),
                mean_wall_s=sum(r.wall_s for r in mine) / len(mine) if mine else 0.0,
            )
        )
    return summaries
