"""Where a candidate race's answers are verified: each in its own folder, never in the user's
tree (engine/candidates.py runs the race and selects).

In a git repository with a commit, each candidate (and the baseline) gets its own detached git
worktree (``repo/detached.py``) of the commit the session's apply would start from: HEAD, or with
``--with-uncommitted`` a snapshot of the user's uncommitted changes on top of it; no branch is
made and the user's branch, index and files are not touched. Outside git (or before the first
commit) it is a fresh copy of the workspace, leaving out ``.git`` and ``.mao``. The candidate's
files (its ``mao-files`` manifest, fenced blocks naming paths, or search/replace hunks) are
applied to it under the same rules as ``--apply`` (engine/apply.py: confined, size limits),
then the session's checks run there, the same ones ``--apply`` would run (checks/resolve.py:
verify.yaml, detected, or the playbook's).
Their progress is not published as verification events (those are the workspace's); each
candidate's result is one ``candidate_verified`` event. The folders are removed by :meth:`close`.
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
from mao_tui.repo.detached import add_detached, base_commit, remove_detached
from mao_tui.repo.git import GitError, repo_root
from mao_tui.settings.schema import Settings

_LEFT_OUT = (".git", ".mao")


async def _unpublished(event: WorkspaceEvent) -> None:
    """A candidate's check progress stays out of the session's verification events."""


class _Git:
    """The repository candidates get worktrees of, the commit, and the workspace inside it."""

    def __init__(self, repo: Path, commit: str, inner: Path) -> None:
        self.repo, self.commit, self.inner = repo, commit, inner
        self.made: list[Path] = []


class WorkspaceCopies:
    """A :class:`~mao_tui.engine.candidates.CandidateVerifier` over worktrees or copies of
    ``workspace`` (a function: the workspace is told only when a race asks, a demo's fresh one
    included)."""

    def __init__(
        self,
        settings: Settings,
        playbook: str,
        workspace: Callable[[], Path],
        session_id: str,
        *,
        with_uncommitted: bool = False,
    ) -> None:
        self._settings = settings
        self._playbook = playbook
        self._workspace = workspace
        self._session_id = session_id
        self._with_uncommitted = with_uncommitted
        self._root: Path | None = None
        self._plan: CheckPlan | str | None = None  # str: why the checks cannot be told
        self._git: _Git | bool | None = False  # False: not looked for yet; None: not in git
        self._lock = asyncio.Lock()

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
        fixed = [name for name in check.passed if name not in baseline.passed]
        return check.model_copy(update={"new_failures": new, "newly_passing": fixed})

    def close(self) -> None:
        """Remove every worktree and copy made (idempotent)."""
        if isinstance(self._git, _Git) and self._git.made:
            remove_detached(self._git.repo, self._git.made)
            self._git.made = []
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def _run(self, label: str, text: str | None) -> CandidateCheck:
        plan = self._checks()
        if isinstance(plan, str):
            return CandidateCheck(detail=plan)
        try:
            folder = await self._folder(label)
        except (OSError, shutil.Error, GitError) as exc:
            return CandidateCheck(detail=f"no folder to verify in could be made: {exc}")
        worktree = isinstance(self._git, _Git)
        files = 0
        if text is not None:
            edits = synthesis_edits(folder, text)
            if edits.error or not edits.files:
                detail = edits.error or "no files"
                return CandidateCheck(folder=str(folder), worktree=worktree, detail=detail)
            limits = self._settings.registry.global_.limits
            changes = plan_changes(folder, edits.files, limits)
            written = apply_all(folder, changes, folder / ".mao" / "backups")
            files = sum(w.status == "written" for w in written)
            if not any(w.status in ("written", "unchanged") for w in written):
                detail = "no file could be written"
                return CandidateCheck(folder=str(folder), worktree=worktree, detail=detail)
        results = await run_checks(
            plan.commands, folder, self._session_id, 0, _unpublished, key_names=self._key_names()
        )
        return CandidateCheck(
            verified=bool(plan.commands),
            folder=str(folder),
            worktree=worktree,
            files=files,
            passed=[r.name for r in results if r.passed],
            failed=[r.name for r in results if r.failed],
            unavailable=[r.name for r in results if r.unavailable],
            detail="" if plan.commands else "no checks are configured",
        )

    async def _folder(self, label: str) -> Path:
        """A new worktree in a git repository with a commit, else a copy; where to verify."""
        async with self._lock:  # one `git worktree add` at a time in the repository
            if self._git is False:
                self._git = await self._find_git()
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix=f"mao-race-{self._session_id[:8]}-"))
            git, target = self._git, self._root / label
            if isinstance(git, _Git):
                await asyncio.to_thread(add_detached, git.repo, target, git.commit)
                git.made.append(target)
                return target / git.inner
        return await asyncio.to_thread(self._copy, target)

    async def _find_git(self) -> _Git | None:
        workspace = self.workspace
        repo = repo_root(workspace) if workspace.is_dir() else None
        if repo is None:
            return None
        commit = await base_commit(repo, include_uncommitted=self._with_uncommitted)
        if commit is None:
            return None
        return _Git(repo, commit, workspace.relative_to(repo))

    def _copy(self, folder: Path) -> Path:
        shutil.copytree(
            self.workspace, folder, symlinks=True, ignore=shutil.ignore_patterns(*_LEFT_OUT)
        )
        return folder

    def _key_names(self) -> frozenset[str]:
        providers = self._settings.registry.providers.values()
        return frozenset(name for provider in providers for name in provider.api_key_env)
