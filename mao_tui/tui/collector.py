"""Keeping the cyclic garbage collector's pauses short while models stream.

Measured from outside the process (benchmarks/keys.py, tmux 160x48, seven panels then the
synthesis streaming): every key slower than ~150 ms was waiting behind one collection of the
young generations, 140-190 ms, once every ~6 s. It freed 70-100 thousand objects, most of them
Textual's strips, which reached the collector only because each had cached a list holding
itself (below).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterable, Sequence

from textual.strip import Strip

# Collect the youngest generation every 20,000 allocations (Python's 700 ran the collector ~200
# times a second while seven panels streamed), the middle one every 4th time, so that it holds a
# few collections' survivors rather than twenty (a 150 ms pause at 20), and the oldest rarely:
# what is alive at start-up is frozen out of it, and Python also waits until a quarter of it is
# new.
THRESHOLDS = (20_000, 4, 100)

# After a key, no collection for this long: the key's frame is painted within it, as a rule
# (benchmarks/keys.py: p90 ~40 ms). A key held down lets one run at least every HOLD_MAX_S.
HOLD_S = 0.05
HOLD_MAX_S = 0.25

_textual_divide = Strip.divide


def _divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    """``Strip.divide``, without caching a cut at the strip's own end.

    Textual (8.2) answers that cut with ``[self]`` and caches the list on the strip itself, a
    reference cycle: the compositor cuts most lines of a full repaint so, and each such strip,
    with its seven caches and segments, then waits for the collector instead of being freed
    when the screen stops using it."""
    cuts = list(cuts)
    length = self.cell_length
    if [cut for cut in cuts if cut <= length] == [length]:
        return [self]
    return _textual_divide(self, cuts)


def tune() -> None:
    """Freeze what start-up made, set the thresholds, and stop strips from caching themselves."""
    Strip.divide = _divide  # type: ignore[method-assign]
    gc.freeze()  # with the little garbage of start-up, when the CLI paused the collector for it
    gc.set_threshold(*THRESHOLDS)
    gc.enable()  # paused by the CLI during start-up (mao_tui/cli/__init__.py)


class KeyHold:
    """No collection between a key and its frame: the collector is paused from a key until
    HOLD_S after the last one, and what it would have collected waits until then.

    Measured from outside (benchmarks/keys.py, tmux, seven panels streaming, 3 runs per arm),
    collections of 4-16 ms had landed inside ``m``'s first frame, which allocates enough to
    start one most times: ``m`` 39-42 -> 31-32 ms p50, all keys' p90 39 -> 36 ms. The same
    collections then run after the frame, when the key's effect is on screen."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: float | None = None  # when this hold paused the collector
        self._release: asyncio.TimerHandle | None = None

    @property
    def held(self) -> bool:
        return self._since is not None

    def key(self) -> None:
        """A key arrived (on the event loop)."""
        now = self._clock()
        if self._since is None:
            if not gc.isenabled():
                return  # paused by someone else (the CLI's start-up): theirs to resume
            gc.disable()
            self._since = now
        elif now - self._since > HOLD_MAX_S:
            return  # keys held down: the pending release lets the collector run
        if self._release is not None:
            self._release.cancel()
        self._release = asyncio.get_running_loop().call_later(HOLD_S, self.release)

    def release(self) -> None:
        """The collector on again (and a pending release dropped); nothing if not held."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if self._since is not None:
            self._since = None
            gc.enable()
