"""The terminal's input thread: Esc, arrows and text from a pipe, and how long it may wait."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator

import pytest
from textual import constants, events
from textual._xterm_parser import XTermParser
from textual.message import Message

from mao_tui.tui import terminal_input
from mao_tui.tui.app import MaoApp
from mao_tui.tui.terminal_input import POLL_S, Driver, escape_delay, wait_s


@pytest.fixture(autouse=True)
def textual_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(constants, "ESCAPE_DELAY", constants.ESCAPE_DELAY)  # restored after
    monkeypatch.delenv("ESCDELAY", raising=False)


def test_the_wait_is_10_ms_unless_escdelay_says(monkeypatch: pytest.MonkeyPatch) -> None:
    escape_delay()
    assert constants.ESCAPE_DELAY == terminal_input.ESCAPE_DELAY_S == 0.010
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.08)
    monkeypatch.setenv("ESCDELAY", "80")
    escape_delay()
    assert constants.ESCAPE_DELAY == 0.08


def test_the_thread_waits_only_as_long_as_a_lone_esc_may_wait() -> None:
    escape_delay()
    parser = XTermParser()
    assert wait_s(parser) == POLL_S  # nothing pending: Textual's own poll
    assert list(parser.feed("\x1b")) == []  # Esc, or the start of a sequence
    assert 0 <= wait_s(parser) <= terminal_input.ESCAPE_DELAY_S
    assert [event.key for event in parser.feed("[A") if isinstance(event, events.Key)] == ["up"]
    assert wait_s(parser) == POLL_S


class _PipeDriver(Driver):
    """The driver's input thread on a pipe, its messages in a queue."""

    def __init__(self, fileno: int) -> None:  # no app, no terminal: only what the thread reads
        self.fileno = fileno
        self._debug = False
        self.exit_event = threading.Event()
        self.messages: queue.Queue[Message] = queue.Queue()

    def process_message(self, message: Message) -> None:
        self.messages.put(message)

    def next_key(self) -> str:
        while True:
            message = self.messages.get(timeout=10)
            if isinstance(message, events.Key):
                return message.key


@pytest.fixture
def piped() -> Iterator[tuple[_PipeDriver, int]]:
    read_end, write_end = os.pipe()
    driver = _PipeDriver(read_end)
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        yield driver, write_end
    finally:
        driver.exit_event.set()
        os.close(write_end)
        thread.join(timeout=10)
        os.close(read_end)
    assert not thread.is_alive()


def test_a_lone_esc_is_the_key_and_sequences_are_still_keys(
    piped: tuple[_PipeDriver, int],
) -> None:
    driver, pipe = piped
    os.write(pipe, b"\x1b")
    assert driver.next_key() == "escape"
    os.write(pipe, b"\x1b[B")
    assert driver.next_key() == "down"
    os.write(pipe, "é?".encode())
    assert [driver.next_key(), driver.next_key()] == ["é", "question_mark"]
    os.write(pipe, b"\x1b")
    assert driver.next_key() == "escape"


def test_the_app_reads_a_linux_terminal_with_this_driver() -> None:
    driver = MaoApp(lambda *_: None, simulated=True).get_driver_class()  # type: ignore[arg-type]
    assert driver is Driver or driver.__module__ != "textual.drivers.linux_driver"
