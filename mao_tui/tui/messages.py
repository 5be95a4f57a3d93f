"""Textual messages: the engine's events as the session's sink posts them to the dashboard, and
the two a screen posts to ask the app to open a session (no screen imports the app).

Workers never touch widgets: the sink wraps each :data:`~mao_tui.domain.EngineEvent` in an
:class:`EngineMessage` (consecutive deltas in one :class:`Deltas`) and posts it to the dashboard
screen, which hands the event to its reducer. They stop there: the dashboard is their one reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mao_tui import domain
from mao_tui.service.ports import LiveSession


@dataclass
class EngineMessage(Message, bubble=False):
    """One engine event, for the dashboard's reducer."""

    event: domain.EngineEvent


@dataclass
class Deltas(Message, bubble=False):
    """Consecutive deltas, one message for all of them (see ``SessionRun._sink``): a message
    per delta cost more in dispatch than the rendering it led to."""

    events: list[domain.Delta]


@dataclass
class OpenSession(Message):
    """Show a session just started (Home) on a new dashboard: the app handles it."""

    session: LiveSession
    title: str
    simulated: bool


@dataclass
class OpenReview(Message):
    """Open a stored session in review (Home, History): the app handles it."""

    session_id: str
