"""`mao bench`: run each task of a task set by each arm, apply every answer to a fresh copy of
the task's snapshot, run the task's tests there, and store each result as it comes.

Arms (docs/bench.md): ``single`` is one session of the single best model (its implementation
workstream and its own synthesis: two requests, both by that model); ``best-of-n`` is N such
sessions of the same model at the ``mao`` arm's cost on that task, each answer tested in its own
copy and the task passed when any passes (test-filtered best-of-N); ``mao`` is the develop
playbook's full orchestration (planning, workstreams, synthesis). Every session is a real mao
session in the session database. Answers are applied once: no fix rounds.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from mao_tui.domain import Plan, SessionFinished, SynthesisFinished, new_id
from mao_tui.domain.bench import ARMS, BenchResult, BenchRun
from mao_tui.domain.candidate_events import CandidateCheck
from mao_tui.domain.errors import UsageError
from mao_tui.domain.sanitize import shown
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.service.bench_tasks import BenchTask
from mao_tui.service.inputs import with_context
from mao_tui.service.launch import Launch, run_session
from mao_tui.service.race import WorkspaceCopies
from mao_tui.service.session_request import SessionInputs, build_request
from mao_tui.settings.schema import Settings, VerificationCommand
from mao_tui.store import Store
from mao_tui.store import bench as bench_store

PLAYBOOK = "develop"
_ROUTE = "implementation"  # the code-writing route: its first model is the single best model
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    task_set: Path
    tasks: list[BenchTask]
    arms: list[str]
    model: str | None = None  # None: the implementation route's first model
    n: int | None = None  # best-of-N's N; None: matched to the mao arm's cost
    max_n: int = 8
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
    route = next((w for w in plan.workstreams if w.key == _ROUTE), plan.workstreams[0])
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
    if done:
        progress(
            f"resuming bench run {run.id}: {len(done)} of "
            f"{len(run.tasks) * len(run.arms)} task×arm pairs already done"
        )
    runner = _Runner(launch, settings, run.model, opts)
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


class _Runner:
    def __init__(self, launch: Launch, settings: Settings, model: str, opts: BenchOptions):
        self.launch = launch
        self.settings = settings
        self.model = model
        self.opts = opts

    async def run(
        self, task: BenchTask, arm: str, done: dict[tuple[str, str], BenchResult]
    ) -> BenchResult:
        if self.launch.simulate:
            _register(task)
        if arm == "best-of-n":
            return await self._best_of_n(task, done)
        plan = self._single_plan() if arm == "single" else None
        attempt = await self._attempt(task, plan, sample=0)
        return BenchResult(
            task=task.name,
            arm=arm,
            passed=attempt.passed,
            cost_usd=attempt.cost_usd,
            cost_complete=attempt.cost_complete,
            wall_s=attempt.wall_s,
            session_ids=[attempt.session_id],
            detail=attempt.detail,
        )

    def _samples(self, task: str, done: dict[tuple[str, str], BenchResult]) -> tuple[int, str]:
        if self.opts.n is not None:
            return self.opts.n, f"N={self.opts.n} (--n)"
        single, mao = done.get((task, "single")), done.get((task, "mao"))
        if single is None or mao is None:
            return 2, "N=2: no single and mao results of this task to match the cost to"
        if not (single.cost_complete and mao.cost_complete) or single.cost_usd <= 0:
            return 2, "N=2: a price is unknown, so the cost cannot be matched"
        n = max(2, min(self.opts.max_n, math.ceil(mao.cost_usd / single.cost_usd - 1e-9)))
        return n, f"N={n}: mao ${mao.cost_usd:.4f} / single ${single.cost_usd:.4f}"

    async def _best_of_n(
        self, task: BenchTask, done: dict[tuple[str, str], BenchResult]
    ) -> BenchResult:
        n, why = self._samples(task.name, done)
        attempts = [
            await self._attempt(task, self._single_plan(), sample=k) for k in range(1, n + 1)
        ]
        winners = [k for k, a in enumerate(attempts, 1) if a.passed]
        chosen = f"sample {winners[0]} of {n} passed" if winners else f"none of {n} passed"
        return BenchResult(
            task=task.name,
            arm="best-of-n",
            passed=bool(winners),
            cost_usd=sum(a.cost_usd for a in attempts),
            cost_complete=all(a.cost_complete for a in attempts),
            wall_s=sum(a.wall_s for a in attempts),
            session_ids=[a.session_id for a in attempts],
            samples=n,
            detail=f"{chosen}; {why}",
        )

    def _single_plan(self) -> Plan:
        draft = rule_based_plan(self.settings, PLAYBOOK)
        route = next((w for w in draft.workstreams if w.key == _ROUTE), draft.workstreams[0])
        one = {"chain": [self.model], "substitutions": [], "candidates": 0}
        return Plan(
            playbook=PLAYBOOK,
            workstreams=[route.model_copy(update={**one, "depends_on": []})],
            synthesis=draft.synthesis.model_copy(update=one),
            source="file",
            rationale=f"mao bench: {self.model} alone, once",
        )

    async def _attempt(self, task: BenchTask, plan: Plan | None, sample: int) -> _Attempt:
        started = time.monotonic()
        spec = with_context("", task.context())
        if self.launch.simulate:
            from mao_tui.simulator.bench import mark

            spec = f"{mark(task.name, sample)}\n\n{spec}"
        inputs = SessionInputs(
            playbook=PLAYBOOK,
            task=task.text,
            project_dir=self.launch.project_dir,
            simulated=self.launch.simulate,
            spec_text=spec,
            command="bench",
        )
        req = replace(build_request(self.settings, inputs), fixed_plan=plan)
        texts: list[str] = []

        async def keep(event: object) -> None:
            if isinstance(event, SynthesisFinished) and event.text:
                texts.append(event.text)

        finished = await run_session(self.launch, req, [keep])
        passed, detail = await self._test(task, req.session_id, texts[-1] if texts else "")
        if not texts:
            detail = f"no answer: {finished.error or finished.status.value}"
        return _Attempt(finished, req.session_id, passed, detail, time.monotonic() - started)

    async def _test(self, task: BenchTask, session_id: str, answer: str) -> tuple[bool, str]:
        if not answer:
            return False, ""
        tests = VerificationCommand(
            name="tests",
            argv=[sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *task.tests],
            timeout_s=task.timeout_s,
            kind="test",
            source="the bench task",
        )
        verification = {**self.settings.verification, PLAYBOOK: [tests]}
        settings = self.settings.model_copy(update={"verification": verification})
        with tempfile.TemporaryDirectory(prefix="mao-bench-") as tmp:
            snapshot = Path(tmp) / "snapshot"
            task.materialize(snapshot)
            copies = WorkspaceCopies(settings, PLAYBOOK, lambda: snapshot, session_id)
            try:
                check = await copies.verify(answer, "answer", CandidateCheck())
            finally:
                copies.close()
        passed = check.verified and "tests" in check.passed and not check.failed
        if passed:
            return True, ""
        why = check.detail or ("tests failed" if check.failed else "tests could not run")
        return False, why


@dataclass(frozen=True)
class _Attempt:
    finished: SessionFinished
    session_id: str
    passed: bool
    detail: str
    wall_s: float

    @property
    def cost_usd(self) -> float:
        return self.finished.totals.cost_usd

    @property
    def cost_complete(self) -> bool:
        return self.finished.totals.cost_complete


def _register(task: BenchTask) -> None:
    from mao_tui.simulator import bench as simulated

    answers = task.simulated_answers()
    if answers is not None:
        simulated.register(task.name, *answers)


__all__ = ["BenchOptions", "BenchOutcome", "parse_arms", "run_bench", "single_model"]
