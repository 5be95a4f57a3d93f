"""Modules a screen will need later, imported in a thread before then instead of on the loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import sys
import threading


def import_later(*modules: str) -> None:
    """Import ``modules`` in a daemon thread; then, on the loop, keep what they made out of the
    garbage collector's young generations (they live as long as the process: a collection
    that walks them is a stall of the loop). Whatever fails is left to its first use. Nothing
    is frozen when they were all imported already (a freeze keeps uncollected garbage too).

    The loop may import some of them meanwhile (a key that needs one): it then waits for this
    thread's import of it. Two threads importing modules that import each other in opposite
    orders could get one half initialised: what is passed here must be free of import cycles."""
    loop = asyncio.get_running_loop()
    new = [name for name in modules if name not in sys.modules]
    if not new:
        return

    def run() -> None:
        with contextlib.suppress(Exception):
            for name in new:
                importlib.import_module(name)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(gc.freeze)

    threading.Thread(target=run, name="mao-tui-imports", daemon=True).start()
