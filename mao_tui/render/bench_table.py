"""`mao bench`'s report: per arm, the pass rate with its 95% Wilson interval, cost and wall
time, as a plain table like `mao sessions`; and the same as one JSON object."""

from __future__ import annotations

from typing import Any

from mao_tui.domain.bench import BenchResult, BenchRun, summarize
from mao_tui.domain.sanitize import shown


def _cost(value: float, complete: bool) -> str:
    if value == 0 and not complete:
        return "cost unknown"
    return f"${value:.4f}" + ("" if complete else "+?")


def bench_table(run: BenchRun, results: list[BenchResult]) -> str:
    state = "finished" if run.finished else "unfinished (resume with --resume)"
    lines = [
        f"bench run {run.id}: {len(run.tasks)} task(s), {shown(run.task_set)}, "
        f"model {shown(run.model)}, {state}" + ("  [SIMULATED]" if run.simulated else ""),
        "",
        f"{'ARM':<10}  {'PASSED':>7}  {'RATE':>5}  {'95% CI (Wilson)':<16}  "
        f"{'TOTAL COST':>12}  {'MEAN COST':>12}  {'MEAN TIME':>9}",
    ]
    for s in summarize(run.arms, results):
        lines.append(
            f"{s.arm:<10}  {f'{s.passed}/{s.tasks}':>7}  {s.rate:>5.0%}  "
            f"{f'{s.low:.0%} – {s.high:.0%}':<16}  {_cost(s.total_usd, s.cost_complete):>12}  "
            f"{_cost(s.mean_usd, s.cost_complete):>12}  {s.mean_wall_s:>8.1f}s"
        )
    lines.append("")
    lines.append(f"{'TASK':<24}  " + "  ".join(f"{arm:<10}" for arm in run.arms))
    by_pair = {(r.task, r.arm): r for r in results}
    for task in run.tasks:
        cells = []
        for arm in run.arms:
            r = by_pair.get((task, arm))
            cell = "—" if r is None else ("pass" if r.passed else "fail")
            if r is not None and arm == "best-of-n":
                cell += f" N={r.samples}"
            cells.append(f"{cell:<10}")
        lines.append(f"{shown(task):<24}  " + "  ".join(cells))
    lines.append("")
    lines.append(
        "Intervals are wide with few tasks: arms whose intervals overlap are not shown apart."
    )
    if any(not r.cost_complete for r in results):
        lines.append("+? some model's price is unknown: the cost shown is a lower bound.")
    if run.simulated:
        lines.append(
            "SIMULATED: the built-in simulator answered (scripted right or wrong answers, chosen "
            "by a hash of model, task and sample): this shows the machinery, not any model's skill."
        )
    return "\n".join(lines) + "\n"


def bench_json(run: BenchRun, results: list[BenchResult]) -> dict[str, Any]:
    arms = [
        {**s.model_dump(), "rate": s.rate, "mean_usd": s.mean_usd}
        for s in summarize(run.arms, results)
    ]
    return {
        "run": run.model_dump(),
        "arms": arms,
        "results": [r.model_dump() for r in results],
    }
