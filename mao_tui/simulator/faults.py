"""Scripted failures: which requests fail, how, and how often."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

FaultKind = Literal[
    "stall",
    "stall_before_headers",
    "rate_limit",
    "server_error",
    "overloaded",
    "drop",
    "truncate",
    "in_stream_error",
    "auth",
    "not_found",
    "context_length",
    "thinking_rejected",  # a 400 naming the thinking parameter (see `when_thinking`)
    "malformed",  # a chunk that is not JSON, after `after_chars`
    "unknown_events",  # event types no SDK knows, between the real ones; the stream completes
    "slow",  # the whole answer in `pieces` events `gap_s` apart; the stream completes
    "escapes",  # terminal escape sequences (HOSTILE_TEXT) in thinking and answer; completes
    "bad_json",  # the answer's JSON made invalid (simulator/qa.py break_json); completes
    # The provider's own ending for an answer cut off at the output limit, after `after_chars`
    # (Anthropic stop_reason max_tokens, Responses response.incomplete max_output_tokens, chat
    # finish_reason length, Gemini finishReason MAX_TOKENS); usage is billed as for any answer
    "max_tokens",
    # The provider's own refusal, after `after_chars` of thinking (Anthropic stop_reason
    # refusal, a Responses refusal content part, a chat delta.refusal, Gemini SAFETY)
    "refusal",
    "minimal_usage",  # usage with only the fields every API requires; the stream completes
    # A looping model or a hostile server: `flood_chars` characters of answer (or of thinking,
    # `flood_channel`), unpaced in large events, then a proper ending if the client still reads
    "flood",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

# Kinds answered with an HTTP error status instead of a stream.
HttpErrorKind = Literal[
    "rate_limit",
    "server_error",
    "overloaded",
    "auth",
    "not_found",
    "context_length",
    "thinking_rejected",
]
HTTP_ERROR_KINDS: frozenset[str] = frozenset(get_args(HttpErrorKind))
# Kinds that stream `after_chars` characters of content first.
MID_STREAM_KINDS: frozenset[str] = frozenset(
    {"stall", "drop", "truncate", "in_stream_error", "malformed", "max_tokens", "refusal"}
)
# Kinds that stop early but end the stream the provider's own way, usage included.
ENDING_KINDS: frozenset[str] = frozenset({"max_tokens", "refusal"})
# Kinds that change how a stream is sent but still end it properly.
COMPLETING_KINDS: frozenset[str] = frozenset(
    {"unknown_events", "slow", "escapes", "bad_json", "minimal_usage", "flood"}
)

# What a refusing model says (OpenAI's refusal text, Claude's is alike).
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."

# What a hostile model (or server) might send a terminal: CSI (colour, clear screen, cursor
# home), OSC 52 (set the clipboard), OSC 8 (a link whose text hides its target), OSC 0 (window
# title), BEL, BS, CR over a line, DEL, a C1 CSI (0x9b) and a C1 OSC (0x9d), and a Markdown
# link. The escapes fault puts it at the start and in the middle of every streamed segment.
HOSTILE_TEXT = (
    "\x1b[31mred\x1b[0m \x1b[2J\x1b[H"
    "\x1b]52;c;cm0gLXJmIH4=\x07"
    "\x1b]8;;https://evil.example/x\x1b\\innocent link\x1b]8;;\x1b\\ "
    "\x1b]0;pwned\x07\x07\x08\x08 fake\rreal \x7f"
    "\x9b31m\x9d0;c1\x9c "
    "[a link](https://evil.example/md)\n"
)


def with_escapes(text: str) -> str:
    """``text`` with HOSTILE_TEXT before it and in its middle (the escapes fault)."""
    middle = len(text) // 2
    return HOSTILE_TEXT + text[:middle] + HOSTILE_TEXT + text[middle:]


@dataclass(frozen=True)
class FaultRule:
    kind: FaultKind
    model: str | None = None  # matches the API model name in the request (None = any)
    workstream: str | None = None  # matches the workstream key detected in the prompt (None = any)
    times: int | None = 1  # how many matching requests it fires for (None = always)
    after_chars: int = 200  # for mid-stream faults: stream this many characters first
    retry_after: float = 0.5  # for rate_limit (sent as retry-after header)
    status: int | None = None  # for HTTP error kinds: another status, same body (503, 529)
    # thinking_rejected: only requests asking for this thinking value (effort, level or
    # budget, e.g. "xhigh"); None: any request that asks for thinking
    when_thinking: str | None = None
    gap_s: float = 0.05  # slow: the pause between two events
    pieces: int = 20  # slow: how many content events
    # auth: the error message repeats the credential headers it got, as a careless proxy might
    echo_credentials: bool = False
    flood_chars: int = 50_000_000  # flood: how many characters it streams
    flood_channel: Literal["text", "thinking"] = "text"  # flood: which part floods

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")
        if self.after_chars < 0:
            raise ValueError("after_chars must be >= 0")
        if self.status is not None and self.kind not in HTTP_ERROR_KINDS:
            raise ValueError(f"status applies to HTTP error kinds only, not {self.kind!r}")
        if self.echo_credentials and self.kind != "auth":
            raise ValueError(f"echo_credentials applies to auth only, not {self.kind!r}")
        if self.gap_s < 0 or self.pieces < 1:
            raise ValueError("gap_s must be >= 0 and pieces >= 1")
        if self.flood_chars < 1:
            raise ValueError("flood_chars must be >= 1")

    def matches(
        self,
        model: str | None,
        workstream: str | None,
        thinking: Mapping[str, str] | None = None,
    ) -> bool:
        if self.kind == "thinking_rejected" and self.rejected_param(thinking or {}) is None:
            return False
        return (self.model is None or self.model == model) and (
            self.workstream is None or self.workstream == workstream
        )

    def rejected_param(self, thinking: Mapping[str, str]) -> str | None:
        """thinking_rejected: the parameter (of those the request set) it objects to."""
        for param, value in thinking.items():
            if self.when_thinking is None or self.when_thinking.lower() == value.lower():
                return param
        return None


class FaultBook:
    """The rules of one simulator and how often each has fired; the first live match wins."""

    def __init__(self, rules: Sequence[FaultRule]) -> None:
        self._rules = tuple(rules)
        self._fired = [0] * len(self._rules)

    def take(
        self,
        model: str | None,
        workstream: str | None,
        thinking: Mapping[str, str] | None = None,
    ) -> FaultRule | None:
        for i, rule in enumerate(self._rules):
            live = rule.times is None or self._fired[i] < rule.times
            if live and rule.matches(model, workstream, thinking):
                self._fired[i] += 1
                return rule
        return None

    def fired(self) -> list[tuple[FaultRule, int]]:
        return list(zip(self._rules, self._fired, strict=True))


def demo_faults() -> list[FaultRule]:
    """The demo's scripted failure: Gemini 4 Argon stalls on Schemas once, so Sonnet 5.5 (the
    route's fallback) takes over."""
    return [FaultRule(kind="stall", model="gemini-4-argon", workstream="schemas", times=1)]
