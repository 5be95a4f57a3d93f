"""Where a candidate race's answers are verified: each in its own fresh copy of the workspace,
never in the user's tree (engine/candidates.py runs the race and selects).

The copy leaves out ``.git`` and ``.mao``; the candidate's files (its ``mao-files`` manifest,
fenced blocks naming paths, or search/replace hunks) are applied to it under the same rules as
``--apply`` (engine/apply.py: confined, size limits), then the session's checks run there, the
same ones ``--apply`` would run (checks/resolve.py: verify.yaml, detected, or the playbook's).
Their progress is not published as verification events (those are the workspace's); each
candidate's result is one ``candidate_verified`` event. The copies are removed by :meth:`close`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from mao_tui.checks.model import ProjectFileError
from mao_tui.checks.resolve import CheckPlan, resolve_checks
from mao_tui.domain import WorkspaceEvent
from mao_tui.domain.candidate_events import CandidateCheck
from mao_tui.engine.apply import apply_all, plan_changes
from mao_tui.engine.check_runs import run_checks
from mao_tui.engine.edits import synthesis_edits
from mao_tui.settings.schema import Settings

_LEFT_OUT = (".git", ".mao")


async def _unpublished(event: WorkspaceEvent) -> None:
    """A candidate's check progress stays out of the session's verification events."""


class WorkspaceCopies:
    """A :class:`~mao_tui.engine.candidates.CandidateVerifier` over copies of ``workspace``
    (a function: the workspace is told only when a race asks, a demo's fresh one included)."""

    def __init__(
        self, settings: Settings, playbook: str, workspace: Callable[[], Path], session_id: str
    ) -> None:
        self._settings = settings
        self._playbook = playbook
        self._workspace = workspace
        self._session_id = session_id
        self._root: Path | None = None
        self._plan: CheckPlan | str | None = None  # str: why the checks cannot be told

    @property
    def workspace(self) -> Path:
        return self._workspace().resolve()

    def _checks(self) -> CheckPlan | str:
        if self._plan is None:
            try:
                self._plan = resolve_checks(self._settings, self._playbook, self.workspace)
            except ProjectFileError as exc:
                self._plan = f"cannot tell how to verify: {exc}"
        return self._plan

    def describe(self) -> str:
        plan = self._checks()
        if isinstance(plan, str) or not plan.commands:
            return "no checks (none are configured for this project)"
        return ", ".join(f"{c.name} (`{' '.join(c.argv)}`)" for c in plan.commands)

    async def baseline(self) -> CandidateCheck:
        return await self._run("baseline", None)

    async def verify(self, text: str, label: str, baseline: CandidateCheck) -> CandidateCheck:
        check = await self._run(label, text)
        if not check.verified:
            return check
        new = [name for name in check.failed if name not in baseline.failed]
        return check.model_copy(update={"new_failures": new})

    def close(self) -> None:
        """Remove every copy made (idempotent)."""
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def _run(self, label: str, text: str | None) -> CandidateCheck:
        plan = self._checks()
        if isinstance(plan, str):
            return CandidateCheck(detail=plan)
        try:
            folder = await asyncio.to_thread(self._copy, label)
        except (OSError, shutil.Error) as exc:
            return CandidateCheck(detail=f"the workspace could not be copied: {exc}")
        files = 0
        if text is not None:
            edits = synthesis_edits(folder, text)
            if edits.error or not edits.files:
                return CandidateCheck(folder=str(folder), detail=edits.error or "no files")
            limits = self._settings.registry.global_.limits
            changes = plan_changes(folder, edits.files, limits)
            written = apply_all(folder, changes, folder / ".mao" / "backups")
            files = sum(w.status == "written" for w in written)
            if not any(w.status in ("written", "unchanged") for w in written):
                return CandidateCheck(folder=str(folder), detail="no file could be written")
        results = await run_checks(
            plan.commands, folder, self._session_id, 0, _unpublished, key_names=self._key_names()
        )
        return CandidateCheck(
            verified=bool(plan.commands),
            folder=str(folder),
            files=files,
            passed=[r.name for r in results if r.passed],
            failed=[r.name for r in results if r.failed],
            unavailable=[r.name for r in results if r.unavailable],
            detail="" if plan.commands else "no checks are configured",
        )

    def _copy(self, label: str) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix=f"mao-race-{self._session_id[:8]}-"))
        folder = self._root / label
        shutil.copytree(
            self.workspace, folder, symlinks=True, ignore=shutil.ignore_patterns(*_LEFT_OUT)
        )
        return folder

    def _key_names(self) -> frozenset[str]:
        providers = self._settings.registry.providers.values()
        return frozenset(name for provider in providers for name in provider.api_key_env)
