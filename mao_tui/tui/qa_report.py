"""The QA report of a qa session: the score, a findings table and the report.

Opened from the dashboard (``g``, and once by itself when a live session's report arrives);
Esc goes back. The highlighted finding's detail and suggested fix are shown under the table.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Markdown, Static

from mao_tui.domain.qa_records import QaReport, ReportFinding
from mao_tui.tui.widgets.footer import QuietFooter

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
COLUMNS = (
    ("id", "id"),
    ("severity", "severity"),
    ("location", "file:line"),
    ("title", "title"),
    ("reviewers", "reviewer"),
    ("model", "assigned model"),
)


def score_line(report: QaReport) -> Text:
    score = report.score
    text = Text()
    if score.value is None:
        text.append(" No weighted score ", style="bold white on red")
    else:
        style = "bold black on green" if score.value >= 80 else "bold black on yellow"
        if score.value < 60:
            style = "bold white on red"
        text.append(f" {score.value:g} / 100 ", style=style)
    text.append(f"  {score.note}")
    parts = []
    for r in report.reviewers:
        shown = f"{r.score:g}" if r.score is not None else r.status.upper()
        parts.append(f"{r.title} {shown} ({r.weight:g}%)")
    text.append("\n" + " · ".join(parts), style="dim")
    return text


class QaReportScreen(Screen[None]):
    DEFAULT_CSS = """
    QaReportScreen { layout: vertical; }
    QaReportScreen #qa-score { height: auto; padding: 0 1; }
    QaReportScreen #qa-findings-pane { height: auto; max-height: 55%; border: round $primary; }
    QaReportScreen #qa-findings { height: auto; max-height: 20; }
    QaReportScreen #qa-detail { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    QaReportScreen #qa-report-pane { height: 1fr; border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="qa-back"),
    ]

    def __init__(self, report: QaReport, title: str = "") -> None:
        super().__init__()
        self.report = report
        self._title = title
        self.findings = DataTable[Text | str](
            id="qa-findings", cursor_type="row", zebra_stripes=True
        )

    def compose(self) -> ComposeResult:
        yield Static(score_line(self.report), id="qa-score")
        count = len(self.report.findings)
        merged = self.report.raw_findings - count
        with Vertical(id="qa-findings-pane") as pane:
            pane.border_title = f"Findings: {count}" + (f" ({merged} merged)" if merged else "")
            yield self.findings
            yield Static("", id="qa-detail")
        with VerticalScroll(id="qa-report-pane") as report_pane:
            report_pane.border_title = "Report"
            yield Markdown(self.report.markdown, id="qa-report")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.sub_title = self._title
        table = self.findings
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for f in self.report.findings:
            table.add_row(
                f.id,
                Text(f.severity, style=SEVERITY_STYLE.get(f.severity, "")),
                f.location,
                f.title,
                ", ".join(f.reviewers),
                f.assigned_model or "—",
                key=f.id,
            )
        if self.report.findings:
            self._show(self.report.findings[0])
        table.focus()

    def _show(self, finding: ReportFinding) -> None:
        detail = Text()
        detail.append(f"{finding.id} · {finding.category} · fix kind {finding.fix_kind}\n")
        detail.append(finding.detail.strip())
        if finding.suggested_fix:
            detail.append(f"\nFix ({finding.assigned_model or 'unassigned'}): ", style="bold")
            detail.append(finding.suggested_fix.strip())
        self.query_one("#qa-detail", Static).update(detail)

    @on(DataTable.RowHighlighted, "#qa-findings")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        found = next((f for f in self.report.findings if f.id == event.row_key.value), None)
        if found is not None:
            self._show(found)

    def action_back(self) -> None:
        self.dismiss(None)
