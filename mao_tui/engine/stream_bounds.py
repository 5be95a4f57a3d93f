"""How much of one attempt's stream is kept: ``limits.max_answer_chars`` of answer and
``limits.max_thinking_chars`` of thinking (models.yaml's ``global:`` section).

A model that loops, or a server that streams without end, must not cost memory or database
space beyond these. Past the answer's bound the attempt ends ``truncated`` (the chain closes the
stream, so no more is read) and keeps what came before it. Past the thinking's bound the rest of
the thinking is dropped behind one visible marker and the answer goes on: the thinking is not
the deliverable, and the answer's own bound, the output-token limit and the total timeout still
end a stream that only thinks.
"""

from __future__ import annotations

from typing import Literal

from mao_tui.domain.sanitize import clean
from mao_tui.settings.schema import Limits

Channel = Literal["thinking", "text"]


def answer_over(limit: int) -> str:
    """The truncated attempt's detail."""
    return f"the answer passed the limit of {limit:,} characters (limits.max_answer_chars)"


def thinking_marker(limit: int) -> str:
    """What stands in the thinking where the rest of it was dropped."""
    return (
        f"\n[mao: the thinking passed the limit of {limit:,} characters "
        "(limits.max_thinking_chars); the rest of it is not kept]\n"
    )


class StreamBounds:
    """Counts one attempt's streamed characters and cuts each delta to what is left."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self.answer_chars = 0
        self.thinking_chars = 0
        self.thinking_dropped = 0  # characters of thinking not kept, past the bound

    def take(self, channel: Channel, raw: str) -> tuple[str, str | None]:
        """The cleaned part of ``raw`` to keep, and (for the answer only) the reason to stop
        when it passed its bound. Only the kept part is cleaned and nothing else is held."""
        if channel == "text":
            limit = self._limits.max_answer_chars
            room = limit - self.answer_chars
            if len(raw) <= room:
                piece = clean(raw)  # model output is untrusted: see sanitize.py
                self.answer_chars += len(raw)
                return piece, None
            self.answer_chars = limit
            return clean(raw[:room]), answer_over(limit)
        limit = self._limits.max_thinking_chars
        room = limit - self.thinking_chars
        if room < 0:  # the marker is out already
            self.thinking_dropped += len(raw)
            return "", None
        if len(raw) <= room:
            self.thinking_chars += len(raw)
            return clean(raw), None
        self.thinking_chars = limit + 1  # past it: the next delta is dropped whole
        self.thinking_dropped += len(raw) - room
        return clean(raw[:room]) + thinking_marker(limit), None
