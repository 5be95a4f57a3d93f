"""What one session is asked to do: a plain record, importable before the first paint without
the engine (the CLI builds it before the dashboard starts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain.ids import new_id
from mao_tui.engine.sections import Section

if TYPE_CHECKING:
    from mao_tui.domain import Plan


@dataclass(frozen=True)
class SessionRequest:
    command: str
    playbook: str
    task: str
    spec_text: str = ""
    simulated: bool = False
    project_dir: Path = field(default_factory=Path.cwd)
    session_id: str = field(default_factory=new_id)
    sections: list[Section] = field(default_factory=list)
    use_planner: bool = True  # False: the rule-based plan (--no-planner)
    fixed_plan: Plan | None = None  # a plan the user gave (--plan FILE); no planning at all
    # Shown the plan before any work: returns it (edited or not), or None to stop (--review-plan).
    review: Callable[[Plan], Awaitable[Plan | None]] | None = None
    out: Path | None = None  # where the output kind writes (--out); None: the playbook's folder
    # The cost budget in US dollars (--budget); None: the configuration's `global.budget`.
    budget_usd: float | None = None
    # A folder in a git repository whose map the orchestrator and whose most relevant files
    # the workstreams see (engine/repo_context.py); None: none (and outside git, none either).
    repository: Path | None = None
    # Candidate races asked on the command line (--candidates [KEY=]N): workstream key → N;
    # the key "" is the playbook's default workstream for a race (engine/candidates.py)
    candidates: dict[str, int] = field(default_factory=dict)
    # --cross-review / --no-cross-review: every race blindly cross-reviewed or not;
    # None: as the plan, then the playbook, says (engine/candidates.py with_candidates)
    cross_review: bool | None = None

    @property
    def section_texts(self) -> dict[str, str]:
        return {s.number: s.text for s in self.sections}
