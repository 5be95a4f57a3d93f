"""Every key binding, by screen: id, action, description, tooltip.

The default keys come from :data:`mao_tui.settings.keys.DEFAULT_KEYS` (the ids a user may remap in
``keys.yaml``); the app applies the user's keymap with ``App.set_keymap``. Every binding here has
an id, and every action is also a command in the palette (see ``MaoApp.get_system_commands``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingType

from mao_tui.settings.keys import DEFAULT_KEYS

Place = Literal["app", "dashboard", "home", "history"]


@dataclass(frozen=True)
class KeySpec:
    id: str
    action: str
    description: str
    tooltip: str
    show: bool = True
    priority: bool = False

    def binding(self, keys: str | None = None) -> Binding:
        keys = keys or DEFAULT_KEYS[self.id]
        display = {"question_mark,f1": "?", "slash": "/"}.get(keys)
        return Binding(
            keys,
            self.action,
            self.description,
            show=self.show,
            key_display=display,
            priority=self.priority,
            id=self.id,
            tooltip=self.tooltip,
        )


SPECS: dict[Place, tuple[KeySpec, ...]] = {
    "app": (
        KeySpec("quit", "quit", "Quit", "Quit mao; asks first while models are working"),
        KeySpec("quit-now", "quit_now", "Quit now", "Cancel all work and quit", show=False),
        KeySpec("help", "help", "Help", "List every key binding"),
        KeySpec("history", "history", "History", "Every stored session, with search"),
        KeySpec("new-session", "new_session", "New", "Start a new session"),
    ),
    "dashboard": (
        KeySpec("rerun", "rerun", "Rerun", "Run the selected workstream again on the same model"),
        KeySpec(
            "rerun-model",
            "rerun_model",
            "Model…",
            "Run the selected workstream again on another model (picker)",
        ),
        KeySpec("cancel", "cancel_workstream", "Cancel", "Cancel the selected workstream"),
        KeySpec(
            "resynthesize",
            "resynthesize",
            "Synthesize",
            "Synthesize again from the latest successful outputs",
        ),
        KeySpec(
            "toggle-thinking",
            "toggle_thinking",
            "Thinking",
            "Show or hide all thinking",
            show=False,  # the footer keeps to the steering keys; help and ctrl+p list all
        ),
        KeySpec(
            "maximize-panel",
            "maximize_panel",
            "Maximize",
            "Maximize the selected panel; again to restore",
            show=False,
        ),
        KeySpec(
            "attempts",
            "attempts",
            "Attempts",
            "Every attempt of the selected workstream (earlier syntheses too)",
            show=False,
        ),
        KeySpec(
            "compare",
            "compare",
            "Compare",
            "Two answers of the row side by side; pick one",
            show=False,
        ),
        KeySpec("race", "race", "Race", "Run the row again as a race of N candidates", show=False),
        KeySpec("export", "export", "Export", "Export the session as Markdown or JSON"),
        KeySpec(
            "apply",
            "apply_files",
            "Apply",
            "Show the synthesis's files as diffs against the workspace; write them and verify",
        ),
        KeySpec(
            "fix",
            "fix_round",
            "Fix",
            "Send the failed verification to the implementation model, synthesize, apply again",
        ),
        KeySpec(
            "land",
            "land",
            "Land",
            "Bring the session's worktree commit onto your checked-out branch (as mao land)",
        ),
        KeySpec(
            "qa-report",
            "qa_report",
            "QA report",
            "The QA report of a qa session: score, findings table, report",
        ),
        KeySpec(
            "ledger",
            "ledger",
            "Ledger",
            "The ensemble ledger: each race's candidates, verification, cost; files' sources",
        ),
        KeySpec("back", "back", "Back", "Back to the previous screen", show=False),
    ),
    "home": (
        KeySpec("start", "start", "Start", "Start the session (or press Enter in the task)"),
        KeySpec("refresh", "refresh", "Refresh", "Reload the recent sessions", show=False),
        KeySpec("back", "back", "Back", "Back to the previous screen", show=False),
    ),
    "history": (
        KeySpec("search", "focus_search", "Search", "Search tasks and outputs"),
        KeySpec("refresh", "refresh", "Refresh", "Reload the list", show=False),
        KeySpec("back", "back", "Back", "Back to the previous screen"),
    ),
}


def screen_bindings(place: Place) -> list[BindingType]:
    return [spec.binding() for spec in SPECS[place]]


def all_specs() -> list[tuple[Place, KeySpec]]:
    return [(place, spec) for place, specs in SPECS.items() for spec in specs]
