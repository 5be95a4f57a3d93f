"""The collector's tuning: strips cut at their own end are freed without it, and cut as before."""

from __future__ import annotations

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
