"""How long mao takes to paint its first screen, counted from the start of the process.

At the first paint the app logs "started in N ms" (Textual's log: ``textual console`` shows it).
With ``MAO_STARTUP_LOG=FILE`` set it also appends one JSON line to FILE: the figure, which
provider SDKs were already imported (none should be: together they take seconds to import), the
mao modules and the top-level packages loaded so far. ``python -m benchmarks startup`` reads it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from textual.app import App

LOG_ENV = "MAO_STARTUP_LOG"
SDK_MODULES = ("anthropic", "openai", "google.genai", "httpx2")
# What opening the store costs; the first frame must not wait for it.
_NOT_BEFORE_PAINT = ("aiosqlite", "genai_prices")

_imported_at = time.perf_counter()


def process_age_s() -> float | None:
    """Seconds since this process started, from /proc (10 ms resolution); None elsewhere."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of proc(5), counted after the ")"
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def watch_first_paint(app: App[Any]) -> None:
    """Call once the first screen is pushed: reports after that screen's first refresh."""
    app.call_after_refresh(_first_paint, app)


def _first_paint(app: App[Any]) -> None:
    age = process_age_s()
    clock = "process start"
    if age is None:
        age, clock = time.perf_counter() - _imported_at, "startup module import"
    ms = round(age * 1000, 1)
    sdks = [name for name in SDK_MODULES if name in sys.modules]
    app.log.info(f"started in {ms:.0f} ms (since {clock}); SDKs imported: {sdks or 'none'}")
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    record = {
        "first_paint_ms": ms,
        "since": clock,
        "screen": type(app.screen).__name__,
        "sdk_modules": sdks,
        "mao_modules": sorted(m for m in sys.modules if m.startswith("mao_tui")),
        "heavy_modules": [name for name in _NOT_BEFORE_PAINT if name in sys.modules],
        "packages": sorted({name.partition(".")[0] for name in sys.modules}),
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
