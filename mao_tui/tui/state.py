"""The dashboard's view of a session, derived from engine events only (no Textual here).

Every value that is final comes from event timestamps (``event.at``) and engine-reported usage,
so a replayed session renders identically every time. Values still running tick on a
:class:`SessionClock`, which follows event time and advances with wall time between events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from mao_tui import domain
from mao_tui.domain import SYNTHESIS_KEY, AttemptStatus, WorkstreamStatus

if TYPE_CHECKING:  # pydantic models: loaded with the first event, after the first frame
    from mao_tui.domain import (
        AttemptFinished,
        AttemptStarted,
        CostEstimated,
        PlannedWorkstream,
        TokenTotals,
    )

CHARS_PER_TOKEN = 4  # only for the live "~" estimate before the provider reports usage

Phase = Literal["waiting", "thinking", "writing", "finished"]


class SessionClock:
    """Event time, advanced by monotonic wall time since the latest event; frozen at the end."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last_at: datetime | None = None
        self._last_mono = 0.0
        self.frozen = False

    def observe(self, at: datetime) -> None:
        if self._last_at is None or at >= self._last_at:
            self._last_at = at
            self._last_mono = self._monotonic()

    def now(self) -> datetime | None:
        if self._last_at is None or self.frozen:
            return self._last_at
        return self._last_at + timedelta(seconds=self._monotonic() - self._last_mono)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


class TextBuffer:
    """Streamed text, kept compact: deltas are joined into chunks of about a kilobyte (a list
    of tiny strings cost four times the text in memory)."""

    __slots__ = ("_chunks", "_recent", "chars")
    JOIN_EVERY = 64  # deltas

    def __init__(self, text: str = "") -> None:
        self._chunks: list[str] = [text] if text else []
        self._recent: list[str] = []
        self.chars = len(text)

    def append(self, text: str) -> None:
        self._recent.append(text)
        self.chars += len(text)
        if len(self._recent) >= self.JOIN_EVERY:
            self._chunks.append("".join(self._recent))
            self._recent.clear()

    @property
    def text(self) -> str:
        return "".join(self._chunks) + "".join(self._recent)

    def since(self, offset: int) -> str:
        """The text from character ``offset`` on (cheap when it is near the end)."""
        if offset >= self.chars:
            return ""
        tail: list[str] = []
        position = self.chars
        for piece in reversed([*self._chunks, *self._recent]):
            position -= len(piece)
            if position <= offset:
                tail.append(piece[offset - position :])
                break
            tail.append(piece)
        return "".join(reversed(tail))


@dataclass
class AttemptText:
    """One model call of a lane as the dashboard saw it: the raw streamed text, never a widget's."""

    attempt_id: str
    attempt_no: int
    model: str
    started_at: datetime
    thinking: TextBuffer = field(default_factory=TextBuffer)
    answer: TextBuffer = field(default_factory=TextBuffer)
    status: AttemptStatus = AttemptStatus.RUNNING
    error: str | None = None  # "kind: message" when it failed
    usage: TokenTotals = field(default_factory=lambda: domain.TokenTotals())
    elapsed_s: float | None = None
    ended_at: datetime | None = None
    candidate: int | None = None  # its number in a race
    check: str = ""  # a candidate's verification, in words

    @property
    def thinking_text(self) -> str:
        return self.thinking.text

    @property
    def answer_text(self) -> str:
        return self.answer.text

    @property
    def over(self) -> bool:
        return self.status is not AttemptStatus.RUNNING

    def receive(self, channel: str, text: str) -> None:
        (self.thinking if channel == "thinking" else self.answer).append(text)

    def replace_answer(self, text: str) -> None:
        self.answer = TextBuffer(text)


@dataclass
class Lane:
    """One row of the plan and one model panel: a workstream, or the synthesis."""

    key: str
    title: str
    chain: list[str]
    synthesis: bool = False
    model: str = ""
    provider: str = ""
    status: WorkstreamStatus = WorkstreamStatus.PENDING
    phase: Phase = "waiting"
    attempts: int = 0
    attempt_id: str | None = None
    thinking: bool = False
    first_started_at: datetime | None = None
    attempt_started_at: datetime | None = None
    finished_at: datetime | None = None
    usage: TokenTotals = field(default_factory=lambda: domain.TokenTotals())
    live_chars: int = 0
    last_rate: float | None = None  # tokens/s of the latest finished attempt, from usage
    notes: list[str] = field(default_factory=list)
    history: list[AttemptText] = field(default_factory=list)  # every attempt, in start order
    stale_because: list[str] = field(default_factory=list)  # synthesis: lanes rerun since
    used: str | None = None  # the attempt whose answer is the output (the synthesis's input)
    racing: dict[str, int] = field(default_factory=dict)  # a race running: model → number

    @classmethod
    def from_plan(cls, planned: PlannedWorkstream, *, synthesis: bool = False) -> Lane:
        """Synthesis deltas arrive keyed ``SYNTHESIS_KEY`` whatever the plan calls it."""
        return cls(
            key=SYNTHESIS_KEY if synthesis else planned.key,
            title=planned.title or ("Synthesis" if synthesis else planned.key),
            chain=list(planned.chain),
            synthesis=synthesis,
            model=planned.chain[0] if planned.chain else "?",
        )

    @property
    def running(self) -> bool:
        return self.status is WorkstreamStatus.RUNNING

    def start_attempt(self, event: AttemptStarted) -> None:
        self.status = WorkstreamStatus.RUNNING
        self.phase = "thinking" if event.thinking else "writing"
        self.attempts = max(self.attempts + 1, event.attempt_no)
        self.attempt_id = event.attempt_id
        self.model = event.model
        self.provider = event.provider
        self.thinking = event.thinking
        self.attempt_started_at = event.at
        self.first_started_at = self.first_started_at or event.at
        self.finished_at = None
        self.live_chars = 0
        self.history.append(
            AttemptText(event.attempt_id, self.attempts, event.model, started_at=event.at)
        )

    @property
    def current(self) -> AttemptText | None:
        """The attempt the panel shows: the latest one."""
        return self.history[-1] if self.history else None

    def attempt(self, attempt_id: str) -> AttemptText | None:
        return next((a for a in reversed(self.history) if a.attempt_id == attempt_id), None)

    def receive(self, channel: str, text: str) -> bool:
        """Keep a delta of the current attempt; True when it moved the lane to writing."""
        if self.history:
            self.history[-1].receive(channel, text)
        self.live_chars += len(text)
        if channel == "text" and self.phase == "thinking":
            self.phase = "writing"
            return True
        return False

    def finish_attempt(self, event: AttemptFinished) -> str | None:
        """Fold in an attempt's usage; returns a note when the attempt failed."""
        self.usage.add(event.usage)
        attempt = self.attempt(event.attempt_id)
        if attempt is not None:
            attempt.status = event.status
            attempt.usage = event.usage
            attempt.elapsed_s = event.elapsed_s
            attempt.ended_at = event.at
            if event.status is not AttemptStatus.OK:
                attempt.error = f"{event.error_kind or event.status.value}: {event.error_message}"
        if event.attempt_id == self.attempt_id:  # not an attempt already replaced by a newer one
            self.live_chars = 0
            if event.elapsed_s > 0 and event.usage.output_tokens:
                self.last_rate = event.usage.output_tokens / event.elapsed_s
        if event.status is AttemptStatus.OK:
            return None
        reason = event.error_kind or event.status.value
        number = attempt.attempt_no if attempt is not None else self.attempts
        note = f"✗ attempt {number} on {event.model} {event.status.value}: {reason}"
        self.notes.append(note)
        return note

    def finish(
        self,
        status: WorkstreamStatus,
        at: datetime,
        model: str | None,
        usage: TokenTotals | None,
    ) -> None:
        self.status = status
        self.phase = "finished"
        self.finished_at = at
        if model:
            self.model = model
        if usage is not None and (usage.input_tokens or usage.output_tokens or usage.cost_usd):
            self.usage = usage.model_copy()

    def elapsed(self, now: datetime | None) -> float | None:
        """Time spent in attempts, reruns included, but not the idle time between reruns."""
        spans = [
            seconds_between(a.started_at, a.ended_at or (now if not a.over else None))
            for a in self.history
        ]
        known = [span for span in spans if span is not None]
        return sum(known) if known else None

    def rate(self, now: datetime | None) -> tuple[float | None, bool]:
        """Tokens per second and whether it is a live estimate."""
        if self.running and self.live_chars:
            spent = seconds_between(self.attempt_started_at, now)
            if spent:
                return self.live_chars / CHARS_PER_TOKEN / spent, True
        return self.last_rate, False

    def status_text(self) -> str:
        if self.status is WorkstreamStatus.PENDING:
            return "waiting"
        if self.status is WorkstreamStatus.RUNNING:
            return f"running ({self.attempts})"
        if self.attempts > 1:
            return f"{self.status.value} ({self.attempts})"
        return self.status.value

    def phase_text(self) -> str:
        """The panel's status word: finer-grained than the table's while running."""
        if self.status is WorkstreamStatus.RUNNING:
            word = "thinking…" if self.phase == "thinking" else "writing…"
            return word if self.attempts == 1 else f"{word} attempt {self.attempts}"
        return self.status_text()


@dataclass(frozen=True)
class NoUsage:
    """Zero totals as plain data: what the status bar shows before the session's first usage
    (TokenTotals is a pydantic model, which the dashboard's first frame does without)."""

    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cost_usd: float = 0.0
    cost_complete: bool = True


NO_USAGE = NoUsage()


@dataclass
class SessionView:
    command: str = ""
    task: str = ""
    simulated: bool = False
    review: bool = False  # replayed from the database
    diversity: float | None = None  # the plan's diversity score
    reopened_at: datetime | None = None  # the latest rerun or re-synthesis after the end
    started_at: datetime | None = None
    finished_at: datetime | None = None
    final_elapsed: float | None = None
    status: str = "starting"
    error: str | None = None
    totals: TokenTotals | None = None  # None before the first usage (zeros on screen)
    fallbacks: int = 0
    budget_usd: float | None = None  # the cost budget; None: no limit
    estimate: CostEstimated | None = None  # the plan's, before it ran

    def elapsed(self, now: datetime | None) -> float | None:
        """Time spent running: the engine's figure once over, plus any rerun in progress."""
        if self.status == "running" and self.reopened_at is not None:
            extra = seconds_between(self.reopened_at, now) or 0.0
            return (self.final_elapsed or 0.0) + extra
        if self.final_elapsed is not None:
            return self.final_elapsed
        return seconds_between(self.started_at, now)
