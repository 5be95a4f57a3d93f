"""Figure 1, start-up: ``mao --help``, the dashboard's first paint, and what is imported before it.

- ``mao --help``: wall time of the real command, median of N runs (and its peak RSS from
  ``/usr/bin/time -v`` when present).
- First paint, inside: ``mao demo`` logs "started in N ms" at its first paint
  (``mao_tui/tui/startup.py``, enabled by ``MAO_STARTUP_LOG``), counted from the process start.
- First paint, outside: ``mao demo`` runs in a pseudo-terminal (200x60) and the clock runs from just
  before the fork to the first screen frame written to the terminal (the first cursor-positioned
  text after the switch to the alternate screen).
- Provider SDKs loaded at first paint (must be none), ``python -X importtime`` of the modules loaded
  at first paint grouped by package, and the SDKs' own import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figures import BenchResult, Figure, Goal, median

FIRST_PAINT_GOAL = Goal("<=", 250, "≤ 250 ms median")
SIZE = (200, 60)  # columns, rows
FRAME = re.compile(rb"\x1b\[\d+;\d+H[^\x1b]")  # a cursor move followed by text
ALT_SCREEN = b"\x1b[?1049h"
DASHBOARD_TEXT = b"Workstream"  # the plan table's header: the dashboard itself is on screen
PAINT_TIMEOUT_S = 30.0

# `mao demo` under cProfile until its first paint; the profile goes to the file named in argv[1].
_PROFILE = r"""
import cProfile, sys
import mao_tui.tui.startup as startup
profiler = cProfile.Profile()
reported = startup._first_paint
def first_paint(app):
    profiler.disable()
    profiler.dump_stats(sys.argv[1])
    reported(app)
startup._first_paint = first_paint
profiler.enable()
from mao_tui.cli import main
main(["demo"])
"""

# The phases of `mao demo` on a configuration whose checks passed before (every run after the
# first): it paints before it makes the sample repository and checks the request.
_PHASES = r"""
import json, os, time
def age():
    with open("/proc/self/stat", "rb") as f:
        ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
    return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
out = {"interpreter": age()}
t = time.perf_counter(); import mao_tui.cli; out["import mao_tui.cli"] = time.perf_counter() - t
t = time.perf_counter()
import mao_tui.cli.demo, mao_tui.service.live_session, mao_tui.tui.app, mao_tui.tui.dashboard
out["import the demo's command, the app and the dashboard"] = time.perf_counter() - t
from pathlib import Path
from mao_tui.service.launch import Launch
t = time.perf_counter()
Launch(project_dir=Path.cwd(), config_dir=None, db_path=Path("unused.db")).remembered()
out["the configuration's digest (read and hashed, not validated)"] = time.perf_counter() - t
print(json.dumps(out))
"""


def mao_command() -> list[str]:
    script = Path(sys.executable).with_name("mao")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mao_tui"]


def _isolated_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAO_")}
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(SIZE[0]),
        LINES=str(SIZE[1]),
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_DATA_HOME=str(tmp / "data"),
        MAO_DB=str(tmp / "mao.db"),
        TMPDIR=str(tmp),  # `mao demo` makes its sample repository in a new temporary folder
    )
    env.pop("TEXTUAL", None)  # no devtools
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # started from cached bytecode, as a user's mao is
    return env


def _wall_ms(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _peak_rss_mb(cmd: list[str], env: dict[str, str]) -> float | None:
    if not Path("/usr/bin/time").exists():
        return None
    out = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, check=False
    )
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr)
    return int(found.group(1)) / 1024 if found else None


# -- first paint in a pseudo-terminal -----------------------------------------------------------


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def paint_once(
    env: dict[str, str], cwd: Path, log: Path | None, cmd: list[str] | None = None
) -> dict[str, float | None]:
    """One ``mao demo`` in a pty: ms to the first frame and to the dashboard's text, then stop it.

    With ``log`` (the ``MAO_STARTUP_LOG`` file), waits for the app's record before stopping it.
    """
    import fcntl
    import struct
    import termios

    cmd = cmd or [*mao_command(), "demo"]
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.chdir(cwd)
        os.execve(cmd[0], cmd, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    seen = b""
    logged = _lines(log) if log is not None else 0
    limit = PAINT_TIMEOUT_S
    marks: dict[str, float | None] = {"frame": None, "dashboard": None}
    try:
        while time.perf_counter() - t0 < PAINT_TIMEOUT_S and marks["dashboard"] is None:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break  # the child is gone
            now_ms = (time.perf_counter() - t0) * 1000
            seen += chunk
            start = seen.find(ALT_SCREEN)
            if marks["frame"] is None and start >= 0 and FRAME.search(seen, start):
                marks["frame"] = now_ms
            if marks["frame"] is not None and DASHBOARD_TEXT in seen[start:]:
                marks["dashboard"] = now_ms
        while log is not None and _lines(log) < logged + 1 and time.perf_counter() - t0 < limit:
            time.sleep(0.02)  # the app logs just after the frame: let it, before stopping it
    finally:
        _stop(pid, fd)
    return marks


def _stop(pid: int, fd: int) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                if select.select([fd], [], [], 0.05)[0]:
                    os.read(fd, 1 << 16)  # keep draining so the child never blocks on write
            except OSError:
                pass
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                os.close(fd)
                return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    os.close(fd)


def _paint_profile(env: dict[str, str], cwd: Path, log: Path) -> list[str]:
    """cProfile of one ``mao demo`` from its first line to its first paint (in a pty)."""
    import pstats

    from benchmarks.figures import profile_lines

    out = cwd / "paint.prof"
    paint_once(env, cwd, log, [sys.executable, "-c", _PROFILE, str(out)])
    if not out.exists():
        return ["(the profiled run did not reach its first paint)"]
    stats = pstats.Stats(str(out))
    return [
        "cProfile from the first line to the first paint (its overhead inflates pure-Python "
        "code such as YAML parsing), mao_tui frames by cumulative time:",
        *profile_lines(stats, limit=8, sort="cumtime", only=("mao_tui/",)),
        "all frames by own time:",
        *profile_lines(stats, limit=8),
    ]


# -- python -X importtime ---------------------------------------------------------------------


ImportRow = tuple[int, int, int, str]  # self µs, cumulative µs, nesting depth, module


def _importtime(statement: str, env: dict[str, str]) -> list[ImportRow]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if found:
            self_us, cum_us, indent, name = found.groups()
            rows.append((int(self_us), int(cum_us), (len(indent) - 1) // 2, name))
    return rows


def importtime(modules: list[str], env: dict[str, str]) -> list[ImportRow]:
    """Every import done by a fresh ``import modules``, the interpreter's own start-up left out."""
    return importtime_of("import " + ", ".join(modules), env)


def importtime_of(statement: str, env: dict[str, str]) -> list[ImportRow]:
    """Every import done by running ``statement`` in a fresh interpreter, its start-up left out."""
    interpreter = {name for *_, name in _importtime("pass", env)}
    return [row for row in _importtime(statement, env) if row[3] not in interpreter]


def by_package(rows: list[ImportRow]) -> list[tuple[str, float]]:
    """Import self time grouped by top-level package, in ms, most first."""
    totals: dict[str, float] = {}
    for self_us, _cum, _depth, name in rows:
        root = name.split(".")[0]
        totals[root] = totals.get(root, 0.0) + self_us / 1000
    return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)


def top_level_ms(rows: list[ImportRow]) -> float:
    return sum(cum for _s, cum, depth, _n in rows if depth == 0) / 1000


# -- the benchmark ----------------------------------------------------------------------------


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("startup", "", [])
    runs = 1 if smoke else 10
    paint_runs = 1 if smoke else 7
    with tempfile.TemporaryDirectory(prefix="mao-bench-startup-") as tmpdir:
        tmp = Path(tmpdir)
        env = _isolated_env(tmp)
        help_ms = _wall_ms([*mao_command(), "--help"], env, runs)
        bare_ms = _wall_ms([sys.executable, "-c", "pass"], env, runs)
        help_rss = _peak_rss_mb([*mao_command(), "--help"], env)
        result.figures.append(
            Figure(
                "startup.help_ms",
                f"`mao --help` wall time, median of {runs}",
                round(median(help_ms)),
                "ms",
                detail=f"min {min(help_ms):.0f} ms, max {max(help_ms):.0f} ms; "
                f"a bare `python -c pass` takes {median(bare_ms):.0f} ms"
                + (f"; peak RSS {help_rss:.0f} MB (/usr/bin/time -v)" if help_rss else ""),
            )
        )

        log = tmp / "startup.jsonl"
        env_paint = {**env, "MAO_STARTUP_LOG": str(log)}
        outside: list[float] = []
        dashboard: list[float] = []
        for _ in range(paint_runs):
            marks = paint_once(env_paint, tmp, log)
            if marks["frame"] is not None:
                outside.append(marks["frame"])
            if marks["dashboard"] is not None:
                dashboard.append(marks["dashboard"])
        records = (
            [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        )
        inside = [float(r["first_paint_ms"]) for r in records]
        sdks = sorted({name for r in records for name in r["sdk_modules"]})
        screens = sorted({r["screen"] for r in records})
        result.figures.append(
            Figure(
                "startup.first_paint_inside_ms",
                f"first paint, inside the app (process start → first refresh), median of "
                f"{len(inside)}",
                round(median(inside)) if inside else None,
                "ms",
                FIRST_PAINT_GOAL,
                detail=(
                    f"min {min(inside):.0f}, max {max(inside):.0f} ms; screen {', '.join(screens)};"
                    " /proc start time has 10 ms resolution"
                    if inside
                    else "no 'started in' record: is watch_first_paint() called by the app?"
                ),
            )
        )
        result.figures.append(
            Figure(
                "startup.first_paint_outside_ms",
                f"first paint, outside (fork → first frame on a pty), median of {len(outside)}",
                round(median(outside)) if outside else None,
                "ms",
                FIRST_PAINT_GOAL,
                detail=(
                    f"min {min(outside):.0f}, max {max(outside):.0f} ms; the dashboard's text "
                    f"was on screen at {median(dashboard):.0f} ms (median)"
                    if outside and dashboard
                    else f"no frame seen within {PAINT_TIMEOUT_S:.0f} s"
                ),
            )
        )
        result.figures.append(
            Figure(
                "startup.sdks_before_paint",
                "provider SDK packages imported before first paint",
                len(sdks) if records else None,
                "",
                Goal("==", 0, "none"),
                detail=", ".join(sdks) if sdks else "none of anthropic, openai, google.genai",
            )
        )

        # the last run: the first one checked the demo's request before its paint, the next
        # ones paint first (a configuration whose checks passed before)
        modules = records[-1]["mao_modules"] if records else ["mao_tui.cli", "mao_tui.tui.app"]
        rows = importtime(modules, env)
        packages = by_package(rows)
        slowest = sorted(rows, reverse=True)[:8]
        result.figures.append(
            Figure(
                "startup.paint_imports_ms",
                "import time of the modules loaded at first paint (python -X importtime)",
                round(top_level_ms(rows)),
                "ms",
                detail="by package (self time): "
                + ", ".join(f"{name} {ms:.0f}" for name, ms in packages[:8])
                + " ms\nslowest modules (self): "
                + ", ".join(f"{name} {s / 1000:.0f}" for s, _c, _d, name in slowest)
                + " ms",
            )
        )
        sdk_rows = importtime(["anthropic", "openai", "google.genai"], env)
        result.figures.append(
            Figure(
                "startup.sdk_import_ms",
                "import time of the three provider SDKs together (python -X importtime)",
                round(top_level_ms(sdk_rows)),
                "ms",
                detail=", ".join(
                    f"{name} {cum / 1000:.0f} ms" for _s, cum, depth, name in sdk_rows if depth == 0
                ),
            )
        )
        if not smoke and (not inside or median(inside) > FIRST_PAINT_GOAL.value):
            phases = json.loads(
                subprocess.run(
                    [sys.executable, "-c", _PHASES],
                    env=env,
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            breakdown = [f"{name}: {s * 1000:.0f} ms" for name, s in phases.items()]
            explained = sum(phases.values()) * 1000
            if inside:
                rest = median(inside) - explained
                breakdown.append(
                    "the rest (Textual's start of the dashboard: styles, layout, first render; "
                    f"the sample repository and the checks come after it): {rest:.0f} ms"
                )
            breakdown.append(
                "import self time by package: "
                + ", ".join(f"{name} {ms:.0f} ms" for name, ms in packages[:6])
            )
            breakdown += _paint_profile(env_paint, tmp, log)
            result.figure("startup.first_paint_inside_ms").dominated_by = breakdown
            result.figure("startup.first_paint_outside_ms").dominated_by = [
                "the same start-up as the inside figure: see its breakdown"
            ]
    return result
