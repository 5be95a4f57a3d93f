"""Will the input fit? A check before any model work, against the smallest context window in
the plan. Tokens are estimated at 4 characters each: close for English prose and code, and the
figure is shown as an estimate."""

from __future__ import annotations

from dataclasses import dataclass

from mao_tui.domain import Plan
from mao_tui.settings.schema import Settings

CHARS_PER_TOKEN = 4
HEADROOM = 0.8  # leave a fifth of the window for the prompt template, thinking and the answer


@dataclass(frozen=True)
class Fit:
    estimated_tokens: int
    smallest_window: int
    model: str

    @property
    def limit_tokens(self) -> int:
        return int(self.smallest_window * HEADROOM)

    @property
    def fits(self) -> bool:
        return self.estimated_tokens <= self.limit_tokens


def check_fit(settings: Settings, plan: Plan, text: str) -> Fit:
    models = {m for ws in [*plan.workstreams, plan.synthesis] for m in ws.chain}
    model = min(sorted(models), key=lambda m: settings.model(m).context_window)
    return Fit(len(text) // CHARS_PER_TOKEN, settings.model(model).context_window, model)


def truncate_to_fit(text: str, fit: Fit, other_chars: int) -> str:
    keep = max(0, fit.limit_tokens * CHARS_PER_TOKEN - other_chars)
    note = f"\n\n[mao: truncated here, {len(text) - keep:,} characters cut to fit {fit.model}]\n"
    return text[:keep] + note
