"""``python -m benchmarks [NAME ...]``: run the benchmarks, print each figure against its goal.

With several names (or none: all of them), each benchmark runs in a fresh Python process so that
one cannot warm up or pollute another (imports, memory, the event loop).
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figures import (
    BenchResult,
    compare,
    load_average,
    machine,
    markdown_table,
    read_results,
    readme_table,
    render,
    replace_readme_block,
    result_from_dict,
    to_json,
    warn,
)

NAMES = (
    "startup",
    "keys",
    "responsiveness",
    "throughput",
    "orchestration",
    "history",
    "memory",
)
# benchmarks/responsiveness.py is the dashboard work's harness; streaming.py turns it into figures.
MODULES = {name: f"benchmarks.{name}" for name in NAMES} | {
    "responsiveness": "benchmarks.streaming"
}
QUIET_LOAD = 0.7
POLL_S = 60.0


def compile_bytecode() -> None:
    """Write mao's ``.pyc`` files first, as ``pip install`` does: with PYTHONDONTWRITEBYTECODE
    set (as on the shared development machine) every start would otherwise compile its ~250
    modules from source (~60 ms), which no installed mao does and the bare app does not pay."""
    import compileall

    import mao_tui

    compileall.compile_dir(Path(mao_tui.__file__).parent, quiet=1)


def run_one(name: str, *, smoke: bool) -> BenchResult:
    """Run one benchmark in this process."""
    module = importlib.import_module(MODULES[name])
    load = load_average()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    result: BenchResult = module.run(smoke=smoke)
    result.name, result.started_at, result.load_at_start = name, started, load
    result.seconds = round(time.perf_counter() - t0, 1)
    result.smoke = smoke
    for figure in result.figures:
        figure.judge(smoke=smoke)
    return result


def run_isolated(name: str, *, smoke: bool) -> BenchResult:
    """Run one benchmark in a child process; a crash becomes a result with a note."""
    with tempfile.TemporaryDirectory(prefix="mao-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks", name, "--child-result", str(out)]
        proc = subprocess.run([*cmd, "--smoke"] if smoke else cmd, check=False)
        if proc.returncode == 0 and out.exists():
            return result_from_dict(json.loads(out.read_text()))
    crashed = BenchResult(name, datetime.now(UTC).isoformat(timespec="seconds"), load_average())
    crashed.notes.append(f"the benchmark crashed (exit status {proc.returncode}); see its output")
    return crashed


def wait_for_quiet(threshold: float, max_s: float) -> None:
    """Poll the 1-minute load average until it is below ``threshold`` or ``max_s`` has passed."""
    deadline = time.monotonic() + max_s
    while True:
        load = load_average()
        if not load or load[0] < threshold:
            return
        if time.monotonic() >= deadline:
            warn(f"load average still {load[0]:.2f} (≥ {threshold}); measuring anyway")
            return
        warn(f"load average {load[0]:.2f} ≥ {threshold}: waiting {POLL_S:.0f} s for quiet")
        time.sleep(POLL_S)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks for mao. Each prints its figures, the goals, met or missed.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of: {', '.join(NAMES)} (default: all)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, goals not judged (the test suite's run)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results to FILE")
    parser.add_argument(
        "--compare", type=Path, metavar="FILE", help="compare with the results in FILE"
    )
    parser.add_argument(
        "--table",
        type=Path,
        metavar="FILE",
        help="print the table of docs/benchmarks.md from FILE, and exit",
    )
    parser.add_argument(
        "--readme",
        type=Path,
        metavar="FILE",
        help="rewrite README.md's benchmark table from FILE (results.json), and exit",
    )
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help=f"before each benchmark, wait (polling every {POLL_S:.0f} s) until the 1-minute "
        "load average is below --quiet-load",
    )
    parser.add_argument("--quiet-load", type=float, default=QUIET_LOAD, metavar="LOAD")
    parser.add_argument(
        "--wait-max", type=float, default=1800.0, metavar="S", help="wait at most S s in all"
    )
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if args.table is not None:
        machine_info, earlier = read_results(args.table)
        print(markdown_table(machine_info, earlier))
        return 0
    if args.readme is not None:
        machine_info, earlier = read_results(args.readme)
        readme = Path(__file__).resolve().parent.parent / "README.md"
        table = readme_table(machine_info, earlier)
        readme.write_text(
            replace_readme_block(readme.read_text(encoding="utf-8"), table), encoding="utf-8"
        )
        return 0
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        warn(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
        return 2
    baseline = read_results(args.compare)[1] if args.compare else None
    if args.child_result is not None:
        (name,) = args.names
        result = run_one(name, smoke=args.smoke)
        args.child_result.write_text(json.dumps(asdict(result)))
        return 0
    names = list(args.names) or list(NAMES)
    compile_bytecode()
    machine_info = machine()
    deadline = time.monotonic() + args.wait_max
    results: list[BenchResult] = []
    failed = False
    for name in names:
        if args.wait_quiet:
            wait_for_quiet(args.quiet_load, max(0.0, deadline - time.monotonic()))
        if len(names) > 1:
            result = run_isolated(name, smoke=args.smoke)
        else:
            try:
                result = run_one(name, smoke=args.smoke)
            except Exception:
                traceback.print_exc()
                return 1
        failed = failed or any("crashed" in n for n in result.notes)
        results.append(result)
        print(render(result), flush=True)
    if args.json is not None:
        args.json.write_text(to_json(results, machine_info, argv), encoding="utf-8")
        print(f"results written to {args.json}")
    if baseline is not None:
        print(compare(baseline, results))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
