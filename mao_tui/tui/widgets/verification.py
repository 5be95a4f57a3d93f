"""The Verification pane: files applied, each verification command's output as it streams, and
the result of every command and round. Hidden until the first apply of the session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from rich.text import Text
from textual.containers import Vertical

from mao_tui import domain
from mao_tui.checks.report import finished_line, plan_lines

if TYPE_CHECKING:
    from textual.widgets import RichLog

    from mao_tui.domain import (
        FilesApplied,
        FixRoundDone,
        VerificationDone,
        VerificationFinished,
        WorkspaceEvent,
    )

MAX_LINES = 5_000  # lines kept on screen; the store keeps each command's tail
_MARKS = {"create": "+", "modify": "~", "unchanged": "=", "refused": "✗"}


class VerificationPane(Vertical):
    DEFAULT_CSS = """
    VerificationPane {
        display: none;
        height: 35%;
        min-height: 7;
        max-height: 16;
        border: round $primary 50%;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-align: right;
    }
    VerificationPane.-shown { display: block; }
    VerificationPane.-running { border: round $accent; }
    VerificationPane.-passed { border: round $success 70%; }
    VerificationPane.-failed { border: round $error 70%; }
    VerificationPane RichLog { height: 1fr; background: $background; }
    """

    def __init__(self) -> None:
        super().__init__(id="verification")
        self.border_title = "Verification"
        self.plain_lines: list[str] = []  # what was written, as text (tests, screenshots)
        self.result: VerificationDone | None = None
        self._rich_log: RichLog | None = None

    def show_event(self, event: WorkspaceEvent) -> None:
        self.add_class("-shown")
        match event:
            case domain.FilesApplied():
                self._files_applied(event)
            case domain.VerificationStarted():
                self._state("-running", f"running {event.name}…", event.round)
                self._write(Text(f"▶ {event.name}: {' '.join(event.argv)}", "bold"))
            case domain.VerificationOutput():
                self._write(Text(event.line))  # already cleaned of control sequences (verify.py)
            case domain.VerificationFinished():
                self._write(_finished(event))
            case domain.VerificationPlanned():
                self._state("-running", f"{len(event.checks)} check(s), {event.origin}", 0)
                self.border_title = "Verification"
                for number, text in enumerate(plan_lines(event)):
                    self._write(Text(text, "bold" if number == 0 else "dim"))
            case domain.FixRoundDone():
                self._fix_round_done(event)
            case domain.VerificationDone():
                self._done(event)
            case _:
                assert_never(event)

    def _files_applied(self, event: FilesApplied) -> None:
        self._state("-running", f"round {event.round}: applied", event.round)
        self._write(Text(f"── round {event.round}: {event.line} in {event.workspace}", "bold"))
        for f in event.files:
            failed = f.status in ("refused", "failed")
            mark = "✗" if failed else _MARKS[f.change]
            line = Text(f"  {mark} {f.path}", "red" if failed else "")
            if f.reason:
                line.append(f"  {f.status}: {f.reason}", "red")
            if f.backup:
                line.append(f"  backup: {_relative(f.backup, event.workspace)}", "dim")
            self._write(line)

    def _fix_round_done(self, event: FixRoundDone) -> None:
        if event.ok:
            self._state("-running", f"fix round {event.round}: a new synthesis", event.round)
            self._write(Text(f"── fix round {event.round}: the new synthesis is ready", "bold"))
        else:
            self._write(Text(f"✗ fix round {event.round}: {event.detail}", "bold red"))

    def _done(self, event: VerificationDone) -> None:
        self.result = event
        if event.passed:
            gone = f" · {len(event.unavailable)} not available" if event.unavailable else ""
            self._state("-passed", f"✓ passed{gone}", event.round)
            self._write(Text(f"✓ verification passed (round {event.round})", "bold green"))
        else:
            hint = "F: fix round" if event.fix_rounds_left else "no fix rounds left"
            summary = f"✗ {', '.join(event.failed)} failed · {hint}"
            self._state("-failed", summary, event.round)
            detail = f" — {event.detail}" if event.detail else ""
            message = f"✗ verification failed (round {event.round}){detail}"
            self._write(Text(message, "bold red"))

    def _state(self, state: str, subtitle: str, round_no: int) -> None:
        self.set_class(state == "-running", "-running")
        self.set_class(state == "-passed", "-passed")
        self.set_class(state == "-failed", "-failed")
        self.border_title = f"Verification · round {round_no}"
        self.border_subtitle = subtitle

    def _write(self, line: Text) -> None:
        self.plain_lines.append(line.plain)
        del self.plain_lines[:-MAX_LINES]
        self._log().write(line, expand=True)  # wrap at the pane's width

    def _log(self) -> RichLog:
        """The log, mounted at the first line: the pane is hidden until files are applied, and
        RichLog's module (rich.pretty, attrs) is not needed for the dashboard's first frame."""
        from textual.widgets import RichLog

        if self._rich_log is None:
            self._rich_log = RichLog(max_lines=MAX_LINES, wrap=True, markup=False, highlight=False)
            self.mount(self._rich_log)
        return self._rich_log


def _relative(path: str, root: str) -> str:
    """A backup's path inside the workspace, as the user would type it there."""
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _finished(event: VerificationFinished) -> Text:
    style = "bold green" if event.passed else "bold red"
    if event.unavailable:
        style = "bold yellow"
    elif event.skipped:
        style = "dim"
    line = Text(finished_line(event), style)
    if event.sandbox:  # on the result, which the store keeps, so review shows it too
        sandboxed = event.sandbox.startswith("sandboxed")
        line.append(f"  ({event.sandbox})", "dim" if sandboxed else "yellow")
    return line
