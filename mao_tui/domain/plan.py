"""The plan of a session: its workstreams, each with a chain of models, and the synthesis."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mao_tui.domain.ids import SYNTHESIS_KEY

__all__ = [
    "SYNTHESIS_KEY",
    "Finding",
    "ModelSubstitution",
    "Plan",
    "PlannedWorkstream",
]


class ModelSubstitution(BaseModel):
    """A model a route names that will not run, resolved before any request: its successor
    runs instead (``model``), or it is left out (``model`` None)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    requested: str  # the model id the route or plan named
    model: str | None  # what runs in its place; None when it is skipped
    reason: str  # "successor", "retired"; "unavailable" for a model the provider lacks
    detail: str


class PlannedWorkstream(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    title: str
    route: str
    chain: list[str]  # model ids: primary first, universal fallback last
    depends_on: list[str] = Field(default_factory=list)
    template_key: str | None = None  # the playbook workstream it instantiates (default: key)
    section: str | None = None  # the spec section it works on, when the user chose sections
    rationale: str = ""  # why this model, from the orchestrator
    instructions: str = ""  # extra guidance from the orchestrator, appended to the prompt
    files: list[str] = Field(default_factory=list)  # repository files it must read (orchestrator)
    # Models of the route replaced or left out before any request (logged when it starts)
    substitutions: list[ModelSubstitution] = Field(default_factory=list)
    # A candidate race (engine/candidates.py): how many models run it at once, or which ones
    candidates: int | list[str] = 0
    # Its race blindly cross-reviewed (engine/cross_review.py); None: as the playbook says
    cross_review: bool | None = None


class Finding(BaseModel):
    """A pre-flight finding. A blocking one stops the session before any model work."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    severity: Literal["info", "warning", "blocking"]
    message: str
    source: str = "checks"  # "checks" (code) or the model id that found it


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    playbook: str
    workstreams: list[PlannedWorkstream]
    synthesis: PlannedWorkstream
    source: Literal["rules", "orchestrator", "file"] = "rules"
    rationale: str = ""
    diversity: float | None = None  # see engine/diversity.py for the formula
    findings: list[Finding] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
