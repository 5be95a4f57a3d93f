"""The collector's tuning: strips cut at their own end are freed without it, and cut as before;
no collection between a key and its frame."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator, Sequence

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from mao_tui.tui import collector

Divide = Callable[[Strip, list[int]], Sequence[Strip]]


@pytest.fixture
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _strip() -> Strip:
    return Strip([Segment("hello ", Style(bold=True)), Segment("world", None)], 11)


def _unreachable_after_cut(divide: Divide) -> int:
    """Objects only the collector could free once a strip cut at its own end is dropped."""
    strip = _strip()
    divide(strip, [strip.cell_length])
    del strip
    return gc.collect()


@pytest.mark.usefixtures("collector_paused")
def test_a_strip_cut_at_its_own_end_is_freed_without_the_collector() -> None:
    assert _unreachable_after_cut(collector._divide) == 0


@pytest.mark.usefixtures("collector_paused")
def test_textuals_own_divide_still_keeps_the_strip_in_a_cycle() -> None:
    if _unreachable_after_cut(collector._textual_divide) == 0:
        pytest.skip("Textual no longer caches [self] on the strip: collector._divide can go")


@pytest.mark.parametrize(
    "cuts", [[11], [20], [3, 11], [0, 5, 11], [5], [], [6, 11, 40], [4, 8, 11]]
)
def test_divide_cuts_as_textual_does(cuts: list[int]) -> None:
    ours = collector._divide(_strip(), cuts)
    textuals = collector._textual_divide(_strip(), cuts)
    assert [(s.text, s.cell_length, list(s)) for s in ours] == [
        (s.text, s.cell_length, list(s)) for s in textuals
    ]


def test_a_cut_at_the_end_answers_the_strip_itself() -> None:
    strip = _strip()
    assert list(collector._divide(strip, iter([11]))) == [strip]  # any iterable, as Textual's


def test_tune_sets_the_thresholds_and_the_divide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Strip, "divide", collector._textual_divide)
    before = gc.get_threshold()
    try:
        collector.tune()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert Strip.divide is collector._divide
    finally:
        gc.set_threshold(*before)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector_on() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if enabled else gc.disable)()


async def _loop_turns(count: int = 3) -> None:
    for _ in range(count):  # call_later(0) runs on one of the loop's next turns
        await asyncio.sleep(0)


@pytest.mark.usefixtures("collector_on")
async def test_a_key_pauses_the_collector_until_hold_s_after_the_last_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    hold = collector.KeyHold(clock)
    monkeypatch.setattr(collector, "HOLD_S", 3600.0)  # released by hand below
    hold.key()
    assert not gc.isenabled() and hold.held
    clock.now = 0.1
    hold.key()  # a second key extends the hold
    assert not gc.isenabled()
    monkeypatch.setattr(collector, "HOLD_S", 0.0)
    clock.now = 0.2
    hold.key()  # re-armed at HOLD_S (now 0) after this key
    await _loop_turns()
    assert gc.isenabled() and not hold.held


@pytest.mark.usefixtures("collector_on")
async def test_keys_held_down_let_the_collector_run_every_hold_max_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    hold = collector.KeyHold(clock)
    monkeypatch.setattr(collector, "HOLD_S", 3600.0)
    hold.key()
    pending = hold._release
    clock.now = collector.HOLD_MAX_S + 0.01
    hold.key()  # past the longest hold: not extended, the pending release stands
    assert hold._release is pending and pending is not None and not pending.cancelled()
    hold.release()
    assert gc.isenabled() and pending.cancelled()
    clock.now += 0.01
    hold.key()  # the next key starts a new hold
    assert not gc.isenabled()
    hold.release()
    assert gc.isenabled()


async def test_a_collector_paused_by_someone_else_is_theirs_to_resume() -> None:
    enabled = gc.isenabled()
    gc.disable()
    try:
        hold = collector.KeyHold(Clock())
        hold.key()
        assert not hold.held
        hold.release()
        assert not gc.isenabled()
    finally:
        (gc.enable if enabled else gc.disable)()
