"""What every imitated stream shares: its context and token counts, the encoder each API
implements (simulator/wire_*.py), and the SSE framing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Literal, Protocol

from mao_tui.simulator.pacing import Channel

CREATED_AT = 1760000000
# How a stream ends: a whole answer, one cut off at the output limit, or a refusal.
Ending = Literal["stop", "max_tokens", "refusal"]


@dataclass(frozen=True, slots=True)
class StreamContext:
    model: str
    input_tokens: int  # all of the prompt, cached included
    request_number: int  # makes ids unique per simulator
    cached_tokens: int = 0  # the part of input_tokens served from the provider's cache
    minimal_usage: bool = False  # usage with only the fields every API requires


@dataclass(frozen=True, slots=True)
class TokenCounts:
    input: int
    thinking: int
    text: int

    @property
    def output(self) -> int:
        return self.thinking + self.text


class StreamEncoder(Protocol):
    media_type: str

    def opening(self) -> list[bytes]: ...

    def delta(self, channel: Channel, text: str) -> list[bytes]: ...

    def closing(self, usage: TokenCounts, ending: Ending = "stop") -> list[bytes]:
        """The end of the stream; a refusal also sends its text (``REFUSAL_TEXT``)."""
        ...

    def error(self) -> list[bytes]: ...

    def unknown(self) -> list[bytes]:
        """Events of a type the SDKs do not know (a newer API version): to be ignored."""
        ...

    def malformed(self) -> bytes:
        """One event whose data is not valid JSON."""
        ...


def dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sse_event(event: str | None, data: object, newline: str = "\n") -> bytes:
    payload = data if isinstance(data, str) else dumps(data)
    head = f"event: {event}{newline}" if event else ""
    return f"{head}data: {payload}{newline}{newline}".encode()


def fake_signature(seed: str) -> str:
    return base64.b64encode(hashlib.sha256(seed.encode()).digest() * 2).decode()
