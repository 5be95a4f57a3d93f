"""How fast each simulated model streams, and the paced sequence of text pieces it sends."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Literal

Channel = Literal["thinking", "text"]
Segment = tuple[Channel, str]

CHARS_PER_TOKEN = 4
TICK_S = 0.05  # at most one event per tick per stream
FIRST_TOKEN_S = 0.4  # time to first token at speed 1
UNPACED_PIECE = 64  # characters per event when pacing is off
DEFAULT_TOKENS_PER_S = 80.0
# Matched as substrings of the API model name; the longest matching key wins.
MODEL_TOKENS_PER_S: Mapping[str, float] = {
    "opus": 60.0,
    "sonnet": 80.0,
    "haiku": 160.0,
    "astra": 70.0,
    "sol": 90.0,
    "gemini-4": 85.0,
    "gemini-4-hydrogen": 180.0,
    "flash": 180.0,
    "gpt-5.2": 70.0,
    "gpt-5.2-codex": 90.0,
    "gemini-3-pro": 85.0,
}


def tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def tokens_per_s(model: str, overrides: Mapping[str, float] | None = None) -> float:
    table = {**MODEL_TOKENS_PER_S, **(overrides or {})}
    matches = [key for key in table if key in model]
    return table[max(matches, key=len)] if matches else DEFAULT_TOKENS_PER_S


def chars_per_s(model: str, speed: float, overrides: Mapping[str, float] | None = None) -> float:
    """Characters per second; ``math.inf`` means unpaced (speed inf or <= 0)."""
    if speed <= 0 or math.isinf(speed):
        return math.inf
    return tokens_per_s(model, overrides) * CHARS_PER_TOKEN * speed


def clip(segments: Sequence[Segment], limit: int) -> list[Segment]:
    """The first ``limit`` characters of the segments, in order."""
    out: list[Segment] = []
    for channel, text in segments:
        if limit <= 0:
            break
        out.append((channel, text[:limit]))
        limit -= len(text[:limit])
    return [(c, t) for c, t in out if t]


async def paced(
    segments: Sequence[Segment], cps: float, first_token_s: float = 0.0
) -> AsyncIterator[Segment]:
    """Yields the segments in pieces, keeping the cumulative rate at ``cps`` characters/second.

    A piece never spans two segments, so thinking and answer text arrive in separate events.
    """
    if math.isinf(cps):
        for channel, text in segments:
            for i in range(0, len(text), UNPACED_PIECE):
                yield channel, text[i : i + UNPACED_PIECE]
                await asyncio.sleep(0)
        return
    loop = asyncio.get_running_loop()
    await asyncio.sleep(first_token_s)
    start, sent = loop.time(), 0
    for channel, text in segments:
        pos = 0
        while pos < len(text):
            due = math.floor((loop.time() - start + TICK_S) * cps)
            n = max(1, due - sent)
            piece = text[pos : pos + n]
            pos += len(piece)
            sent += len(piece)
            yield channel, piece
            await asyncio.sleep(TICK_S)


async def evenly(segments: Sequence[Segment], pieces: int, gap_s: float) -> AsyncIterator[Segment]:
    """The segments in about ``pieces`` events, ``gap_s`` apart: a slow stream that never
    pauses long (each gap is short, the whole is long)."""
    total = sum(len(text) for _, text in segments)
    size = max(1, math.ceil(total / pieces))
    for channel, text in segments:
        for i in range(0, len(text), size):
            await asyncio.sleep(gap_s)
            yield channel, text[i : i + size]


FLOOD_PIECE = 16_384  # characters per event of a flood
FLOOD_LINE = "The model repeats itself and does not stop. "


async def flood(channel: Channel, total: int) -> AsyncIterator[Segment]:
    """``total`` characters on ``channel`` in large unpaced events; never held whole."""
    line = (FLOOD_LINE * (FLOOD_PIECE // len(FLOOD_LINE) + 1))[:FLOOD_PIECE]
    sent = 0
    while sent < total:
        piece = line[: min(FLOOD_PIECE, total - sent)]
        sent += len(piece)
        yield channel, piece
        await asyncio.sleep(0)
