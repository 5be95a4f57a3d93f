"""The base of every section the user edits (an unknown key is an error); names and kinds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Identifier", "ProviderKind", "Strict"]

ProviderKind = Literal["anthropic", "openai", "openai_chat", "gemini", "cli", "pal"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
