"""`mao bench`: run each task of a task set by each arm (service/bench_arms.py), store each
task×arm result as soon as it is known, resume a run where it stopped.

Arms (docs/bench.md): ``single`` is one session of the single best model; ``best-of-n`` N such
sessions at the ``mao`` arm's cost on that task, passed when any sample's answer passes the
task's tests (test-filtered best-of-N); ``mao`` the develop playbook's full orchestration with
apply, verify and fix rounds. Every attempt is a real mao session in the session database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mao_tui.domain import new_id
from mao_tui.domain.bench import ARMS, BenchResult, BenchRun
from mao_tui.domain.errors import UsageError
from mao_tui.domain.sanitize import shown
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.service.bench_arms import PLAYBOOK, ROUTE, ArmRunner
from mao_tui.service.bench_tasks import BenchTask
from mao_tui.service.launch import Launch
from mao_tui.settings.schema import Settings
from mao_tui.store import Store
from mao_tui.store import bench as bench_store

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    task_set: Path
    tasks: list[BenchTask]
    arms: list[str]
    model: str | None = None  # None: the implementation route's first model
    n: int | None = None  # best-of-N's N; None: matched to the mao arm's cost
    max_n: int = 8
    fix_rounds: int | None = None  # the mao arm's fix rounds (None: the playbook's fix.max_rounds)
    resume: str | None = None  # a run id (prefix), "" for the latest matching run, None: new


@dataclass(frozen=True)
class BenchOutcome:
    run: BenchRun
    results: list[BenchResult]
    ran: int  # task×arm pairs run now (not resumed)


def single_model(settings: Settings, override: str | None) -> str:
    if override is not None:
        if override not in settings.registry.models:
            known = ", ".join(sorted(settings.registry.models))
            raise UsageError(f"--model: unknown model {override!r}; known models: {known}")
        return override
    plan = rule_based_plan(settings, PLAYBOOK)
    route = next((w for w in plan.workstreams if w.key == ROUTE), plan.workstreams[0])
    return route.chain[0]


def parse_arms(text: str) -> list[str]:
    arms = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise UsageError(
            f"--arms: expected a comma-separated list of {', '.join(ARMS)}, got {text!r}"
        )
    return list(dict.fromkeys(arms))


async def run_bench(launch: Launch, opts: BenchOptions, progress: Progress) -> BenchOutcome:
    settings = launch.settings()
    model = single_model(settings, opts.model)
    names = [t.name for t in opts.tasks]
    task_set = str(opts.task_set.resolve())
    store = await Store.open(launch.db_path)
    try:
        run = await _the_run(store, opts, task_set, names, model, launch.simulate)
        done = {(r.task, r.arm): r for r in await bench_store.run_results(store, run.id)}
    finally:
        await store.close()
    pairs = len(run.tasks) * len(run.arms)
    label = " on the simulator" if run.simulated else ""
    if done:
        progress(f"resuming bench run {run.id}: {len(done)} of {pairs} task×arm pairs already done")
    else:
        progress(f"bench run {run.id}{label}: {len(run.tasks)} task(s) × {', '.join(run.arms)}")
    runner = ArmRunner(launch, settings, run.model, opts)
    ran = 0
    by_name = {t.name: t for t in opts.tasks}
    for name in run.tasks:
        task = by_name[name]
        for arm in _order(run.arms):
            if (name, arm) in done:
                continue
            result = await runner.run(task, arm, done)
            done[(name, arm)] = result
            ran += 1
            await _save(launch.db_path, run.id, result)
            progress(_line(result))
    store = await Store.open(launch.db_path)
    try:
        await bench_store.finish_run(store, run.id)
        results = await bench_store.run_results(store, run.id)
        run = run.model_copy(update={"finished": True})
    finally:
        await store.close()
    return BenchOutcome(run, results, ran)


def _order(arms: list[str]) -> list[str]:
    """best-of-N after the arms its N is matched to."""
    return sorted(arms, key=lambda a: a == "best-of-n")


async def _save(db_path: Path, run_id: str, result: BenchResult) -> None:
    store = await Store.open(db_path)
    try:
        await bench_store.save_result(store, run_id, result)
    finally:
        await store.close()


async def _the_run(
    store: Store, opts: BenchOptions, task_set: str, names: list[str], model: str, sim: bool
) -> BenchRun:
    if opts.resume is None:
        run = BenchRun(
            id=new_id(),
            created_at=datetime.now(UTC).isoformat(),
            task_set=task_set,
            tasks=names,
            arms=opts.arms,
            model=model,
            simulated=sim,
        )
        await bench_store.create_run(store, run)
        return run
    if opts.resume:
        try:
            found = await bench_store.get_run(store, opts.resume)
        except LookupError as exc:
            raise UsageError(f"--resume: {exc}") from None
        if found is None:
            raise UsageError(f"--resume: no bench run {opts.resume!r} in {store.path}")
        if found.simulated != sim:
            was = "simulated: add --simulate" if found.simulated else "not simulated: no --simulate"
            raise UsageError(f"--resume: run {found.id} was {was}")
        missing = [n for n in found.tasks if n not in names]
        if found.task_set != task_set or missing:
            raise UsageError(
                f"--resume: run {found.id} ran the task set {found.task_set}"
                f" (tasks {', '.join(found.tasks)}); give that task set"
            )
        return found
    found = await bench_store.latest_matching(store, task_set, names, opts.arms, sim)
    if found is None:
        raise UsageError(
            f"--resume: no bench run of {task_set} with these tasks and arms to resume; "
            "run without --resume to start one"
        )
    return found


def _line(r: BenchResult) -> str:
    cost = f"${r.cost_usd:.4f}" + ("" if r.cost_complete else " (a price unknown)")
    verdict = "pass" if r.passed else "FAIL"
    n = f" N={r.samples}" if r.arm == "best-of-n" else ""
    note = f" — {r.detail}" if r.detail else ""
    return shown(f"  {r.task:<24} {r.arm:<10}{n} {verdict}  {cost}  {r.wall_s:.1f}s{note}")
