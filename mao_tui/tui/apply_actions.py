"""The dashboard's `a` (apply) and `F` (fix) and its Verification pane, as a mixin of
:class:`~mao_tui.tui.dashboard.DashboardScreen`.

`a` asks the session for a proposal (the latest synthesis's files and hunks against the
workspace), shows it in :class:`ApplyScreen` for review, and on confirmation has the session
write what was accepted and run the verification commands; their events land in the pane. `F`
after a failed verification runs a fix round (a new workstream, then a new synthesis); when that
synthesis is done, the diff is shown again for review, as for the first apply. `L` lands the
commit of a session that applied in its own git worktree onto the user's checked-out branch, or
copies back the files one wrote in its temporary copy outside git, as `mao land` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mao_tui import domain
from mao_tui.domain.errors import ControlError
from mao_tui.service.ports import LandControl, SessionControl, WorkspaceControl
from mao_tui.tui.widgets.verification import VerificationPane

if TYPE_CHECKING:
    from textual.screen import Screen

    from mao_tui.domain import ApplyProposal, Declined, FixRoundDone, WorkspaceEvent

    _Base = Screen[None]
else:
    _Base = object


class ApplyActions(_Base):
    control: SessionControl | None
    verification: VerificationPane
    fix_pending: bool = False  # a fix round runs: its synthesis is offered for apply when done

    def action_apply_files(self) -> None:
        control = self._workspace_control()
        if control is not None:  # the worktree may be made first: not on the event loop's time
            self.run_worker(self._propose(control), group="apply", exclusive=True)

    async def _propose(self, control: WorkspaceControl) -> None:
        from mao_tui.tui.apply_screen import ApplyScreen

        try:
            await control.prepare_apply()
            proposal = control.propose_apply()
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Apply")
            return

        def answered(declined: Declined | None) -> None:
            if declined is not None:
                self._apply(control, proposal, declined)

        self.app.push_screen(ApplyScreen(proposal), answered)

    def _apply(
        self, control: WorkspaceControl, proposal: ApplyProposal, declined: Declined
    ) -> None:
        try:
            control.apply(proposal, declined)
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Apply")
        else:
            left = f", {len(declined.hunks) + len(declined.files)} declined" if declined else ""
            self.notify(f"Writing the accepted changes{left}, then verifying…")

    def action_land(self) -> None:
        control = self.control
        if not isinstance(control, LandControl):
            self.notify("This session cannot land anything.", severity="warning", title="Land")
            return
        self.run_worker(self._land(control), group="land", exclusive=True)

    async def _land(self, control: LandControl) -> None:
        try:
            summary = await control.land()
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Land", markup=False)
        else:
            self.notify(summary, title="Landed", markup=False)  # names model-chosen paths
        self.refresh_bindings()

    def action_fix_round(self) -> None:
        control = self._workspace_control()
        if control is None:
            return
        try:
            control.fix()
        except ControlError as exc:
            self.notify(str(exc), severity="warning", title="Fix")
        else:
            self.fix_pending = True
            self.notify("Fix round: the failures go to the implementation model…", title="Fix")

    def show_workspace_event(self, event: WorkspaceEvent) -> None:
        self.verification.show_event(event)
        if isinstance(event, domain.FixRoundDone):
            self._fix_round_done(event)
        if isinstance(event, domain.VerificationDone):
            self.refresh_bindings()  # F shows only after a failed verification
        if isinstance(event, domain.VerificationDone) and not event.passed:
            hint = "press F for a fix round" if event.fix_rounds_left else event.detail
            self.notify(
                f"{', '.join(event.failed)} failed: {hint}",
                title="Verification failed",
                severity="error",
            )

    def _fix_round_done(self, event: FixRoundDone) -> None:
        """A fix round's new synthesis is offered for apply, as the first one was."""
        pending, self.fix_pending = self.fix_pending, False
        if not event.ok:
            self.notify(event.detail, severity="error", title="Fix")
        elif pending:
            self.action_apply_files()

    def _workspace_control(self) -> WorkspaceControl | None:
        control = self.control
        if control is None:
            self.notify("This session is a replay: it cannot be steered.", severity="warning")
            return None
        if not isinstance(control, WorkspaceControl):
            self.notify("This session cannot apply files.", severity="warning")
            return None
        return control
