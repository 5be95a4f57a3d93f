"""First paint and key-to-screen latency measured from outside the process, in tmux.

Needs ``tmux`` (3.0 or later) on PATH; the benchmark reports "not built" figures without it.
Every app runs in a tmux session of 160x48 on a private tmux server (``tmux -L``). The clock
runs in this process: from just before ``tmux new-session`` (first paint) or ``tmux send-keys``
(keys) to the first ``tmux capture-pane`` that shows the expected change. The same is measured
on a bare Textual app (a Static and a Footer, ``python -m benchmarks.tty_apps bare``) in the same
run, interleaved, and every figure is given as a ratio to it as well as in ms: this machine's
absolute times vary by ±50% between runs.

- First paint: spawn → first non-empty screen, for the bare app, ``mao`` (Home) and
  ``mao demo``, interleaved, median of N.
- Keys: ``python -m benchmarks.tty_apps stream`` (the real app, engine, SDKs and store on the
  simulator; seven workstream panels at 100 tokens/s, then the synthesis), pressing in turn
  ``f`` (maximize, restore), ``t`` (hide, show thinking), down/up in the plan (checking the
  cursor lands on the expected row), ``m`` (the model picker; Esc), ``?`` (help; Esc) and Enter
  (focuses the row's panel; shift+tab twice back to the plan), while it streams and once it is
  done. A key with no visible effect within :data:`BOUND_S` is *lost*; a row move that lands on
  another row than the expected one is *misapplied*.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.figures import BenchResult, Figure, Goal, median, percentile
from benchmarks.tty_apps import BARE_TEXT

SIZE = (160, 48)
BOUND_S = 5.0  # a key with no visible effect within this long is lost
PAINT_TIMEOUT_S = 30.0
KEY_GOAL = Goal("<=", 50, "≤ 50 ms p99")
PAINT_GOAL = Goal("<=", 250, "≤ 250 ms median")
LOST_GOAL = Goal("==", 0, "none")
GAP_S = 0.05  # between one key's effect and the next key
FINISHED_CYCLES = 4  # key cycles on the finished dashboard, per run
ESCAPES_PER_RUN = 6  # Esc presses on the bare app per run (its floor for Esc, see bare_keys)
PLAN_TITLE = "╭─ Plan"
_ROW = re.compile(r"^│ (\S+)")
_STYLE = re.compile(r"(?:\x1b\[[\d;]*m)*")
_ANSI = re.compile(r"\x1b\[[\d;]*m")

Screen = Callable[[str], bool]


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class Tmux:
    """A private tmux server; its environment (from ``env``) is every app's."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"mao-bench-{os.getpid()}"
        self.env = env
        self.count = 0
        self.run("new-session", "-d", "-s", "idle", "-x", "20", "-y", "5", "sleep 86400")

    def run(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout

    def spawn(self, argv: list[str], cwd: Path) -> tuple[str, float]:
        """Start ``argv`` in a new session; (its name, the perf_counter just before)."""
        self.count += 1
        name = f"app{self.count}"
        t0 = time.perf_counter()
        self.run(
            "new-session", "-d", "-s", name, "-x", str(SIZE[0]), "-y", str(SIZE[1]),
            "-c", str(cwd), " ".join(_quote(a) for a in argv),
        )  # fmt: skip
        return name, t0

    def screen(self, name: str, *, escapes: bool = False) -> str:
        return self.run("capture-pane", "-p", *(["-e"] if escapes else []), "-t", name)

    def app_screen(self, name: str) -> str:
        """The pane's text once the app is on the alternate screen (Textual's), else ""; what a
        command printed before its app started (``mao demo`` names its sample repository) is on
        the normal screen and is not the app's first frame."""
        out = self.run(
            "display", "-p", "-t", name, "#{alternate_on}", ";", "capture-pane", "-p", "-t", name
        )
        flag, _, text = out.partition("\n")
        return text if flag == "1" else ""

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", name, *keys)

    def kill(self, name: str) -> None:
        self.run("kill-session", "-t", name)

    def close(self) -> None:
        self.run("kill-server")


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def wait_for(
    tmux: Tmux, name: str, check: Screen, t0: float, bound_s: float, *, escapes: bool = False
) -> float | None:
    """ms from ``t0`` to the first capture for which ``check`` holds; None past ``bound_s``."""
    while True:
        text = tmux.screen(name, escapes=escapes)
        now = time.perf_counter()
        if check(text):
            return (now - t0) * 1000
        if now - t0 > bound_s:
            return None
        time.sleep(0.001)


# -- first paint ------------------------------------------------------------------------------


def first_paint(tmux: Tmux, argv: list[str], cwd: Path) -> float | None:
    name, t0 = tmux.spawn(argv, cwd)
    try:
        while True:
            text = tmux.app_screen(name)
            now = time.perf_counter()
            if text.strip():
                return (now - t0) * 1000
            if now - t0 > PAINT_TIMEOUT_S:
                return None
            time.sleep(0.001)
    finally:
        tmux.kill(name)


# -- keys -------------------------------------------------------------------------------------


@dataclass
class KeyLog:
    samples: dict[str, list[float | None]] = field(default_factory=dict)  # "phase key" -> ms
    misapplied: int = 0
    focus_not_back: int = 0  # cycles whose shift+tabs did not bring the focus back to the plan

    def add(self, phase: str, key: str, ms: float | None) -> None:
        self.samples.setdefault(f"{phase}\t{key}", []).append(ms)

    def phase(self, phase: str) -> list[float | None]:
        return [v for k, vs in self.samples.items() if k.startswith(phase + "\t") for v in vs]


LOST_SCREENS: list[str] = []  # the screen after each lost key (set MAO_BENCH_LOST_DIR to keep)


def press(tmux: Tmux, name: str, key: str, check: Screen, *, escapes: bool = False) -> float | None:
    t0 = time.perf_counter()
    tmux.keys(name, key)
    ms = wait_for(tmux, name, check, t0, BOUND_S, escapes=escapes)
    if ms is None:
        LOST_SCREENS.append(f"{key}\n{tmux.screen(name)}")
        where = os.environ.get("MAO_BENCH_LOST_DIR")
        if where:
            Path(where, f"lost-{len(LOST_SCREENS)}.txt").write_text(LOST_SCREENS[-1])
    time.sleep(GAP_S)
    return ms


def bare_keys(tmux: Tmux, cwd: Path, count: int, escapes: list[float | None]) -> list[float | None]:
    """``count`` presses of ``f`` on the bare app; then ESCAPES_PER_RUN of Esc into
    ``escapes``: a lone ESC byte is also how escape sequences begin, and Textual waits
    (``ESCDELAY``, its input thread's 100 ms poll) before it takes it for the key, in any app
    on a terminal without the kitty keyboard protocol (tmux 3.3 has none); mao's driver waits
    10 ms (mao_tui/tui/terminal_input.py), the bare app Textual's ~105."""
    name, t0 = tmux.spawn([sys.executable, "-m", "benchmarks.tty_apps", "bare"], cwd)
    out: list[float | None] = []
    try:
        wait_for(tmux, name, lambda s: BARE_TEXT[0] in s, t0, PAINT_TIMEOUT_S)
        for i in range(count + ESCAPES_PER_RUN):
            want = BARE_TEXT[(i + 1) % 2]
            key, into = ("f", out) if i < count else ("Escape", escapes)
            into.append(press(tmux, name, key, lambda s, w=want: w in s))  # type: ignore[misc]
    finally:
        tmux.kill(name)
    return out


def plan_rows(colored: str) -> tuple[list[str], int | None]:
    """The plan table's workstream names, and the index of the cursor row (the row whose
    first colours, after the border, no other row has)."""
    lines = colored.splitlines()
    plain = [re.sub(r"\x1b\[[\d;]*m", "", line) for line in lines]
    start = next((i for i, line in enumerate(plain) if line.startswith(PLAN_TITLE)), None)
    if start is None:
        return [], None
    names: list[str] = []
    styles: list[str] = []
    for raw, line in zip(lines[start + 2 :], plain[start + 2 :], strict=False):
        found = _ROW.match(line)
        if line.startswith("╰") or found is None:
            break
        names.append(found.group(1))
        after_border = raw.split("│", 1)[1] if "│" in raw else raw
        styles.append(_STYLE.match(after_border).group(0))  # type: ignore[union-attr]
    unique = [i for i, style in enumerate(styles) if styles.count(style) == 1]
    return names, unique[0] if len(unique) == 1 and len(styles) > 2 else None


def _status(plain: str) -> str:
    lines = [line for line in plain.splitlines() if line.strip()]
    return lines[-2].split()[0] if len(lines) >= 2 else ""


def _plan_line(colored: str) -> str:
    """The colours of the plan pane's top-left corner: they say whether the plan has the focus
    (the rest of the line changes as the fallback log fills)."""
    line = next((line for line in colored.splitlines() if "Plan" in line), "")
    return line.split("╭", 1)[0] if "╭" in line else ""


_CORNER = re.compile(r"((?:\x1b\[[\d;]*m)*)╭")


def _focus_marks(colored: str) -> tuple[list[str], list[tuple[int, int]]]:
    """What changes when the focus moves between the plan, the fallback log and the panels, and
    nothing else: the colours of the two panes' corners (``:focus-within``) and where the heavy
    corners are (a focused panel's border, and only that). The border lines as a whole also
    change while the session streams (a panel's colour when it finishes, the log's title): the
    BTab loop took that for its key's effect, pressed again before the first was handled, went
    past the plan and wrapped round to the last panels, and every later row move and Enter of
    the run went to a panel ("lost": 12 in a run of main, none of them the app's)."""
    lines = colored.splitlines()
    plan = next((line for line in lines if "Plan" in line), "")
    plain = [_ANSI.sub("", line) for line in lines]
    heavy = [(i, line.index("┏")) for i, line in enumerate(plain) if "┏" in line]
    return _CORNER.findall(plan), heavy


def dashboard_cycle(tmux: Tmux, name: str, log: KeyLog, phase: str) -> None:
    """One round of every key; ``phase`` labels the samples ("streaming" or "finished")."""
    log.add(phase, "f maximize", press(tmux, name, "f", lambda s: PLAN_TITLE not in s))
    log.add(phase, "f restore", press(tmux, name, "f", lambda s: PLAN_TITLE in s))
    if "Thinking" in tmux.screen(name):
        log.add(phase, "t hide", press(tmux, name, "t", lambda s: "Thinking" not in s))
        log.add(phase, "t show", press(tmux, name, "t", lambda s: "Thinking" in s))
    names, row = plan_rows(tmux.screen(name, escapes=True))
    if row is not None and len(names) > 1:
        order = ("Down", "Up") if row < len(names) - 1 else ("Up", "Down")
        for key in order:
            want = row + 1 if key == "Down" else row - 1
            seen: list[int | None] = []

            def moved(s: str, seen: list[int | None] = seen, before: int = row) -> bool:
                seen.append(plan_rows(s)[1])
                return seen[-1] is not None and seen[-1] != before

            log.add(phase, key.lower(), press(tmux, name, key, moved, escapes=True))
            if seen and seen[-1] not in (want, row):
                log.misapplied += 1
            row = seen[-1] if seen and seen[-1] is not None else row
    log.add(phase, "m picker", press(tmux, name, "m", lambda s: "Esc cancels" in s))
    log.add(phase, "esc close", press(tmux, name, "Escape", lambda s: "Esc cancels" not in s))
    log.add(phase, "? help", press(tmux, name, "?", lambda s: "mao · keys" in s))
    log.add(phase, "esc close", press(tmux, name, "Escape", lambda s: "mao · keys" not in s))
    focused = _plan_line(tmux.screen(name, escapes=True))
    if row is not None and focused:
        log.add(
            phase,
            "enter",
            press(tmux, name, "Enter", lambda s: _plan_line(s) != focused, escapes=True),
        )
        for _ in range(len(names) + 2):  # the row's panel has the focus; back to the plan
            if _plan_line(tmux.screen(name, escapes=True)) == focused:
                break
            before = _focus_marks(tmux.screen(name, escapes=True))
            t0 = time.perf_counter()
            tmux.keys(name, "BTab")  # one at a time: each waits for the focus to move
            wait_for(
                tmux, name, lambda s, b=before: _focus_marks(s) != b, t0, BOUND_S, escapes=True
            )  # type: ignore[misc]
            # As press() does: the blur and the focus can be painted a frame apart, and a
            # read between them showed the plan not focused yet; one more BTab then went past
            # it, and every later row move and Enter of the run went to a panel.
            time.sleep(GAP_S)
        else:
            if _plan_line(tmux.screen(name, escapes=True)) != focused:
                log.focus_not_back += 1


def dashboard_keys(
    tmux: Tmux, cwd: Path, log: KeyLog, streams: int, rate: float, cycles: int = FINISHED_CYCLES
) -> None:
    argv = [sys.executable, "-m", "benchmarks.tty_apps", "stream"]
    name, t0 = tmux.spawn([*argv, "--streams", str(streams), "--tokens-per-s", str(rate)], cwd)
    try:
        if wait_for(tmux, name, lambda s: "writing…" in s, t0, 60) is None:
            raise RuntimeError("the streaming app never started streaming:\n" + tmux.screen(name))
        while _status(tmux.screen(name)) == "running":
            dashboard_cycle(tmux, name, log, "streaming")
        for _ in range(cycles):
            dashboard_cycle(tmux, name, log, "finished")
    finally:
        tmux.kill(name)


# -- figures ----------------------------------------------------------------------------------


def _stats(values: list[float | None]) -> tuple[list[float], int]:
    seen = [v for v in values if v is not None]
    return seen, len(values) - len(seen)


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x the bare app" if floor else "no bare figure"


def run(*, smoke: bool = False) -> BenchResult:
    result = BenchResult("keys", "", [])
    if not tmux_available():
        result.notes.append("tmux is not installed (apt-get install tmux): nothing measured")
        return result
    paint_runs = 1 if smoke else 7
    bare_count = 6 if smoke else 40
    runs = 1 if smoke else 2
    streams, rate = (5, 400.0) if smoke else (7, 100.0)  # 6+ rows: see plan_rows
    mao = Path(sys.executable).with_name("mao")
    mao_argv = [str(mao)] if mao.exists() else [sys.executable, "-m", "mao_tui"]
    with tempfile.TemporaryDirectory(prefix="mao-bench-keys-") as tmpdir:
        tmp = Path(tmpdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MAO_", "TMUX"))}
        env.update(
            XDG_CONFIG_HOME=str(tmp / "config"),
            XDG_DATA_HOME=str(tmp / "data"),
            MAO_DB=str(tmp / "mao.db"),
            TMPDIR=str(tmp),  # `mao demo` makes its sample repository in a temporary folder
            PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]), *sys.path[1:2]]),
        )
        env.pop("TEXTUAL", None)
        # a user's mao starts from its cached bytecode: compiling every module from source at
        # each start (an environment that forbids writing it) added ~70 ms to each first paint
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        tmux = Tmux(env)
        try:
            apps = {
                "bare": [sys.executable, "-m", "benchmarks.tty_apps", "bare"],
                "home": mao_argv,
                "demo": [*mao_argv, "demo"],
            }
            paints: dict[str, list[float | None]] = {k: [] for k in apps}
            for i in range(paint_runs):
                order = list(apps)
                order = order[i % 3 :] + order[: i % 3]  # interleaved, each first in turn
                for key in order:
                    paints[key].append(first_paint(tmux, apps[key], tmp))
            bare: list[float | None] = []
            bare_esc: list[float | None] = []
            log = KeyLog()
            for _ in range(runs):
                bare += bare_keys(tmux, tmp, bare_count // runs, bare_esc)
                dashboard_keys(tmux, tmp, log, streams, rate, 1 if smoke else FINISHED_CYCLES)
            bare += bare_keys(tmux, tmp, bare_count // runs, bare_esc)
        finally:
            tmux.close()
    bare_paint = median(v for v in paints["bare"] if v is not None)
    for key, label in (("home", "`mao` (Home)"), ("demo", "`mao demo`")):
        seen, lost = _stats(paints[key])
        value = round(median(seen)) if seen else None
        result.figures.append(
            Figure(
                f"keys.first_paint_{key}_ms",
                f"first paint of {label} in tmux {SIZE[0]}x{SIZE[1]}, spawn → first non-empty "
                f"screen, median of {len(seen)}",
                value,
                "ms",
                PAINT_GOAL,
                bare_ratio=round(value / bare_paint, 2) if value is not None else None,
                detail=(
                    f"{_ratio(value, bare_paint)} ({bare_paint:.0f} ms, interleaved); "
                    f"min {min(seen):.0f}, max {max(seen):.0f} ms"
                    if value is not None
                    else f"no frame within {PAINT_TIMEOUT_S:.0f} s"
                ),
            )
        )
    result.figures.append(
        Figure(
            "keys.bare_first_paint_ms",
            f"bare Textual app (Static + Footer): first paint in tmux, median of "
            f"{len(paints['bare'])} (the calibration)",
            round(bare_paint),
            "ms",
            bare_ratio=1.0,
        )
    )
    bare_seen, bare_lost = _stats(bare)
    b50, b99 = percentile(bare_seen, 0.5), percentile(bare_seen, 0.99)
    result.figures.append(
        Figure(
            "keys.bare_p99_ms",
            f"bare Textual app (Static + Footer): key → screen p99, {len(bare)} keys "
            "(the calibration)",
            round(b99, 1),
            "ms",
            bare_ratio=1.0,
            detail=f"p50 {b50:.1f} ms, p90 {percentile(bare_seen, 0.9):.1f} ms; "
            f"first paint {bare_paint:.0f} ms (median); {bare_lost} lost",
        )
    )
    esc_seen, _ = _stats(bare_esc)
    e50 = percentile(esc_seen, 0.5) if esc_seen else math.nan
    result.figures.append(
        Figure(
            "keys.bare_escape_p50_ms",
            f"bare Textual app: Esc → screen p50, {len(bare_esc)} keys (Esc's floor: Textual "
            "waits before it takes a lone ESC byte for the key)",
            round(e50, 1) if esc_seen else None,
            "ms",
            bare_ratio=round(e50 / b50, 2) if esc_seen and b50 else None,
            detail=f"p99 {percentile(esc_seen, 0.99):.1f} ms; {_ratio(e50, b50)} (its f, p50)"
            if esc_seen
            else "",
        )
    )
    for phase, where in (
        ("streaming", f"while {streams} panels stream at {rate:g} tok/s, then the synthesis"),
        ("finished", "on the finished dashboard"),
    ):
        seen, lost = _stats(log.phase(phase))
        p99 = percentile(seen, 0.99)
        per_key = []
        for k, vs in log.samples.items():
            ph, key = k.split("\t")
            ks, kl = _stats(vs)
            if ph == phase and ks:
                floor = f"; the bare app's Esc: p50 {e50:.0f}" if key == "esc close" else ""
                per_key.append(
                    f"{key}: p50 {percentile(ks, 0.5):.0f} / p99 {percentile(ks, 0.99):.0f} ms"
                    f" ({len(vs)}{f', {kl} lost' if kl else ''}{floor if esc_seen else ''})"
                )
        result.figures.append(
            Figure(
                f"keys.{phase}_p99_ms",
                f"key → screen p99 {where} (f, t, arrows, m, ?, Esc, Enter)",
                round(p99, 1) if seen else None,
                "ms",
                KEY_GOAL,
                bare_ratio=round(p99 / b99, 2) if seen and b99 else None,
                detail=f"{_ratio(p99, b99)} (p99 {b99:.1f} ms); p50 {percentile(seen, 0.5):.0f}"
                f" ms ({_ratio(percentile(seen, 0.5), b50)}), p90 {percentile(seen, 0.9):.0f} ms; "
                f"{len(seen) + lost} keys\n" + "\n".join(per_key),
            )
        )
        result.figures.append(
            Figure(
                f"keys.{phase}_lost",
                f"keys lost (no visible effect within {BOUND_S:g} s) {where}",
                lost,
                "",
                LOST_GOAL,
            )
        )
    result.figures.append(
        Figure(
            "keys.misapplied",
            "row moves that landed on another row than the expected one",
            log.misapplied,
            "",
            LOST_GOAL,
            detail=f"cycles whose shift+tabs did not bring the focus back to the plan: "
            f"{log.focus_not_back} (the next cycle's row moves and Enter then go to a panel)",
        )
    )
    return result
