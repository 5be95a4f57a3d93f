"""Modules a screen will need later, imported in a thread before then instead of on the loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import threading


def import_later(*modules: str) -> None:
    """Import ``modules`` in a daemon thread; then, on the loop, keep what they made out of the
    garbage collector's young generations (they live as long as the process: a collection
    that walks them is a stall of the loop). Whatever fails is left to its first use.

    Call it once the loop imports nothing else: two threads importing modules that import each
    other in opposite orders may get one of them half initialised."""
    loop = asyncio.get_running_loop()

    def run() -> None:
        with contextlib.suppress(Exception):
            for name in modules:
                importlib.import_module(name)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(gc.freeze)

    threading.Thread(target=run, name="mao-tui-imports", daemon=True).start()
