"""The ``pal:`` section of a provider of kind ``pal`` in models.yaml: how to start the PAL MCP
server (``pal-mcp-server``, formerly zen-mcp-server) and what it may see of mao's environment.

A model of a ``pal`` provider names PAL's model in ``api_model`` (``gpt-6.2-astra``, ``auto``, an
OpenRouter or custom-endpoint name): the call goes through PAL's ``chat`` tool. ``clink:NAME``
(or ``clink:NAME/ROLE``) goes through PAL's ``clink`` tool to the CLI client ``NAME`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Passed through from mao's environment unless the user lists their own: the variables PAL's
# providers read (its .env file, if any, is read by PAL itself).
DEFAULT_ENV_PASS = (
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "XAI_API_KEY",
    "OPENROUTER_API_KEY",
    "DIAL_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "CUSTOM_API_URL",
    "CUSTOM_API_KEY",
    "CUSTOM_MODEL_NAME",
    "CUSTOM_MODELS_CONFIG_PATH",
    "DEFAULT_MODEL",
    "PAL_WORKSPACE_ROOT",
)


# Lifts PAL's MCP prompt-size limit to 2.4 million characters (the models' windows decide).
PROMPT_TOKENS = 1_000_000


class PalSettings(BaseModel):
    """How to run one PAL MCP server over stdio."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # argv; argv[0] is looked up on PATH. ``[pal-mcp-server]`` runs an installed one.
    command: list[str] = Field(default_factory=lambda: ["uvx", "pal-mcp-server"], min_length=1)
    # Set for the server. (In models.yaml, ``${NAME}`` is filled from mao's environment when the
    # configuration loads, as anywhere in it, and must then be set: a key that may be unset
    # belongs in ``env_pass``.)
    env: dict[str, str] = Field(default_factory=dict)
    # Passed through from mao's environment when set there.
    env_pass: list[str] = Field(default_factory=lambda: list(DEFAULT_ENV_PASS))
    startup_timeout_s: float = Field(default=120.0, gt=0)  # uvx may download PAL the first time
    # PAL's chat tool wants a directory inside its workspace root; default: the project's.
    working_directory: str | None = None

    @model_validator(mode="after")
    def _names_are_sound(self) -> PalSettings:
        if not self.command[0].strip():
            raise ValueError("command[0] must name the executable")
        for name in [*self.env, *self.env_pass]:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return self

    def server_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The variables the server gets on top of the SDK's minimal set (PATH, HOME, ...):
        mao's two defaults, then ``env_pass`` from ``environ``, then ``env``."""
        # PAL refuses a prompt over 60% of MAX_MCP_OUTPUT_TOKENS (× 4 characters; 60,000 by
        # default), prompt.txt included; a workstream's prompt with its spec is often larger.
        # Its "still thinking" progress note every 15 s rather than 5: one line each in the panel.
        out = {
            "MAX_MCP_OUTPUT_TOKENS": str(PROMPT_TOKENS),
            "PAL_PROGRESS_HEARTBEAT_SECONDS": "15",
        }
        out.update({name: environ[name] for name in self.env_pass if environ.get(name)})
        out.update(self.env)
        return out

    def summary(self, environ: Mapping[str, str]) -> str:
        """For `mao config check`: the command, whether it is on PATH, the variables it gets."""
        import shutil

        command = " ".join(self.command)
        found = shutil.which(self.command[0], path=environ.get("PATH"))
        if found is None:
            return f"✗ {self.command[0]} not found on PATH ({command})"
        names = sorted(
            set(self.server_env(environ))
            - {"MAX_MCP_OUTPUT_TOKENS", "PAL_PROGRESS_HEARTBEAT_SECONDS"}
        )
        given = f"; gets {', '.join(names)}" if names else "; no key or endpoint variable set"
        return f"✓ {command} (at {found}){given}"


def clink_target(api_model: str) -> tuple[str, str | None] | None:
    """``clink:gemini/planner`` → ``("gemini", "planner")``; None for a chat model."""
    if not api_model.startswith("clink:"):
        return None
    name, _, role = api_model.removeprefix("clink:").partition("/")
    return name, role or None
