"""A stored session's estimate set against what it cost, workstream by workstream (in
`mao sessions show`): the estimate's error, in the open."""

from __future__ import annotations

from mao_tui.domain import TokenTotals
from mao_tui.domain.budget_events import usd
from mao_tui.domain.stored import SessionDetail


def _error(estimate: float | None, actual: float, complete: bool) -> str:
    if estimate is None or not complete:
        return "error unknown (a price is unknown)"
    if actual <= 0:
        return "nothing was spent"
    return f"error {100 * (estimate - actual) / actual:+.0f}%"


def estimate_lines(d: SessionDetail) -> list[str]:
    """The budget line and the estimate section (empty for a session stored without one)."""
    if not d.estimates and d.budget_usd is None:
        return []
    lines = ["", "## Cost: estimate and actual", ""]
    budget = usd(d.budget_usd) if d.budget_usd is not None else "none"
    total = usd(d.estimate_usd) + ("" if d.estimate_complete else " + unknown")
    spent = usd(d.cost_usd) + ("" if d.cost_complete else " + unknown")
    lines.append(f"budget {budget}; estimated {total}; spent {spent}")
    for row in d.estimates:
        actual = TokenTotals()
        for attempt in d.attempts_for(row.workstream):
            actual.add(attempt.usage)
        lines.append(
            f"- {row.title} on {row.model}: estimated {usd(row.cost_usd)} "
            f"(in ~{row.input_tokens:,}, out ~{row.output_tokens:,}, {row.output_source}); "
            f"cost {usd(actual.cost_usd)} (in {actual.input_tokens:,}, "
            f"out {actual.output_tokens:,}); "
            + _error(row.cost_usd, actual.cost_usd, actual.cost_complete)
        )
    return lines
