"""What every benchmark reports: figures against goals, the machine, and comparisons between runs.

A :class:`Figure` is one number with its unit, its goal (if the issue states one) and what
dominates it when the goal is missed. A :class:`BenchResult` is one benchmark's figures, with the
load average at its start. A results file is ``{"format", "created_at", "machine", "benchmarks"}``.
"""

from __future__ import annotations

import cProfile
import json
import math
import os
import platform
import pstats
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
FORMAT = 1

Op = Literal["<=", ">=", "=="]
Better = Literal["lower", "higher"]
Status = Literal["met", "missed", "info", "not built", "smoke"]


@dataclass(frozen=True)
class Goal:
    op: Op
    value: float
    text: str  # as the issue states it, e.g. "≤ 250 ms median"

    def met_by(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.value
        if self.op == ">=":
            return value >= self.value
        return value == self.value

    def miss_by(self, value: float) -> str:
        """How far a missed value is from the goal, e.g. "+340 ms (2.4x the goal)"."""
        gap = value - self.value
        ratio = f" ({value / self.value:.1f}x the goal)" if self.value else ""
        return f"{gap:+,.0f}{ratio}" if abs(gap) >= 10 else f"{gap:+.1f}{ratio}"


@dataclass
class Figure:
    id: str  # stable across runs: what --compare matches on
    label: str
    value: float | None  # None: not measured (see detail)
    unit: str
    goal: Goal | None = None
    better: Better | None = "lower"
    detail: str = ""
    status: Status = "info"
    dominated_by: list[str] = field(default_factory=list)  # filled when the goal is missed
    bare_ratio: float | None = None  # value / the bare Textual app's, measured in the same run

    def judge(self, *, smoke: bool) -> None:
        if self.value is None:
            self.status = "not built" if self.status == "not built" else "info"
        elif smoke and self.goal is not None:
            self.status = "smoke"
        elif self.goal is None:
            self.status = "info"
        else:
            self.status = "met" if self.goal.met_by(self.value) else "missed"

    @property
    def missed(self) -> bool:
        return self.status == "missed"


@dataclass
class BenchResult:
    name: str
    started_at: str
    load_at_start: list[float]
    seconds: float = 0.0
    smoke: bool = False
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, figure_id: str) -> Figure:
        return next(f for f in self.figures if f.id == figure_id)


# -- the machine ------------------------------------------------------------------------------


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_mb": _memory_total_mb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _version(name)
            for name in (
                "textual",
                "rich",
                "anthropic",
                "openai",
                "google-genai",
                "aiosqlite",
                "pydantic",
            )
        },
        "commit": (_git("rev-parse", "--short", "HEAD") + (" (modified)" if dirty else "")) or None,
        "load_at_start": load_average(),
    }


# -- measuring helpers ------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def median(values: Iterable[float]) -> float:
    return percentile(values, 0.5)


def rss_mb() -> float:
    """This process's resident set size now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def profile_top(fn: Callable[[], object], *, limit: int = 8, sort: str = "tottime") -> list[str]:
    """Run ``fn`` under cProfile; the ``limit`` functions with the most time, one line each."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    return profile_lines(profiler, limit=limit, sort=sort)


def profile_lines(
    profiler: cProfile.Profile | pstats.Stats,
    *,
    limit: int = 8,
    sort: str = "tottime",
    only: tuple[str, ...] = (),
) -> list[str]:
    """The top entries of a profile, one line each, idle waits left out; ``only``: frames whose
    path has one of these."""
    stats = profiler if isinstance(profiler, pstats.Stats) else pstats.Stats(profiler)
    rows: list[tuple[float, float, int, str]] = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        if only and not any(part in filename for part in only):
            continue
        if name in _IDLE or filename.endswith("selectors.py"):
            continue  # the event loop waiting for work: time, not CPU
        label = f"{name} ({_short_path(filename)}:{line})" if line else name
        rows.append((tottime, cumtime, calls, label))
    key = 0 if sort == "tottime" else 1
    rows.sort(key=lambda r: r[key], reverse=True)
    return [
        f"{tt * 1000:8.0f} ms self {100 * tt / total:4.1f}%  {ct * 1000:8.0f} ms cum  "
        f"{calls:>8} calls  {label}"
        for tt, ct, calls, label in rows[:limit]
    ]


_IDLE = {"<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.poll' objects>"}


def _short_path(filename: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return filename


# -- reporting -----------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} {unit}".strip()


_MARK = {
    "met": "MET",
    "missed": "MISSED",
    "info": "info",
    "not built": "NOT BUILT",
    "smoke": "smoke",
}


def render(result: BenchResult) -> str:
    load = " ".join(f"{x:.2f}" for x in result.load_at_start) or "?"
    lines = [
        f"== {result.name}{' (smoke run: tiny sizes, goals not judged)' if result.smoke else ''}"
        f"  [{result.seconds:.1f} s, load average at start {load}]"
    ]
    for f in result.figures:
        goal = f"goal {f.goal.text}" if f.goal else "no goal stated"
        verdict = _MARK[f.status]
        if f.missed and f.goal is not None and f.value is not None:
            verdict += f" by {f.goal.miss_by(f.value)} {f.unit}".rstrip()
        ratio = f" = {f.bare_ratio:.2f}x the bare app" if f.bare_ratio is not None else ""
        lines.append(f"  {f.label}: {_fmt(f.value, f.unit)}{ratio}   ({goal}: {verdict})")
        if f.detail:
            lines.extend(f"      {row}" for row in f.detail.splitlines())
        if f.dominated_by:
            lines.append("      what dominates:")
            lines.extend(f"        {row}" for row in f.dominated_by)
    lines.extend(f"  note: {n}" for n in result.notes)
    return "\n".join(lines)


def to_json(results: list[BenchResult], machine_info: dict[str, Any], argv: list[str]) -> str:
    data = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(argv),
        "machine": machine_info,
        "benchmarks": {r.name: asdict(r) for r in results},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def result_from_dict(data: dict[str, Any]) -> BenchResult:
    figures = []
    for raw in data.get("figures", []):
        goal = raw.get("goal")
        figures.append(Figure(**{**raw, "goal": Goal(**goal) if goal else None}))
    return BenchResult(**{**data, "figures": figures})


def read_results(path: Path) -> tuple[dict[str, Any], list[BenchResult]]:
    """(machine, results) from a file written by ``--json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"benchmarks: {path}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"benchmarks: {path}:{exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SystemExit(f"benchmarks: {path}: not a results file of format {FORMAT}")
    benches = [result_from_dict(b) for b in data.get("benchmarks", {}).values()]
    return data.get("machine", {}), benches


def compare(old: list[BenchResult], new: list[BenchResult]) -> str:
    """Each figure measured in both runs: before → after, the change, better or worse."""
    before = {f.id: f for r in old for f in r.figures}
    lines = ["== compared with the earlier run"]
    for result in new:
        for f in result.figures:
            prev = before.get(f.id)
            if prev is None or prev.value is None or f.value is None:
                continue
            change = f.value - prev.value
            pct = f" ({100 * change / prev.value:+.0f}%)" if prev.value else ""
            if change == 0 or f.better is None:
                verdict = "same" if change == 0 else "changed"
            else:
                improved = (change < 0) == (f.better == "lower")
                verdict = "better" if improved else "worse"
            lines.append(
                f"  {f.id}: {_fmt(prev.value, f.unit)} → {_fmt(f.value, f.unit)}{pct}  {verdict}"
                f"  [{prev.status} → {f.status}]"
            )
    if len(lines) == 1:
        lines.append("  no figure in common")
    return "\n".join(lines)


def markdown_table(machine_info: dict[str, Any], results: list[BenchResult]) -> str:
    """The table of docs/benchmarks.md: one row per figure."""
    rows = [
        "| figure | result | × bare app | goal | verdict | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        load = f"{r.load_at_start[0]:.2f}" if r.load_at_start else "?"
        for f in r.figures:
            goal = f.goal.text if f.goal else "—"
            verdict = _MARK[f.status]
            if f.missed and f.goal is not None and f.value is not None:
                verdict += f" by {f.goal.miss_by(f.value)} {f.unit}".rstrip()
            ratio = f"{f.bare_ratio:.2f}x" if f.bare_ratio is not None else "—"
            rows.append(
                f"| {f.label} | {_fmt(f.value, f.unit)} | {ratio} | {goal} | {verdict} | {load} |"
            )
    m = machine_info
    pkgs = m.get("packages", {})
    rows.append("")
    rows.append(
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_mb')} MB, "
        f"{m.get('os')}; Python {m.get('python')}, SQLite {m.get('sqlite')}, "
        f"Textual {pkgs.get('textual')}, anthropic {pkgs.get('anthropic')}, "
        f"openai {pkgs.get('openai')}, google-genai {pkgs.get('google-genai')}; "
        f"commit {m.get('commit')}."
    )
    rows.append(
        "*load*: the 1-minute load average when the benchmark started. *× bare app*: the figure "
        "over the same figure of a bare Textual app (a Static and a Footer) measured in the same "
        "run, interleaved (`keys`), since absolute times here vary by ±50% from run to run."
    )
    return "\n".join(rows)


README_START = (
    "<!-- benchmarks: generated by python -m benchmarks --readme benchmarks/results.json -->"
)
README_END = "<!-- benchmarks: end -->"


def readme_table(machine_info: dict[str, Any], results: list[BenchResult]) -> str:
    """The README's short table: only the figures with a goal, by id, with the bare-app ratio."""
    rows = [
        "| figure | result | × bare app | goal | verdict |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for f in r.figures:
            if f.goal is None:
                continue
            ratio = f"{f.bare_ratio:.2f}x" if f.bare_ratio is not None else "—"
            rows.append(
                f"| `{f.id}` | {_fmt(f.value, f.unit)} | {ratio} | {f.goal.text} "
                f"| {_MARK[f.status]} |"
            )
    m = machine_info
    rows.append("")
    rows.append(
        f"One run of `python -m benchmarks` at commit {m.get('commit')} on {m.get('cores')} cores "
        f"(Python {m.get('python')}, Textual {m.get('packages', {}).get('textual')}); the bare "
        "Textual app measured in the same run."
    )
    return "\n".join(rows)


def replace_readme_block(readme: str, table: str) -> str:
    """``readme`` with the text between the benchmark markers replaced by ``table``."""
    head, start, rest = readme.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        raise ValueError(f"the README has no {README_START!r} ... {README_END!r} block")
    return f"{head}{README_START}\n{table}\n{README_END}{tail}"


def warn(message: str) -> None:
    sys.stderr.write(f"benchmarks: {message}\n")
