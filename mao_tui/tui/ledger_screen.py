"""The ensemble ledger of a session's candidate races (issue 19), opened from the dashboard.

For each race: every candidate's model, answer, verification and its delta against the
baseline (checks newly passing, new failures), cost, time and the worktree or copy it was
verified in; the one selected and why; the cheapest candidate that passed the same checks next
to what all of them cost. Then where each file (and hunk) of the final output came from: a
candidate, or the synthesis. Esc goes back. Every cell is a ``Text`` (model output and paths
are never read as markup).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from mao_tui.domain.candidate_events import CandidateSelected, LedgerProvenance
from mao_tui.domain.sanitize import shown
from mao_tui.tui.widgets.footer import QuietFooter

CANDIDATE_COLUMNS = ("#", "model", "answer", "verification", "delta", "cost", "time", "in")
FILE_COLUMNS = ("file", "lines", "from")


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _text(value: str, style: str = "") -> Text:
    return Text(shown(value), style=style)


def _where(folder: str, worktree: bool) -> str:
    """The folder below the race's temporary root (``mao-race-…``): the column stays narrow."""
    if not folder:
        return "—"
    parts = Path(folder).parts
    roots = [i for i, part in enumerate(parts) if part.startswith("mao-race-")]
    shown_part = "/".join(parts[roots[-1] + 1 :]) if roots else folder
    return f"{'worktree' if worktree else 'copy'} {shown_part}"


def race_heading(race: CandidateSelected) -> Text:
    text = Text()
    text.append(shown(f"{race.workstream_title} ({race.workstream})"), style="bold")
    chosen = f"#{race.number} {race.model}" if race.model else "none"
    text.append("\nselected: ", style="dim")
    text.append(shown(chosen), style="bold green" if race.model else "bold red")
    text.append(shown(f" — {race.reason}"))
    if race.baseline_failed:
        failing = ", ".join(race.baseline_failed)
        text.append(shown(f"\nfailing before any candidate: {failing}"), style="dim")
    return text


def race_footer(race: CandidateSelected) -> Text:
    text = Text()
    if race.cheapest_passing_model is not None:
        text.append("cheapest candidate that passed the same checks: ", style="dim")
        text.append(shown(race.cheapest_passing_model), style="bold")
        text.append(f" at {_usd(race.cheapest_passing_usd)}; ")
    else:
        text.append("no candidate passed every check the selected one passed; ", style="dim")
    text.append(f"all {len(race.candidates)} cost {_usd(race.total_usd)}")
    return text


class LedgerScreen(Screen[None]):
    DEFAULT_CSS = """
    LedgerScreen { layout: vertical; }
    LedgerScreen #ledger-body { height: 1fr; border: round $primary; padding: 0 1; }
    LedgerScreen .ledger-text { height: auto; margin: 1 0 0 0; }
    LedgerScreen DataTable { height: auto; max-height: 14; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="ledger-back"),
    ]

    def __init__(
        self,
        races: list[CandidateSelected],
        provenance: LedgerProvenance | None,
        title: str = "",
    ) -> None:
        super().__init__()
        self.races = races
        self.provenance = provenance
        self._title = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ledger-body") as body:
            body.border_title = Content(f"Ensemble ledger {self._title}".strip())
            if not self.races:
                yield Static("No candidate race in this session.", classes="ledger-text")
            for race in self.races:
                yield Static(race_heading(race), classes="ledger-text")
                yield self._candidates(race)
                yield Static(race_footer(race), classes="ledger-text")
            yield from self._files()
        yield QuietFooter()

    def _candidates(self, race: CandidateSelected) -> DataTable[Text]:
        table = DataTable[Text](cursor_type="row", zebra_stripes=True, classes="ledger-races")
        table.add_columns(*CANDIDATE_COLUMNS)
        for c in race.candidates:
            chosen = c.number == race.number
            check = c.check
            style = "bold red" if check.new_failures else ("green" if check.verified else "")
            table.add_row(
                _text(f"{c.number}{' ✓' if chosen else ''}", "bold green" if chosen else ""),
                _text(c.model, "bold" if chosen else ""),
                _text(c.status),
                _text(check.summary, style),
                _text(check.delta),
                _text(_usd(c.cost_usd)),
                _text(f"{c.elapsed_s:.1f}s"),
                _text(_where(check.folder, check.worktree), "dim"),
            )
        return table

    def _files(self) -> ComposeResult:
        found = self.provenance
        if found is None:
            if self.races:
                yield Static(
                    "Where the files came from: not known yet (after the synthesis, and again "
                    "after each apply).",
                    classes="ledger-text",
                )
            return
        yield Static(
            Text(f"Where the {len(found.files)} file(s) {found.stage_words} came from", "bold"),
            classes="ledger-text",
        )
        table = DataTable[Text](cursor_type="row", zebra_stripes=True, classes="ledger-files")
        table.add_columns(*FILE_COLUMNS)
        for f in found.files:
            table.add_row(_text(f.path, "bold"), _text("whole file"), _text(f.source.label))
            if len(f.hunks) > 1:
                for h in f.hunks:
                    lines = f"{h.start}–{h.start + max(h.lines, 1) - 1}"
                    table.add_row(_text(""), _text(lines), _text(h.source.label))
        yield table

    def action_back(self) -> None:
        self.app.pop_screen()
