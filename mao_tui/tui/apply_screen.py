"""`a` on the dashboard: the synthesis's files against the workspace, to review before writing.

Each file (new, changed, unchanged, or refused with the reason) shows its search/replace hunks,
side by side on a wide terminal and unified on a narrow one, or its diff when the synthesis gave
it whole. The user accepts or declines each hunk (and each file given whole); a hunk whose SEARCH
text did not match shows why and cannot be accepted. `y` writes only what is accepted and runs
verification; the screen dismisses with what was declined (None: cancelled).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from mao_tui.domain import FRESH_WORKSPACE_PREFIX, ApplyProposal, Declined
from mao_tui.domain.sanitize import shown
from mao_tui.tui.apply_review import FileReview, Review, Unit
from mao_tui.tui.widgets.hunk_diff import side_by_side, unified, whole

_MARKS = {"create": "+", "modify": "~", "unchanged": "=", "refused": "✗"}
_WORDS = {"create": "new", "modify": "changed", "unchanged": "unchanged", "refused": "refused"}
_STYLES = {"create": "green", "modify": "yellow", "unchanged": "dim", "refused": "red"}
WIDE = 140  # columns from which hunks are shown side by side
PAGE = 8  # hunks drawn at once: a key never waits on drawing a file of hundreds


def counts(proposal: ApplyProposal) -> str:
    parts = []
    for kind, word in _WORDS.items():
        n = sum(c.kind == kind for c in proposal.changes)
        if n:
            parts.append(f"{n} {word}")
    return ", ".join(parts) or "no files"


class UnitBlock(Vertical):
    """One hunk (or a file given whole): a header saying whether it is accepted, then its diff.
    A choice redraws the header only."""

    DEFAULT_CSS = """
    UnitBlock { height: auto; margin-bottom: 1; }
    UnitBlock > .unit-head { height: 1; padding: 0 1; background: $boost; }
    UnitBlock.-current > .unit-head { background: $accent 40%; text-style: bold; }
    UnitBlock > .unit-body { height: auto; }
    """

    def __init__(self, unit: Unit, body: RenderableType) -> None:
        super().__init__()
        self.unit = unit
        self._body = body

    def compose(self) -> ComposeResult:
        yield Static(classes="unit-head")
        yield Static(self._body, classes="unit-body")

    def show_choice(self, accepted: bool) -> None:
        unit, head = self.unit, Text()
        if not unit.acceptable:
            head.append("✗ cannot apply · ", "bold red")
        elif accepted:
            head.append("✓ accepted · ", "bold green")
        else:
            head.append("✗ declined · ", "bold yellow")
        head.append(unit.title)
        self.query_one(".unit-head", Static).update(head)


class ApplyScreen(ModalScreen[Declined | None]):
    DEFAULT_CSS = """
    ApplyScreen { align: center middle; }
    #apply-dialog {
        width: 95%;
        height: 90%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    #apply-summary { height: auto; margin-bottom: 1; }
    #apply-body { height: 1fr; }
    #apply-files { width: 30%; min-width: 24; max-width: 48; height: 1fr; }
    #apply-diff-box { width: 1fr; height: 1fr; border: round $foreground 30%; }
    #apply-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    #apply-buttons Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Apply", id="apply-confirm"),
        Binding("escape,n", "cancel", "Cancel", id="apply-cancel"),
        Binding("j", "next_unit", "Next", id="apply-next-hunk"),
        Binding("k", "previous_unit", "Prev", id="apply-previous-hunk"),
        Binding("a", "choose(True)", "Accept", id="apply-accept-hunk"),
        Binding("r", "choose(False)", "Reject", id="apply-reject-hunk"),
        Binding("A", "choose_file(True)", "Accept file", id="apply-accept-file"),
        Binding("R", "choose_file(False)", "Reject file", id="apply-reject-file"),
    ]

    def __init__(self, proposal: ApplyProposal) -> None:
        super().__init__(id="apply-screen")
        self.proposal = proposal
        self.review = Review.of(proposal)
        self.shown = ""  # the text of the file on display: its diffs, or why there are none
        self.file: FileReview | None = None  # the file on display
        self.cursor = 0  # its unit under the cursor
        self.page = 0  # the first of its units drawn
        self.wide = False  # hunks side by side
        self._blocks: list[UnitBlock] = []

    @property
    def can_apply(self) -> bool:
        return not self.proposal.error and any(
            u.acceptable for f in self.review.files for u in f.units
        )

    def compose(self) -> ComposeResult:
        proposal = self.proposal
        with Vertical(id="apply-dialog") as dialog:
            dialog.border_title = f"Apply the synthesis (round {proposal.round})"
            yield Static(self._summary(), id="apply-summary")
            with Horizontal(id="apply-body"):
                yield OptionList(
                    *[Option(self._label(f), id=f"file-{i}") for i, f in enumerate(self.files)],
                    id="apply-files",
                )
                yield VerticalScroll(id="apply-diff-box")
            with Horizontal(id="apply-buttons"):
                yield Button(
                    "Apply accepted and verify (y)",
                    id="apply-yes",
                    variant="success",
                    disabled=not self.can_apply,
                )
                yield Button("Cancel (Esc)", id="apply-no")
        yield Footer()

    @property
    def files(self) -> list[FileReview]:
        return self.review.files

    def _summary(self) -> Text:
        proposal = self.proposal
        summary = Text()
        summary.append(f"{shown(proposal.workspace)}\n", "bold")
        if Path(proposal.workspace).name.startswith(FRESH_WORKSPACE_PREFIX):
            summary.append(
                "A fresh temporary workspace for the demo (not the directory mao started "
                "in); --workspace DIR chooses another.\n",
                "italic",
            )
        if proposal.error:
            summary.append(f"Nothing to apply: {shown(proposal.error)}", "bold red")
            return summary
        source = "files manifest" if proposal.source == "manifest" else "fenced code"
        summary.append(f"{counts(proposal)} (from the synthesis's {source}). ")
        summary.append(
            "Accept or reject each hunk or whole file (a / r; j / k move); only what is "
            "accepted is written, existing files backed up under .mao/backups/; then "
            "verification runs.",
            "dim",
        )
        return summary

    def on_mount(self) -> None:
        self.wide = self.app.size.width >= WIDE
        files = self.query_one(OptionList)
        if files.option_count:
            kinds = [f.kind for f in self.files]
            changed = [i for i, kind in enumerate(kinds) if kind in ("create", "modify")]
            files.highlighted = changed[0] if changed else 0  # the first file that changes
            files.focus()

    async def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= WIDE
        if wide != self.wide:
            self.wide = wide
            if self.file is not None:
                await self._draw(self.file)

    def _label(self, review: FileReview) -> Text:
        label = Text(f"{_MARKS[review.kind]} {shown(review.path)}", _STYLES[review.kind])
        accepted, acceptable = self.review.tally(review)
        if acceptable > 1 or any(u.hunk is not None for u in review.units):
            label.append(f"  {accepted}/{acceptable}", "dim")
        elif acceptable and not accepted:
            label.append("  rejected", "bold yellow")
        if review.reason:
            label.append(f"\n  {shown(review.reason)}", "red")
        return label

    @on(OptionList.OptionHighlighted, "#apply-files")
    async def _show_file(self, event: OptionList.OptionHighlighted) -> None:
        review = self.files[event.option_index]
        if review is not self.file:
            self.file = review
            self.cursor = 0 if self.cursor >= 0 else max(len(review.units) - 1, 0)
            await self._draw(review)

    async def _draw(self, review: FileReview) -> None:
        """Replace the diff box's blocks with those of the page of ``review`` that holds the
        cursor: at most PAGE hunks are drawn, however many the file has."""
        box = self.query_one("#apply-diff-box", VerticalScroll)
        box.border_title = f"{shown(review.path)} · {_WORDS[review.kind]}"
        self._subtitle(review)
        await box.remove_children()
        blocks: list[Static | UnitBlock] = []
        texts = []
        if review.reason:
            texts.append(f"Not written: this path {review.reason}.")
            blocks.append(Static(Text(shown(texts[-1]), "bold red")))
        elif not review.units:
            texts.append("The workspace already has this file as it is.")
            blocks.append(Static(Text(texts[-1], "dim")))
        self.page = self.cursor // PAGE * PAGE
        units = review.units[self.page : self.page + PAGE]
        if len(review.units) > PAGE:
            last = self.page + len(units)
            note = f"changes {self.page + 1}-{last} of {len(review.units)} (j / k go on)"
            blocks.append(Static(Text(note, "italic dim")))
        self._blocks = []
        for unit in units:
            body, text = self._body(unit)
            texts.append(text)
            self._blocks.append(UnitBlock(unit, body))
        self.shown = "\n".join(texts)
        await box.mount_all([*blocks, *self._blocks])
        self._mark_all()

    def _subtitle(self, review: FileReview) -> None:
        accepted, acceptable = self.review.tally(review)
        layout = "side by side" if self.wide else "unified"
        tally = f"{accepted} of {acceptable} accepted · " if acceptable else ""
        self.query_one("#apply-diff-box", VerticalScroll).border_subtitle = tally + layout

    def _body(self, unit: Unit) -> tuple[RenderableType, str]:
        """A unit's diff (and its text, for ``shown``)."""
        if unit.hunk is None:
            diff = unit.change.diff if unit.change is not None else ""
            return Syntax(diff, "diff", theme="ansi_dark", word_wrap=True), diff
        hunk = unit.hunk
        text = unified(hunk)
        if not hunk.search.strip():
            body: RenderableType = whole(hunk.replace)
        else:
            body = side_by_side(hunk) if self.wide else text
        if not hunk.acceptable:
            reason = Text(f"{shown(hunk.reason)}\n", "red")
            return Group(reason, body), f"{hunk.reason}\n{text.plain}"
        return body, text.plain

    def _mark_all(self) -> None:
        for block in self._blocks:
            block.show_choice(self.review.accepted(block.unit))
        self._point(self.cursor)

    def _point(self, cursor: int) -> None:
        """Put the cursor on unit ``cursor`` of the file (on the page drawn)."""
        self.cursor = cursor
        for i, block in enumerate(self._blocks):
            block.set_class(self.page + i == cursor, "-current")
        current = cursor - self.page
        if 0 <= current < len(self._blocks):
            box = self.query_one("#apply-diff-box", VerticalScroll)
            box.scroll_to_widget(self._blocks[current], animate=False, top=True)

    # -- the keys ---------------------------------------------------------------------------

    async def action_next_unit(self) -> None:
        await self._move(1)

    async def action_previous_unit(self) -> None:
        await self._move(-1)

    async def _move(self, step: int) -> None:
        """To the next (previous) hunk, across pages and, at either end, files."""
        if self.file is None:
            return
        target = self.cursor + step
        if 0 <= target < len(self.file.units):
            if self.page <= target < self.page + len(self._blocks):
                self._point(target)
            else:
                self.cursor = target
                await self._draw(self.file)
            return
        index = self.files.index(self.file) + step
        if 0 <= index < len(self.files):
            self.cursor = 0 if step > 0 else -1
            self.query_one(OptionList).highlighted = index

    def action_choose(self, accept: bool) -> None:
        units = self.file.units if self.file is not None else []
        if not 0 <= self.cursor < len(units):
            self.notify("This file has no hunk to accept or reject.", severity="warning")
            return
        self._choose([units[self.cursor]], accept)

    def action_choose_file(self, accept: bool) -> None:
        self._choose(self.file.units if self.file is not None else [], accept)

    def _choose(self, units: list[Unit], accept: bool) -> None:
        refused = [unit for unit in units if not self.review.set(unit, accept)]
        for block in self._blocks:
            block.show_choice(self.review.accepted(block.unit))
        if refused and accept:
            why = refused[0].hunk.reason if refused[0].hunk is not None else "it is refused"
            self.notify(
                f"{refused[0].title} cannot be accepted: {shown(why)}",
                severity="warning",
                markup=False,
            )
        if self.file is not None:
            self._subtitle(self.file)
            index = self.files.index(self.file)
            self.query_one(OptionList).replace_option_prompt_at_index(index, self._label(self.file))

    def action_confirm(self) -> None:
        if not self.can_apply:
            self.notify("Nothing here can be written.", severity="warning")
        elif not self.review.any_accepted:
            self.notify(
                "Nothing is accepted: accept a hunk (a), or cancel (Esc).", severity="warning"
            )
        else:
            self.dismiss(self.review.declined)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#apply-yes")
    def _yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#apply-no")
    def _no(self) -> None:
        self.action_cancel()
