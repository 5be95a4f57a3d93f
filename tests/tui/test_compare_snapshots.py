"""The compare view as an SVG snapshot: two candidates of a race side by side, the verified one
in use, the other's changed, removed and added lines highlighted. The answers are the
simulator's demo project (the ranking file, with and without its scripted bug), fixed here so
the picture never varies. After an intended change:
``pytest tests/tui/test_compare_snapshots.py --snapshot-update``, look at the SVG, then
``python scripts/screenshots.py --snapshots-only``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from textual.app import App

from mao_tui.domain import AttemptStatus, TokenTotals
from mao_tui.simulator.scripts import project_files
from mao_tui.tui.compare_screen import CompareScreen
from mao_tui.tui.state import AttemptText, Lane

SnapCompare = Callable[..., bool]
SIZE = (140, 42)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PATH = "snippets/search.py"


def _answer(broken: bool) -> str:
    code = "\n".join(project_files(broken)[PATH].rstrip("\n").splitlines()[-8:])  # rank()
    closing = (
        "Ties rank the newer snippet first, as the spec asks; `[bold]` in a title stays text."
        if not broken
        else "Ties keep the order of insertion.\nI did not run the tests."
    )
    return (
        "## Candidate\n\nThe ranking, with the tie-break on `updated_at`.\n\n"
        f"```python\n# {PATH}\n{code}\n```\n\n{closing}\n"
    )


def compare_lane() -> Lane:
    """Implementation raced on three models: #1 (Sonnet) selected, #3 (Opus) against it."""
    lane = Lane(key="implementation", title="Implementation", chain=["sonnet-5.5"])
    facts = [
        (1, "sonnet-5.5", 0.0412, "1 passed, 0 failed", False),
        (2, "gpt-6.2-sol", 0.0398, "1 passed, 0 failed", False),
        (3, "opus-5.5", 0.1130, "0 passed, 1 failed (1 new: pytest)", True),
    ]
    for number, model, cost, check, broken in facts:
        attempt = AttemptText(f"a{number}", number, model, started_at=AT)
        attempt.replace_answer(_answer(broken))
        attempt.status = AttemptStatus.OK
        attempt.usage = TokenTotals(input_tokens=5200, output_tokens=1400, cost_usd=cost)
        attempt.candidate, attempt.check = number, check
        lane.history.append(attempt)
    lane.used = "a1"
    return lane


class CompareHost(App[None]):
    def on_mount(self) -> None:
        screen = CompareScreen(compare_lane(), None, lambda: None)
        self.push_screen(screen)
        screen.pair = screen.pairs.index((0, 2))  # the selected one against the broken one


def test_snapshot_compare(snap_compare: SnapCompare) -> None:
    assert snap_compare(CompareHost(), terminal_size=SIZE)
