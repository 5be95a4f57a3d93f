"""How each `mao bench` arm runs one task (service/bench_run.py runs the set): every attempt a
real mao session; its answer applied to a fresh copy of the task's snapshot and the task's tests
run there by the checks machinery (``--apply``'s rules, sandbox, timeouts).

``single`` and each best-of-N sample: one session of the single model (its implementation
workstream and its own synthesis), the synthesis's files applied once to a fresh copy
(service/race.py's :class:`WorkspaceCopies`). ``mao``: the develop playbook's whole run as
``--apply`` does it (service/apply_run.py): planning, workstreams, synthesis, then apply, verify
and fix rounds in a fresh copy, the task's tests being the verification.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain import Plan, SynthesisFinished, TokenTotals
from mao_tui.domain.bench import BenchResult
from mao_tui.domain.candidate_events import CandidateCheck
from mao_tui.engine.request import SessionRequest
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.service.apply_run import auto_confirm, run_and_apply
from mao_tui.service.bench_tasks import BenchTask
from mao_tui.service.inputs import with_context
from mao_tui.service.launch import Launch, run_session
from mao_tui.service.race import WorkspaceCopies
from mao_tui.service.session_request import SessionInputs, build_request
from mao_tui.settings.schema import Settings, VerificationCommand

if TYPE_CHECKING:
    from mao_tui.service.bench_run import BenchOptions

PLAYBOOK = "develop"
ROUTE = "implementation"  # the code-writing route: its first model is the single best model
Done = dict[tuple[str, str], BenchResult]


@dataclass(frozen=True)
class _Attempt:
    session_id: str
    passed: bool
    detail: str
    wall_s: float
    totals: TokenTotals


class ArmRunner:
    def __init__(self, launch: Launch, settings: Settings, model: str, opts: BenchOptions):
        self.launch = launch
        self.settings = settings
        self.model = model
        self.opts = opts

    async def run(self, task: BenchTask, arm: str, done: Done) -> BenchResult:
        if self.launch.simulate:
            _register(task)
        if arm == "best-of-n":
            return await self._best_of_n(task, done)
        if arm == "mao":
            attempt = await self._orchestrated(task)
        else:
            attempt = await self._once(task, sample=0)
        return BenchResult(
            task=task.name,
            arm=arm,
            passed=attempt.passed,
            cost_usd=attempt.totals.cost_usd,
            cost_complete=attempt.totals.cost_complete,
            wall_s=attempt.wall_s,
            session_ids=[attempt.session_id],
            detail=attempt.detail,
        )

    def _samples(self, task: str, done: Done) -> tuple[int, str]:
        if self.opts.n is not None:
            return self.opts.n, f"N={self.opts.n} (--n)"
        single, mao = done.get((task, "single")), done.get((task, "mao"))
        if single is None or mao is None:
            return 2, "N=2: no single and mao results of this task to match the cost to"
        if not (single.cost_complete and mao.cost_complete) or single.cost_usd <= 0:
            return 2, "N=2: a price is unknown, so the cost cannot be matched"
        n = max(2, min(self.opts.max_n, math.ceil(mao.cost_usd / single.cost_usd - 1e-9)))
        return n, f"N={n}: mao ${mao.cost_usd:.4f} / single ${single.cost_usd:.4f}"

    async def _best_of_n(self, task: BenchTask, done: Done) -> BenchResult:
        n, why = self._samples(task.name, done)
        attempts = [await self._once(task, sample=k) for k in range(1, n + 1)]
        winners = [k for k, a in enumerate(attempts, 1) if a.passed]
        chosen = f"sample {winners[0]} of {n} passed" if winners else f"none of {n} passed"
        return BenchResult(
            task=task.name,
            arm="best-of-n",
            passed=bool(winners),
            cost_usd=sum(a.totals.cost_usd for a in attempts),
            cost_complete=all(a.totals.cost_complete for a in attempts),
            wall_s=sum(a.wall_s for a in attempts),
            session_ids=[a.session_id for a in attempts],
            samples=n,
            detail=f"{chosen}; {why}",
        )

    def _single_plan(self) -> Plan:
        draft = rule_based_plan(self.settings, PLAYBOOK)
        route = next((w for w in draft.workstreams if w.key == ROUTE), draft.workstreams[0])
        one = {"chain": [self.model], "substitutions": [], "candidates": 0}
        return Plan(
            playbook=PLAYBOOK,
            workstreams=[route.model_copy(update={**one, "depends_on": []})],
            synthesis=draft.synthesis.model_copy(update=one),
            source="file",
            rationale=f"mao bench: {self.model} alone, once",
        )

    def _request(self, task: BenchTask, sample: int) -> SessionRequest:
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
        return build_request(self.settings, inputs)

    def _with_tests(self, task: BenchTask) -> Settings:
        """The settings whose develop verification is the task's tests, with the Python that
        runs mao (never a command from a model's output)."""
        tests = VerificationCommand(
            name="tests",
            argv=[sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *task.tests],
            timeout_s=task.timeout_s,
            kind="test",
            source="the bench task",
        )
        verification = {**self.settings.verification, PLAYBOOK: [tests]}
        return self.settings.model_copy(update={"verification": verification})

    async def _once(self, task: BenchTask, sample: int) -> _Attempt:
        started = time.monotonic()
        req = replace(self._request(task, sample), fixed_plan=self._single_plan())
        texts: list[str] = []

        async def keep(event: object) -> None:
            if isinstance(event, SynthesisFinished) and event.text:
                texts.append(event.text)

        finished = await run_session(self.launch, req, [keep])
        if texts:
            passed, detail = await self._test(task, req.session_id, texts[-1])
        else:
            passed, detail = False, f"no answer: {finished.error or finished.status.value}"
        elapsed = time.monotonic() - started
        return _Attempt(req.session_id, passed, detail, elapsed, finished.totals)

    async def _test(self, task: BenchTask, session_id: str, answer: str) -> tuple[bool, str]:
        with tempfile.TemporaryDirectory(prefix="mao-bench-") as tmp:
            snapshot = Path(tmp) / "snapshot"
            task.materialize(snapshot)
            copies = WorkspaceCopies(self._with_tests(task), PLAYBOOK, lambda: snapshot, session_id)
            try:
                check = await copies.verify(answer, "answer", CandidateCheck())
            finally:
                copies.close()
        if check.verified and "tests" in check.passed and not check.failed:
            return True, ""
        return False, check.detail or ("tests failed" if check.failed else "tests did not run")

    async def _orchestrated(self, task: BenchTask) -> _Attempt:
        """The develop playbook end to end, applied, verified and fixed in a fresh copy."""
        started = time.monotonic()
        req = self._request(task, sample=0)
        with tempfile.TemporaryDirectory(prefix="mao-bench-") as tmp:
            workspace = Path(tmp) / "workspace"
            task.materialize(workspace)
            launch = self.launch.with_settings(
                self._with_tests(task),
                workspace=workspace,
                in_place=True,  # the fresh copy is nobody's checkout
                fix_rounds=self.opts.fix_rounds,
            )
            outcome = await run_and_apply(launch, req, [], auto_confirm(None))
        totals = outcome.session.totals if outcome.session is not None else TokenTotals()
        detail = "" if outcome.ok and "fix round" not in outcome.summary else outcome.summary
        elapsed = time.monotonic() - started
        return _Attempt(req.session_id, outcome.ok, detail, elapsed, totals)


def _register(task: BenchTask) -> None:
    from mao_tui.simulator import bench as simulated

    answers = task.simulated_answers()
    if answers is not None:
        simulated.register(task.name, *answers)
