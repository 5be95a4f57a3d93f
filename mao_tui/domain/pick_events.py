"""The user's pick of a workstream's output (issue 19, compare side by side): of its attempts
or race candidates, the one the synthesis is given from now on.

The event joins the event union in ``domain/events.py``; the controller
(``engine/controller.py``) makes it the workstream's output, the store keeps it, and review
replays it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OutputPicked"]


def _now() -> datetime:
    return datetime.now(UTC)


class OutputPicked(BaseModel):
    """``attempt_id``'s answer is now ``workstream``'s output. ``synthesized``: a synthesis had
    already been given another output (a new one is needed for the pick to count)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["output_picked"] = "output_picked"
    session_id: str
    at: datetime = Field(default_factory=_now)
    workstream: str
    workstream_title: str
    attempt_id: str
    attempt_no: int
    model: str
    candidate: int | None = None  # its number in a race, when it was a candidate
    synthesized: bool = False

    @property
    def line(self) -> str:
        what = f"candidate #{self.candidate}" if self.candidate else f"attempt {self.attempt_no}"
        then = "; synthesize again (s) to use it" if self.synthesized else ""
        return f"{self.workstream_title}: picked {what} on {self.model} for the synthesis{then}"
