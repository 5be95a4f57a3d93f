"""The ``cli:`` section of a provider of kind ``cli`` in models.yaml: which tool, its argv, its
environment. Data, so a user can fix a flag the day a tool changes it, without a release.

Templates (argv items, ``stdin``, ``env`` values) may use these placeholders, filled per call:
``{model}`` (the model's ``api_model``), ``{system}``, ``{prompt}``, ``{workdir}``, ``{effort}``
and ``{thinking_budget}`` (from the model's ``thinking``) and ``{max_output_tokens}``. Any other
``{name}`` is an error; braces around anything else (JSON, say) are left as they are.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CliDriver = Literal["claude", "codex", "gemini"]

PLACEHOLDERS = frozenset(
    {"model", "system", "prompt", "workdir", "effort", "thinking_budget", "max_output_tokens"}
)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIB = 1024 * 1024


class CliSettings(BaseModel):
    """How to run one command-line tool, non-interactively and streaming."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    driver: CliDriver  # which output format to parse
    argv: list[str] = Field(min_length=1)  # argv[0] is the executable, looked up on PATH
    stdin: str | None = "{prompt}"  # written to the tool's stdin; null closes stdin at once
    env: dict[str, str] = Field(default_factory=dict)  # set for the tool (templates allowed)
    env_pass: list[str] = Field(default_factory=list)  # passed through from mao's environment
    version_argv: list[str] | None = None  # default: [argv[0], --version]
    help_argv: list[list[str]] | None = None  # default: [[argv[0], --help]]
    kill_grace_s: float = Field(default=2.0, ge=0)  # SIGTERM to SIGKILL
    max_line_bytes: int = Field(default=16 * MIB, ge=1024)  # one JSON line
    max_output_bytes: int = Field(default=64 * MIB, ge=1024)  # all of stdout

    @model_validator(mode="after")
    def _templates_are_sound(self) -> CliSettings:
        if not self.argv[0].strip() or PLACEHOLDER.search(self.argv[0]):
            raise ValueError("argv[0] must name the executable, without placeholders")
        templates = [*self.argv, *self.env.values()]
        if self.stdin is not None:
            templates.append(self.stdin)
        for template in templates:
            for name in PLACEHOLDER.findall(template):
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {template!r}; known: "
                        + ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
                    )
        if not any("{prompt}" in t for t in [*self.argv, self.stdin or ""]):
            raise ValueError("the prompt never reaches the tool: put {prompt} in argv or stdin")
        for name in [*self.env, *self.env_pass]:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return self

    @property
    def executable(self) -> str:
        return self.argv[0]

    def version_command(self) -> list[str]:
        return self.version_argv or [self.executable, "--version"]

    def help_commands(self) -> list[list[str]]:
        return self.help_argv or [[self.executable, "--help"]]

    def flags(self) -> list[str]:
        """The option names the argv template uses (``--model`` from ``--model=x`` too)."""
        found: list[str] = []
        for item in self.argv[1:]:
            if item.startswith("-") and item not in ("-", "--"):
                name = item.split("=", 1)[0]
                if not PLACEHOLDER.search(name) and name not in found:
                    found.append(name)
        return found
