"""Simulated answers about the task typed, when it is not the demo's snippet store.

The demo's scripts tell one story (the snippet store of the sample spec). A task typed in Home or
given to ``mao develop --simulate`` gets answers built from the task itself instead: each
workstream's part of it, the plan's rationale naming it, a synthesis that merges the parts. Still
scripted and deterministic (the same task gives the same words). The synthesis still carries the
simulator's worked-example files (said so), so that apply and verify can be tried on any task.
"""

from __future__ import annotations

import re

_TASK = re.compile(r"^## Task\n(?P<task>.*?)(?=\n## |\n\n## |\Z)", re.M | re.S)
DEMO_SUBJECT = "snippet"  # tasks about the demo's subject keep the demo's scripted story

_PARTS = {
    "schemas": (
        "Schemas",
        "the data it must hold",
        "Name every record the task touches, with its fields, types and the rules that make a "
        "value valid; validate once, at the edge, so everything downstream can trust its input.",
    ),
    "storage": (
        "Storage",
        "how that data is kept",
        "Give the data one home with numbered migrations, atomic writes, and a small repository "
        "interface that the core logic depends on instead of the database.",
    ),
    "core_logic": (
        "Core logic",
        "the rules at its heart",
        "State the rules as pure functions over plain values first, then the edge cases and the "
        "properties a test can check for any input.",
    ),
    "implementation": (
        "Implementation",
        "the interface people use",
        "Keep the outermost layer thin: parse the input, call one function of the core, format "
        "the result, and turn each failure into a message that says what to do.",
    ),
    "tests": (
        "Tests",
        "the checks that prove it works",
        "Test behaviour, not structure: one test per rule of the core logic, one round trip "
        "through storage, one end-to-end path through the interface.",
    ),
}


def part_of(title: str) -> str:
    """What a workstream titled ``title`` contributes (for the synthesis's report)."""
    key = "_".join(title.lower().split())
    return _PARTS[key][1] if key in _PARTS else "its part of the task"


def task_of(request_text: str) -> str:
    """The task a prompt carries under its ``## Task`` heading (the engine's templates do)."""
    match = _TASK.search(request_text)
    return " ".join(match["task"].split()) if match else ""


def is_off_script(task: str) -> bool:
    """A task the demo's snippet-store story does not fit."""
    return bool(task) and DEMO_SUBJECT not in task.lower()


def workstream(key: str, task: str) -> tuple[str, str] | None:
    """(thinking, answer) of a develop workstream about ``task``; None for other keys."""
    if key not in _PARTS:
        return None
    title, part, advice = _PARTS[key]
    thinking = (
        f"The task is “{task}”, and my part is {part}. Before proposing anything I restate what "
        f"“{task}” needs from {part}, list the constraints it states and the ones I am assuming, "
        "and keep the proposal small enough to check."
    )
    answer = (
        f"## {title} for: {task}\n\n"
        f"This part of “{task}” covers {part}.\n\n"
        f"### Proposal\n\n{advice}\n\n"
        f"### Assumptions\n\n- “{task}” is read literally; anything it leaves open is named here "
        "as an assumption, not guessed silently.\n- The other workstreams own their parts; this "
        "one states the interface they can rely on.\n\n"
        "### Risks\n\n- Scale and failure handling are only sketched; confirm them before "
        "building.\n"
    )
    return thinking, answer


def synthesis(task: str, contributions: str) -> tuple[str, str]:
    """(thinking, answer) of the synthesis merging the workstreams' parts of ``task``."""
    thinking = (
        f"I have the workstreams' parts of “{task}” to merge. Their interfaces line up: the "
        "schemas define what storage keeps, the core logic works on those records, and the "
        "interface calls the core. I keep each part's proposal, resolve where they overlap, and "
        "list what is still open."
    )
    answer = (
        f"# {task} — merged plan\n\n"
        "## Decisions\n\n"
        "1. **Data first.** The records and their validation come from Schemas; Storage keeps "
        "them behind a small repository interface.\n"
        "2. **Rules in pure functions.** The core logic takes plain values, so Tests can check "
        "every rule directly.\n"
        "3. **A thin interface.** The implementation parses, calls the core and formats.\n"
        f"{EXAMPLE_FILES}{{{{manifest}}}}\n"
        f"## Report\n\n{contributions}\n\n"
        f"**Still open:** the scale “{task}” must handle, and which failures its users see.\n"
    )
    return thinking, answer


EXAMPLE_FILES = (
    "\n## Files\n\nThe simulator writes no code for an arbitrary task: these are its worked "
    "example's files, so that apply and verify can be tried.\n\n"
)


def plan_rationale(task: str) -> str:
    return (
        f"For “{task}”: the data, its storage, the core rules and the interface are independent "
        "enough to run in parallel; tests wait for the core logic so they check its rules. The "
        "workstreams are spread over three providers to keep the perspectives diverse."
    )
