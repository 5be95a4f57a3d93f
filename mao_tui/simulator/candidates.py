"""A candidate's answer in a candidate race (engine/candidates.py): the whole demo project as a
``mao-files`` manifest, so each candidate can be verified on its own; whether it carries the
scripted bug depends on the model, deterministically (the parity of the CRC-32 of its API
name), so that a race on the ``implementation`` chain (sonnet-5.5, gpt-6.2-sol, opus-5.5) has
candidates that pass and one (opus-5.5) whose ranking test fails.

Each candidate's answer names its approach (one of :data:`APPROACHES`, by the model) and, as
models do, the model that wrote it (which a blind cross-review must scrub). A cross-review
request (engine/cross_review.py) is answered with a ranking that puts answers carrying the bug
last and orders the rest by the CRC-32 of the reviewer's API name and the answer's approach:
deterministic, and different per reviewer, so reviewers can disagree. A reviewer whose API
name is in :data:`MALFORMED_REVIEWERS` (empty; tests fill it) answers without a ranking line."""

from __future__ import annotations

import re
import zlib

# engine/candidates.py's RACE_HEADING and engine/cross_review.py's REVIEW_HEADING (the
# simulator stays apart from the layers)
RACE_HEADING = "## Candidate race"
REVIEW_HEADING = "## Cross-review"
APPROACHES = (
    "a repository class over plain SQL",
    "small pure functions around one connection",
    "a dataclass per table and a thin storage module",
    "one module per layer, wired in main",
    "a service object with the storage injected",
    "a functional core and an imperative shell",
)
MALFORMED_REVIEWERS: frozenset[str] = frozenset()
_SHOWN = re.compile(
    r"^### Answer (?P<label>[A-Z])\n\n(?P<fence>`{3,})markdown\n(?P<body>.*?)\n(?P=fence)$",
    re.M | re.S,
)
_APPROACH = re.compile(r"^Approach: (?P<approach>.+)$", re.M)
_BUGGY = re.compile(r"[^-]pair\[1\]\.updated_at\.timestamp\(\)")  # scripts.BUG's broken line

THINKING = (
    "This answer is verified on its own, so it has to carry the whole project: models, storage, "
    "search and the tests, as one manifest, each file complete.\n"
)
ANSWER = (
    "## Candidate\n\nThe whole project, so the checks can run on this answer alone: the "
    "standard-library models and storage, the ranking, and the tests.\n\n"
)


def is_candidate(request_text: str) -> bool:
    return RACE_HEADING in request_text


def is_review(request_text: str) -> bool:
    return REVIEW_HEADING in request_text


def approach_for(model: str) -> str:
    return APPROACHES[zlib.crc32(f"approach:{model}".encode()) % len(APPROACHES)]


def signature(model: str) -> str:
    """A candidate's approach, and who wrote it, as a model might say them."""
    return f"\nApproach: {approach_for(model)}\n\nDrafted by {model}.\n\n"


def answer_head(model: str) -> str:
    """What a candidate says before its manifest: its approach, and who wrote it."""
    return ANSWER + signature(model).lstrip("\n")


def review(model: str, request_text: str) -> tuple[str, str]:
    """(thinking, answer) of a cross-review: the answers shown, ranked (see the docstring)."""
    shown = {m["label"]: m["body"] for m in _SHOWN.finditer(request_text)}

    def key(label: str) -> tuple[bool, int]:
        body = shown[label]
        found = _APPROACH.search(body)
        approach = found["approach"] if found else ""
        return bool(_BUGGY.search(body)), zlib.crc32(f"{model}|{approach}".encode())

    ranked = sorted(shown, key=key)
    buggy = [label for label in ranked if key(label)[0]]
    thinking = f"Comparing {len(shown)} answers; running the ranking tests in my head.\n"
    why = (
        f"{', '.join(buggy)} sorts recency oldest first, which the ranking test catches. "
        if buggy
        else "Every answer looks correct. "
    )
    if model in MALFORMED_REVIEWERS:
        return thinking, f"{why}They are all fine in their own way; I would not rank them.\n"
    return (
        thinking,
        f"{why}The rest I order by how clearly they read.\n\nRANKING: {' > '.join(ranked)}\n",
    )


def broken_for(model: str) -> bool:
    """Whether ``model``'s candidate carries the scripted bug (see the module's docstring)."""
    return zlib.crc32(model.encode("utf-8")) % 2 == 1
