"""Keeping the cyclic garbage collector's pauses short while models stream.

Measured from outside the process (benchmarks/keys.py, tmux 160x48, seven panels then the
synthesis streaming): every key slower than ~150 ms was waiting behind one collection of the
young generations, 140-190 ms, once every ~6 s. It freed 70-100 thousand objects, most of them
Textual's strips, which reached the collector only because each had cached a list holding
itself (below).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence

from textual.strip import Strip

# Collect the youngest generation every 20,000 allocations (Python's 700 ran the collector ~200
# times a second while seven panels streamed), the middle one every 4th time, so that it holds a
# few collections' survivors rather than twenty (a 150 ms pause at 20), and the oldest rarely:
# what is alive at start-up is frozen out of it, and Python also waits until a quarter of it is
# new.
THRESHOLDS = (20_000, 4, 100)

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
