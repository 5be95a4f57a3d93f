"""How soon a change reaches the terminal.

Textual paints a screen's changes on its next tick of a timer that runs at ``TEXTUAL_FPS``
frames a second, 60 by default: whatever a key changed waited 0-17 ms for that tick, after the
key's own work. Measured from outside (benchmarks/keys.py, tmux 160x48, seven models streaming),
120 frames a second took ~10 ms off the p90 and p99 of every key: Enter 50 -> 36 ms p50, all
keys p90 52-53 -> 45 ms. The panels still stream in ~20 batches a second, so the dashboard does
not paint more often while nothing is pressed. 240 was no better than 120: a key's changes then
land in two frames, not one.
"""

from __future__ import annotations

import os

from textual import constants, screen

FPS = 120


def frame_rate() -> None:
    """Paint up to ``FPS`` frames a second, unless ``TEXTUAL_FPS`` says how many."""
    if "TEXTUAL_FPS" in os.environ:
        return
    setattr(constants, "MAX_FPS", FPS)  # noqa: B010 (Final in Textual: read when screens tick)
    setattr(screen, "UPDATE_PERIOD", 1 / FPS)  # noqa: B010
