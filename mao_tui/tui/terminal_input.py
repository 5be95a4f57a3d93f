"""Reading the terminal: Textual's Linux driver, taking a lone Esc as soon as its delay is over.

On a terminal without the kitty keyboard protocol (tmux 3.3, GNOME Terminal, xterm), Esc is a
lone ESC byte, which is also how arrows, function keys and mouse reports begin: the parser
waits ``ESCDELAY`` for more. Textual's input thread looks at that wait only when ``select``
returns, after more input or 100 ms of none, so Esc took ~105 ms (benchmarks/keys.py measured
it on a bare Textual app) whatever ``ESCDELAY`` said. This thread wakes when the wait is over,
and the wait is 10 ms unless ``ESCDELAY`` (milliseconds, as for curses programs) says otherwise:
a terminal, tmux or ssh writes a key's whole sequence at once. 10 ms is tmux's own default
``escape-time`` since tmux 3.5 (it was 500), for the same wait in front of every program it runs.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL_S = 0.1  # as Textual's: how often the thread looks at the exit flag
ESCAPE_DELAY_S = 0.010


def escape_delay() -> None:
    """Textual's wait for the rest of an escape sequence: ``ESCDELAY`` if set, else 10 ms."""
    if "ESCDELAY" not in os.environ:
        setattr(constants, "ESCAPE_DELAY", ESCAPE_DELAY_S)  # noqa: B010 (Final in Textual)


def wait_s(parser: XTermParser) -> float:
    """How long the input thread may wait for input: until the parser's Esc wait is over."""
    deadline: float | None = getattr(parser, "_timeout_time", None)
    if deadline is None:
        return POLL_S
    return min(POLL_S, max(0.0, deadline - get_time()))


class Driver(LinuxDriver):
    """Textual's ``LinuxDriver`` whose input thread wakes when an Esc's wait is over."""

    def run_input_thread(self) -> None:
        escape_delay()
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for last, (_key, mask) in loop_last(ready):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(self.fileno, 4096), final=final and last)
                    if not data:
                        break  # stdin is a pipe that was closed
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(wait_s(parser)))
            selector.unregister(self.fileno)
            process(selector.select(POLL_S), final=True)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _event in parser.feed(""):
                    pass
