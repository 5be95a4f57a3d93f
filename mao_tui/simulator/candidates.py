"""A candidate's answer in a candidate race (engine/candidates.py): the whole demo project as a
``mao-files`` manifest, so each candidate can be verified on its own; whether it carries the
scripted bug depends on the model, deterministically (the parity of the CRC-32 of its API
name), so that a race on the ``implementation`` chain (sonnet-5.5, gpt-6.2-sol, opus-5.5) has
candidates that pass and one (opus-5.5) whose ranking test fails."""

from __future__ import annotations

import zlib

# engine/candidates.py's RACE_HEADING (the simulator stays apart from the layers)
RACE_HEADING = "## Candidate race"

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


def broken_for(model: str) -> bool:
    """Whether ``model``'s candidate carries the scripted bug (see the module's docstring)."""
    return zlib.crc32(model.encode("utf-8")) % 2 == 1
