"""How soon a change reaches the terminal: the dashboard's frame rate, and the first frame.

Textual paints a screen's changes on the next tick of the screen's timer, ``TEXTUAL_FPS`` ticks
a second, 60 by default: whatever a key changed waited 0-17 ms for that tick, after the key's
own work. Measured from outside (benchmarks/keys.py, tmux 160x48, seven models streaming), the
dashboard at 120 frames a second took ~10 ms off the p90 and p99 of every key: Enter 50 -> 36 ms
p50, all keys p90 52-53 -> 45 ms. Its panels still stream in ~20 batches a second, so it does
not paint more often while nothing is pressed. 240 was no better than 120: a key's changes then
land in two frames, not one.

Only the dashboard, where it was measured. Home and History keep Textual's rate: History's
open (headless, key -> first results painted) read 110 and 109 ms at 120 and 85 and 106 ms at
60 in two interleaved runs, which this machine's noise cannot tell apart (122 ms in a later run
at 60), so nothing says a faster timer helps or hurts them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from textual import constants
from textual.geometry import Size
from textual.screen import Screen
from textual.timer import Timer

FPS = 120

# A plain mixin at run time, as DimmedBackdrop is (mao_tui/tui/backdrop.py).
if TYPE_CHECKING:
    _Base = Screen[Any]
else:
    _Base = object


def frame_rate() -> int:
    """``FPS``, unless ``TEXTUAL_FPS`` says how many (Textual read it at import)."""
    return constants.MAX_FPS if "TEXTUAL_FPS" in os.environ else FPS


class FastFrames(_Base):
    """Mixed into a screen (before ``Screen``): its timer ticks ``frame_rate()`` times a second.

    Textual makes every screen's timer on first use, at its module's ``1 / MAX_FPS``; this is
    the same timer at another rate."""

    _frames: Timer | None = None

    @property
    def _update_timer(self) -> Timer:
        if self._frames is None:
            self._frames = self.set_interval(
                1 / frame_rate(), self._on_timer_update, name="screen_update", pause=True
            )
        return self._frames


class WholeFirstFrame(_Base):
    """Mixed into a screen that can be the app's first (before ``Screen``): its first layout,
    and so its first frame, waits for the end of Textual's start-up batch.

    Textual starts an app inside ``batch_update()`` (``App._process_messages``), and the first
    screen composes, mounts and lays out in its own task meanwhile. Home (or the dashboard) was
    laid out twice in there and painted once; ``App._display`` drops a frame painted in a
    batch, after the compositor had counted its regions as painted. The first frame that
    reached the terminal, ~30 ms later, was only what changed since (the inputs, without the
    form's border), and the whole screen ~25 ms after that (tmux 160x48: Home whole at 320 ms
    from the spawn, the bare app at 212). Now the batch ends sooner, with nothing laid out,
    and one layout then paints the whole screen (Home whole at 279 ms).

    Only before the app's first layout (``App._dom_ready``): later batches are Textual's own
    and mao's short swaps, which paint after they end as Textual means them to."""

    _waits_for_start: bool = False

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        app = self.app
        if app._batch_count and not app._dom_ready:
            if not self._waits_for_start:
                self._waits_for_start = True
                # the app's queue: it is read once the start-up batch has ended
                app.call_later(self._lay_out_after_start)
            return
        if size is None and not self.outer_size:  # never laid out: Textual would skip it
            size = app.size
        super()._refresh_layout(size, scroll)

    def _lay_out_after_start(self) -> None:
        # Now, not at the screen's next idle: a screen pushed over it meanwhile (a key typed
        # before the start) dims it as a backdrop, which needs it laid out.
        self._waits_for_start = False
        self._refresh_layout(self.app.size)
