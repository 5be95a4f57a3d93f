"""The service layer's ports: what a front end (the TUI) may ask of mao: a session to steer,
and the stored sessions to browse.

The TUI does no I/O of its own and imports neither the engine nor the store at run time:
:mod:`mao_tui.service.live_session` implements these protocols and the CLI hands them to
:class:`~mao_tui.tui.app.MaoApp`.
Refusals (a rerun that cannot run, a bad spec path) raise
:class:`mao_tui.domain.errors.ControlError` or :class:`mao_tui.domain.errors.UsageError`,
whose message is shown to the user as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the event models (pydantic) load after the first paint
    from mao_tui.domain import ApplyProposal, Declined, EventSink, SessionFinished
    from mao_tui.domain.budget_events import Ask
    from mao_tui.domain.pick_events import OutputPicked
    from mao_tui.domain.stored import SessionHit, SessionSummary

SessionRunner = Callable[["EventSink"], Awaitable["SessionFinished | None"]]
"""Runs a session into the sink; returns its end (or None when there was nothing to run)."""

ExportFormat = Literal["markdown", "json"]


@dataclass(frozen=True)
class ModelChoice:
    """A model the user may rerun a workstream on."""

    id: str
    label: str
    provider: str
    unavailable: str | None = None  # why it cannot run (retired, not on PATH, no key), or None
    current: bool = False  # the model the workstream last ran on

    @property
    def runnable(self) -> bool:
        return self.unavailable is None


class SessionControl(Protocol):
    """Steers a session that stays alive after its first run."""

    @property
    def busy(self) -> bool:
        """Some model work is running (the first run, a rerun or a synthesis)."""
        ...

    def running(self, key: str) -> bool:
        """This workstream (or ``synthesis``) has work running."""
        ...

    def rerun(self, key: str, model: str | None = None) -> None:
        """Run one workstream again, on ``model`` or the model it last ran on."""
        ...

    def cancel(self, key: str) -> bool:
        """Cancel the work running for one workstream; False when nothing was running."""
        ...

    def resynthesize(self, model: str | None = None) -> None:
        """Synthesize again from the latest successful output of every workstream."""
        ...

    def model_choices(self, key: str) -> list[ModelChoice]: ...


@runtime_checkable
class EnsembleControl(Protocol):
    """The compare view's pick and the race key (engine/steering.py)."""

    def race(self, key: str, count: int) -> None:
        """Run one workstream again as a race of ``count`` candidates."""
        ...

    async def pick(
        self,
        key: str,
        attempt_id: str,
        attempt_no: int,
        model: str,
        text: str,
        candidate: int | None = None,
    ) -> OutputPicked:
        """Make one attempt's answer the workstream's output, the synthesis's input."""
        ...


@runtime_checkable
class WorkspaceControl(Protocol):
    """Applies a session's synthesized files (output kind ``files``), verifies them, fixes.

    Each starts work in the background and returns at once; what happens arrives as engine
    events (files applied, verification output and results, a fix round's workstream)."""

    async def prepare_apply(self) -> None:
        """Ready the place files are applied in (the session's worktree, made on first use,
        when it has one); ControlError when it cannot be made."""
        ...

    def propose_apply(self) -> ApplyProposal:
        """What applying the latest synthesis would change, file by file and hunk by hunk."""
        ...

    def apply(self, proposal: ApplyProposal, declined: Declined | None = None) -> None:
        """Write the files ``proposal`` showed, but the hunks and files ``declined``, then run
        the verification commands (and commit, in a worktree)."""
        ...

    def fix(self) -> None:
        """Send the last verification's failures to the fix model and synthesize again."""
        ...


@runtime_checkable
class LandControl(Protocol):
    """A session that applies in its own git worktree (its commit lands on the user's branch) or,
    outside git, its temporary copy (the files it wrote are copied back)."""

    @property
    def landable(self) -> str:
        """The branch (or copy) ``land`` brings over; "" when there is nothing to land."""
        ...

    async def land(self) -> str:
        """Land it as ``mao land`` does; what happened, or ControlError saying why not."""
        ...


@runtime_checkable
class BudgetControl(Protocol):
    """A session with a cost budget: who decides when the next attempt would pass it."""

    def ask_budget_with(self, ask: Ask) -> None:
        """``ask`` is called (one question at a time) when the next attempt would pass the
        budget; until it is set, the session stops at the limit as headless does."""
        ...


class LiveSession(SessionControl, Protocol):
    """A session the dashboard runs (``run`` in its worker) and steers."""

    async def run(self, sink: EventSink) -> SessionFinished | None: ...


@dataclass(frozen=True)
class NewSession:
    """The Home screen's form."""

    task: str
    playbook: str = "develop"
    spec_path: Path | None = None
    sections: str = ""  # "2,3": spec sections to build; empty for the whole spec
    context_paths: list[Path] = field(default_factory=list)
    simulate: bool = False
    budget_usd: float | None = None  # the cost budget; None: the configuration's default


@dataclass(frozen=True)
class HistoryQuery:
    text: str = ""  # full-text search over tasks and outputs
    status: str | None = None
    playbook: str | None = None
    project_dir: str | None = None
    limit: int = 200


class Backend(Protocol):
    """Everything Home and History need."""

    @property
    def project_dir(self) -> Path: ...

    @property
    def export_dir(self) -> Path:
        """Where an export is written unless the user types another path."""
        ...

    @property
    def simulate_by_default(self) -> bool: ...

    def playbooks(self) -> list[tuple[str, str]]:
        """(name, description) of every playbook."""
        ...

    def prepare(self) -> None:
        """Load what the first frame did not need (the validated configuration); blocking,
        so Home calls it in a thread after its first frame."""
        ...

    def spec_sections(self, path: Path) -> list[str]:
        """The numbered sections of a spec file (``2 Storage``), for the Home form's hint."""
        ...

    def start(self, form: NewSession) -> tuple[LiveSession, str]:
        """A new session for the form (validated here) and its dashboard title."""
        ...

    def review(self, session_id: str) -> LiveSession:
        """A stored session, replayed from the database and open to reruns."""
        ...

    async def search(self, query: HistoryQuery) -> list[SessionHit]: ...

    async def snippet(self, session_id: str, text: str) -> str:
        """Where ``text`` matches in one session, the words marked (``store.records``)."""
        ...

    async def recent(self, limit: int) -> list[SessionSummary]: ...

    async def export(self, session_id: str, fmt: ExportFormat, path: Path) -> Path:
        """Write the stored session to ``path``; returns where it went."""
        ...
