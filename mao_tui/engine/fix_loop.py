"""Apply a session's synthesized files to the workspace, verify them, and fix what fails.

One :class:`Workbench` per session, over its :class:`LiveSessionController`:

1. :meth:`Workbench.propose` reads the latest synthesis's files (its ``mao-files`` manifest, or
   fenced blocks naming their paths) and diffs each against the workspace, refusing what may not
   be written (absolute, ``..``, ``.git/``, ``.mao/``, symlinks that escape);
2. :meth:`Workbench.apply` writes the proposal the user confirmed, but the hunks and whole files
   they declined in the review (backups under
   ``.mao/backups/SESSION/rROUND/``, one atomic replace per file) and reports ``FilesApplied``;
3. :meth:`Workbench.verify` runs the configured verification commands in the workspace, streaming
   their output as events, and reports each result and the round's;
4. :meth:`Workbench.fix` sends the failures to the fix route's model as a new workstream
   (``fix1``, ``fix2``... a new plan row) and synthesizes again; at most ``max_rounds`` times.

The commands come from configuration only (the playbook's ``verification``, or the project's
``verify.yaml``); nothing a model writes is ever run except through them (the tests it wrote).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mao_tui.checks.resolve import CheckPlan
from mao_tui.domain import (
    SYNTHESIS_KEY,
    AppliedFile,
    ApplyProposal,
    Declined,
    FileChangeView,
    FilesApplied,
    FixRoundDone,
    HunkView,
    VerificationDone,
    VerificationFinished,
    WorkstreamStatus,
)
from mao_tui.domain.errors import ControlError
from mao_tui.domain.redaction import Redactor
from mao_tui.engine.apply import Change, apply_all, plan_changes
from mao_tui.engine.check_runs import planned_event, round_detail, run_checks
from mao_tui.engine.controller import FOLLOW_UP_TEMPLATE, LiveSessionController
from mao_tui.engine.edits import SynthesisEdits, synthesis_edits
from mao_tui.engine.hunks import HunkResult, rejection_notes
from mao_tui.engine.ledger import read_before
from mao_tui.engine.prompts import render
from mao_tui.engine.routing import planned_workstream
from mao_tui.settings.schema import VerificationCommand

BACKUPS = Path(".mao") / "backups"
# A changed file longer than this goes to a fix round as its diff (the limit of a file sent
# from the repository, engine/repo_context.py).
WHOLE_FILE_CHARS = 16_000


@dataclass(frozen=True)
class FixResult:
    """How one fix round ended: ``ok`` when a new synthesis is ready to apply."""

    round: int
    ok: bool
    detail: str = ""


class Workbench:
    def __init__(
        self,
        controller: LiveSessionController,
        workspace: Path,
        checks: CheckPlan | list[VerificationCommand],
        max_rounds: int,
    ) -> None:
        self._controller = controller
        self.workspace = workspace.resolve()
        if not isinstance(checks, CheckPlan):
            checks = CheckPlan("playbook", list(checks), "the commands given")
        self.plan = checks
        self.commands = list(checks.commands)
        self._announced = False
        self.max_rounds = max_rounds
        plan = controller.plan  # a reviewed session may have had fix rounds already
        done = [w for w in plan.workstreams if w.template_key == FOLLOW_UP_TEMPLATE] if plan else []
        self.round = len(done)  # fix rounds run so far; the files on offer are this round's
        self.failures: list[VerificationFinished] = []  # the last verification's failures
        self.results: list[VerificationFinished] = []  # every check of the last verification
        self.verified: VerificationDone | None = None  # the last round's result
        self._proposed: tuple[ApplyProposal, list[Change], str] | None = None  # and its text
        self._applied: list[Change] = []
        self._rejected: list[HunkResult] = []  # the latest proposal's hunks that did not apply
        self.busy = False  # verifying or fixing (applying never awaits before it is done)

    @property
    def session_id(self) -> str:
        return self._controller.req.session_id

    @property
    def rejected_hunks(self) -> list[HunkResult]:
        """The latest proposal's search/replace hunks that could not be applied."""
        return list(self._rejected)

    @property
    def rounds_left(self) -> int:
        return max(self.max_rounds - self.round, 0)

    # -- 1. what applying would do -----------------------------------------------------------

    def propose(self) -> ApplyProposal:
        text = self._controller.latest_text(SYNTHESIS_KEY)
        if text is None:
            raise ControlError("there is no successful synthesis to apply yet")
        found = synthesis_edits(self.workspace, text)
        changes = self._changes(found)
        self._rejected = found.rejected  # told to the next fix round
        proposal = ApplyProposal(
            round=self.round,
            workspace=str(self.workspace),
            source=found.source,
            changes=[
                FileChangeView(path=c.path, kind=c.kind, diff=c.diff, reason=c.reason)
                for c in changes
            ],
            error=found.error,
            hunks=[_view(r) for r in found.results],
        )
        self._proposed = (proposal, changes, text)
        return proposal

    # -- 2. writing it -------------------------------------------------------------------------

    def check(self, proposal: ApplyProposal, declined: Declined | None = None) -> list[Change]:
        """The changes ``proposal`` showed, less what the review declined; ControlError unless
        it is the latest one proposed, or when an accepted hunk needs a declined one."""
        if self._proposed is None or self._proposed[0] is not proposal:
            raise ControlError("the files changed since they were shown; look at them again")
        if proposal.error:
            raise ControlError(f"nothing to apply: {proposal.error}")
        if not declined:
            return self._proposed[1]
        return self._accepted(proposal, self._proposed[2], declined)

    def _accepted(self, proposal: ApplyProposal, text: str, declined: Declined) -> list[Change]:
        """The changes of the hunks and files not declined, computed again from the text."""
        found = synthesis_edits(self.workspace, text, skip=declined.hunks)
        shown = {h.number for h in proposal.hunks if h.acceptable}
        broken = [r for r in found.rejected if r.hunk.number in shown]
        if broken:
            numbers = ", ".join(str(r.hunk.number) for r in broken)
            raise ControlError(
                f"hunk(s) {numbers} no longer apply without the hunks declined "
                f"(they edit what those change): accept those too, or decline these"
            )
        return self._changes(found, skip=declined.files)

    def _changes(self, found: SynthesisEdits, skip: frozenset[str] = frozenset()) -> list[Change]:
        """``found``'s files (but those in ``skip``) against the workspace, then a refused row
        for each hunk that could not apply."""
        files = [f for f in found.files if f.path not in skip]
        limits = self._controller.settings.registry.global_.limits
        changes = plan_changes(self.workspace, files, limits) if files else []
        return changes + [
            Change(r.hunk.path, "refused", reason=f"hunk {r.hunk.number}: {r.reason}")
            for r in found.rejected
        ]

    async def apply(
        self, proposal: ApplyProposal, declined: Declined | None = None
    ) -> FilesApplied:
        """Write the changes ``proposal`` showed (it must be the latest one proposed), but
        those ``declined``."""
        changes = self.check(proposal, declined)
        self._proposed = None
        backups = _fresh(self.workspace / BACKUPS / self.session_id / f"r{proposal.round}")
        read = read_before(self.workspace)
        before = {c.path: read(c.path) for c in changes if c.kind in ("create", "modify")}
        results = apply_all(self.workspace, changes, backups)  # no await: nothing interleaves
        if any(r.backup is not None for r in results):
            _keep_out_of_git(self.workspace / BACKUPS)
        self._applied = [c for c in changes if c.kind != "refused"]
        event = FilesApplied(
            session_id=self.session_id,
            round=proposal.round,
            workspace=str(self.workspace),
            files=[
                AppliedFile(
                    path=r.path,
                    status=r.status,
                    change=r.change,
                    backup=str(r.backup) if r.backup is not None else None,
                    reason=r.reason,
                )
                for r in results
            ],
        )
        await self._controller.publish(event)
        contents = {c.path: c.content for c in changes}
        after = {
            r.path: contents[r.path]
            for r in results
            if r.status == "written" and r.path in contents
        }
        ledger = self._controller.provenance
        await ledger.after_apply(self.session_id, self.workspace, before, after)
        return event

    # -- 3. verifying it -----------------------------------------------------------------------

    async def verify(self) -> VerificationDone:
        """Run every command in order (all of them, whatever fails) and report the round."""
        self._enter()
        try:
            done = await self._verify()
        finally:
            self.busy = False
        self.verified = done
        await self._controller.publish(done)  # once not busy: F may follow at once
        return done

    async def announce(self) -> None:
        """Publish the checks that will run and why (once, before the first verification)."""
        if not self._announced:
            self._announced = True
            await self._controller.publish(planned_event(self.session_id, self.plan))

    async def _verify(self) -> VerificationDone:
        await self.announce()
        sid, number = self.session_id, self.round
        results = await run_checks(
            self.commands,
            self.workspace,
            sid,
            number,
            self._controller.publish,
            key_names=self._key_names(),
        )
        self.results = results
        self.failures = [r for r in results if r.failed]
        passed = not self.failures
        detail = round_detail(results) if self.commands else "no verification commands configured"
        if not passed:
            if self.rounds_left:
                more = f"{self.rounds_left} fix round(s) left"
            else:
                more = f"verification still fails after {self.round} fix round(s); stopping"
            detail = f"{detail}; {more}" if detail else more
        return VerificationDone(
            session_id=sid,
            round=number,
            passed=passed,
            failed=[r.name for r in self.failures],
            unavailable=[r.name for r in results if r.unavailable],
            skipped=[r.name for r in results if r.skipped],
            fix_rounds_left=self.rounds_left,
            detail=detail,
        )

    # -- 4. fixing it --------------------------------------------------------------------------

    async def fix(self) -> FixResult:
        """One fix round: the failures to the fix route's model, then a new synthesis; ends
        with ``FixRoundDone``. The next round needs the new files applied and verified."""
        controller = self._controller
        settings = controller.settings
        plan = controller.plan
        if plan is None:
            raise ControlError("the plan is not ready yet")
        playbook = settings.playbooks[plan.playbook]
        if playbook.fix is None:
            raise ControlError(f"playbook {plan.playbook!r} has no fix: section")
        if not self.failures and not self._rejected:
            raise ControlError("nothing to fix: the last verification did not fail")
        if not self.rounds_left:
            raise ControlError(
                f"no fix rounds left ({self.round} of {self.max_rounds} used); "
                "--fix-rounds N allows more"
            )
        number = self.round + 1
        ws = planned_workstream(
            settings,
            key=f"fix{number}",
            title=f"Fix round {number}",
            route=playbook.fix.route,
            template_key=FOLLOW_UP_TEMPLATE,
        )
        req = controller.req
        values = {
            "task": req.task,
            "spec": req.spec_text or "(no spec given)",
            "title": ws.title,
            "key": ws.key,
            "failures": (
                format_failures(self.results or self.failures, self._redactor())
                if self.failures
                else "No verification command failed, but edits could not be applied.\n"
            )
            + rejection_notes(self._rejected),
            "files": format_files(self._applied),
        }
        system = render(settings, playbook.system_prompt, values)
        prompt = render(settings, playbook.fix.prompt, values)
        self._enter()
        try:
            self.round = number
            self.failures, self.results, self.verified = [], [], None
            outcome = await controller.follow_up(ws, (system, prompt))
        finally:
            self.busy = False
        result = FixResult(number, True)
        if outcome.status is not WorkstreamStatus.DONE:
            result = FixResult(number, False, f"fix round {number} ended {outcome.status.value}")
        await controller.publish(
            FixRoundDone(
                session_id=self.session_id, round=number, ok=result.ok, detail=result.detail
            )
        )
        return result

    def _redactor(self) -> Redactor:
        """The secret values of this process's environment (every api_key_env, *_TOKEN...)."""
        return Redactor.of(os.environ, self._key_names())

    def _key_names(self) -> frozenset[str]:
        providers = self._controller.settings.registry.providers.values()
        return frozenset(name for provider in providers for name in provider.api_key_env)

    def _enter(self) -> None:
        if self.busy:
            raise ControlError("files are being applied or verified, or a fix round runs; wait")
        self.busy = True


def _view(result: HunkResult) -> HunkView:
    hunk = result.hunk
    return HunkView(
        path=hunk.path,
        number=hunk.number,
        search=hunk.search,
        replace=hunk.replace,
        status=result.status,
        reason=result.reason,
        line=result.line,
    )


def format_failures(results: list[VerificationFinished], redactor: Redactor) -> str:
    """A round's results for a fix round's prompt: the failures first, each with its output
    around the first errors; then what was skipped or could not run here (not the model's to
    fix, but it must not take them as passed). Secret values redacted (again: the output was
    redacted as it was read, and nothing of them may reach another provider)."""
    parts = []
    for failure in (r for r in results if r.failed):
        text = redactor.redact((failure.excerpt or failure.output_tail).rstrip()) or "(no output)"
        fence = _fence(text)
        source = f" (from {failure.source})" if failure.source else ""
        parts.append(
            f"### {failure.name}: `{' '.join(failure.argv)}` {failure.outcome}{source}\n\n"
            f"{fence}text\n{text}\n{fence}\n"
        )
    others = [r for r in results if r.skipped or r.unavailable]
    if others:
        lines = [f"- {r.name}: `{' '.join(r.argv)}` {r.outcome}" for r in others]
        parts.append("### Not run (not failures)\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def format_files(changes: list[Change]) -> str:
    """The files as applied, for a fix round's prompt: each whole, but a changed file longer
    than ``WHOLE_FILE_CHARS`` (an existing file edited by hunks) as the diff of what changed,
    so that a large file is never sent whole."""
    if not changes:
        return "(no files were written)"
    blocks = []
    for change in changes:
        body = change.content.rstrip()
        header = f"# {change.path}"
        if change.kind == "modify" and len(body) > WHOLE_FILE_CHARS and change.diff:
            lines = change.content.count("\n")
            header += f": {lines:,} lines, too long to repeat; the diff of what was applied"
            body = change.diff.rstrip()
        fence = _fence(body)
        blocks.append(f"{fence}\n{header}\n{body}\n{fence}\n")
    return "\n".join(blocks)


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _keep_out_of_git(folder: Path) -> None:
    """Backups are copies of the user's own files: a ``.gitignore`` of ``*`` keeps them out of
    ``git status`` and commits. A file the user already put there is left as it is."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        note = "# mao's backups of files it replaced; see docs/apply-verify-fix.md\n*\n"
        ignore.write_text(note, encoding="utf-8")


def _fresh(folder: Path) -> Path:
    """``folder``, or ``folder.2``, ``folder.3``...: a second apply of the same round (after a
    new synthesis, say) must not overwrite the backups of the first."""
    candidate, n = folder, 1
    while candidate.exists():
        n += 1
        candidate = folder.with_name(f"{folder.name}.{n}")
    return candidate
