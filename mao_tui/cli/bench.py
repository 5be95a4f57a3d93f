"""`mao bench`: run a task set by several arms and show whether orchestration beat the single
best model (service/bench_run.py runs it; docs/bench.md explains the table)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mao_tui.cli.parser import Commands
    from mao_tui.settings.schema import Settings


def add_bench(sub: Commands) -> None:
    from mao_tui.cli.parser import _common, _count

    bench = sub.add_parser(
        "bench",
        help="benchmark arms (single model, best-of-N, mao) on a task set: pass rate, cost, time",
    )
    bench.add_argument(
        "task_set",
        nargs="?",
        type=Path,
        help="a folder of tasks (task.toml + repo/), or an aider polyglot / Exercism checkout "
        "(default: the small set shipped with mao)",
    )
    bench.add_argument(
        "--tasks", metavar="A,B", help="run only these tasks of the set (comma-separated names)"
    )
    bench.add_argument(
        "--arms",
        default="single,best-of-n,mao",
        metavar="ARMS",
        help="comma-separated: single, best-of-n, mao (default: all three)",
    )
    bench.add_argument(
        "--model", metavar="ID", help="the single model (default: develop's implementation route's)"
    )
    bench.add_argument(
        "--n",
        type=_count(1),
        metavar="N",
        help="best-of-N's N (default: matched to the mao arm's cost on each task, at least 2)",
    )
    bench.add_argument(
        "--max-n", type=_count(2), default=8, metavar="N", help="the largest matched N (8)"
    )
    bench.add_argument(
        "--fix-rounds",
        type=_count(0),
        metavar="N",
        help="the mao arm's fix rounds after a failed verification (default: the develop "
        "playbook's fix.max_rounds; 0: none)",
    )
    bench.add_argument(
        "--resume",
        nargs="?",
        const="",
        metavar="RUN_ID",
        help="continue a run, skipping finished task×arm pairs (default: the latest unfinished "
        "run of the same task set, tasks and arms, else the latest finished one)",
    )
    bench.add_argument("--json", action="store_true", help="the report as one JSON object")
    bench.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulator instead of the real providers",
    )
    _common(bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from mao_tui.cli.request_checks import settings_of
    from mao_tui.cli.running import (
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        EXIT_OK,
        cancelled_by_sigterm,
        make_launch,
    )
    from mao_tui.render.bench_table import bench_json, bench_table
    from mao_tui.service.bench_run import BenchOptions, parse_arms, run_bench
    from mao_tui.service.bench_tasks import load_task_set, shipped_task_set

    root = args.task_set if args.task_set is not None else shipped_task_set()
    only = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    tasks = load_task_set(root.expanduser(), only)
    arms = parse_arms(args.arms)
    launch = make_launch(args, simulate=args.simulate, speed=math.inf)
    settings = settings_of(launch)  # a configuration error: exit 2 before any work
    if not args.simulate:
        _require_models(settings, arms, args.model)
    options = BenchOptions(
        task_set=root,
        tasks=tasks,
        arms=arms,
        model=args.model,
        n=args.n,
        max_n=args.max_n,
        fix_rounds=args.fix_rounds,
        resume=args.resume,
    )

    def progress(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    try:
        outcome = asyncio.run(cancelled_by_sigterm(run_bench(launch, options, progress)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.stderr.write("mao: bench interrupted; finished results are stored (--resume)\n")
        return EXIT_INTERRUPTED
    if args.json:
        sys.stdout.write(json.dumps(bench_json(outcome.run, outcome.results)) + "\n")
    else:
        sys.stdout.write(bench_table(outcome.run, outcome.results))
    complete = len(outcome.results) == len(outcome.run.tasks) * len(outcome.run.arms)
    return EXIT_OK if complete else EXIT_FAILED


def _require_models(settings: Settings, arms: list[str], model: str | None) -> None:
    """Against the real providers: the single model must be able to run here (a key, not
    retired), and for the mao arm some model of the develop playbook; else exit 2 at once."""
    import os

    from mao_tui.cli.request_checks import require_a_runnable_model
    from mao_tui.domain.errors import UsageError
    from mao_tui.engine import policy
    from mao_tui.engine.availability import unavailable_reason
    from mao_tui.service.bench_arms import PLAYBOOK
    from mao_tui.service.bench_run import single_model
    from mao_tui.service.session_request import SessionInputs, build_request

    if {"single", "best-of-n"} & set(arms):
        single = single_model(settings, model)
        reason = unavailable_reason(settings, single, os.environ, policy.today())
        if reason is not None:
            raise UsageError(
                f"the single model {single} cannot run here: {reason}; choose another with "
                "--model, or add --simulate to run on the built-in simulator"
            )
    if "mao" in arms:
        inputs = SessionInputs(playbook=PLAYBOOK, task="bench", project_dir=Path.cwd())
        require_a_runnable_model(settings, build_request(settings, inputs))
