"""Pydantic schemas for the data the user edits: models.yaml, routing.yaml, playbooks/*.yaml."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mao_tui.providers.base import ThinkingSettings

ProviderKind = Literal["anthropic", "openai", "openai_chat", "gemini"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderConfig(Strict):
    kind: ProviderKind
    api_key_env: list[str] = Field(min_length=1)
    base_url: str | None = None
    api_version: str | None = None  # gemini only: v1 (SDK default), v1beta, v1alpha
    timeout_s: float = Field(default=600.0, gt=0)
    max_concurrency: int = Field(default=4, ge=1)


class Prices(Strict):
    """US dollars per million tokens. Thinking tokens are billed as output."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class ModelConfig(Strict):
    provider: Identifier
    api_model: str = Field(min_length=1)
    display_name: str | None = None
    role: str = "worker"
    capabilities: list[str] = Field(default_factory=list)
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    thinking: ThinkingSettings | None = None
    prices: Prices | None = None
    deprecated: bool = False
    retires: str | None = None

    @model_validator(mode="after")
    def _budget_below_max(self) -> ModelConfig:
        budget = self.thinking.budget_tokens if self.thinking else None
        if budget is not None and budget >= self.max_output_tokens:
            raise ValueError(
                f"thinking.budget_tokens ({budget}) must be below max_output_tokens "
                f"({self.max_output_tokens})"
            )
        return self


class Global(Strict):
    thinking_always_on: bool = True


class Route(Strict):
    primary: Identifier
    fallbacks: list[Identifier] = Field(default_factory=list)


class RoutingConfig(Strict):
    routes: dict[Identifier, Route]
    universal_fallback: Identifier


class PlaybookWorkstream(Strict):
    key: Identifier
    title: str = Field(min_length=1)
    route: Identifier
    prompt: str = Field(min_length=1)
    depends_on: list[Identifier] = Field(default_factory=list)


class PlaybookSynthesis(Strict):
    route: Identifier
    prompt: str = Field(min_length=1)


class Playbook(Strict):
    name: Identifier
    description: str = ""
    system_prompt: str = Field(min_length=1)
    workstreams: list[PlaybookWorkstream] = Field(min_length=1)
    synthesis: PlaybookSynthesis
    output: Literal["markdown", "files", "qa_report", "journal"] = "markdown"

    @model_validator(mode="after")
    def _graph_is_sound(self) -> Playbook:
        keys = [w.key for w in self.workstreams]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate workstream keys: {', '.join(dupes)}")
        known = set(keys)
        for ws in self.workstreams:
            unknown = [d for d in ws.depends_on if d not in known]
            if unknown:
                raise ValueError(
                    f"workstream {ws.key!r} depends on unknown workstream(s): {', '.join(unknown)}"
                )
        cycle = _find_cycle({w.key: w.depends_on for w in self.workstreams})
        if cycle:
            raise ValueError("depends_on has a cycle: " + " → ".join(cycle))
        return self


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


class Registry(Strict):
    """models.yaml"""

    global_: Global = Field(default_factory=Global, alias="global")
    providers: dict[Identifier, ProviderConfig]
    models: dict[Identifier, ModelConfig]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class Settings(BaseModel):
    """The whole, merged and cross-checked configuration."""

    registry: Registry
    routing: RoutingConfig
    playbooks: dict[str, Playbook]
    prompts: dict[str, str]  # relative path under prompts/ → template text

    def model(self, model_id: str) -> ModelConfig:
        return self.registry.models[model_id]

    def provider_of(self, model_id: str) -> ProviderConfig:
        return self.registry.providers[self.registry.models[model_id].provider]

    def chain(self, route: str) -> list[str]:
        """Primary, fallbacks, then the universal fallback; each model once."""
        r = self.routing.routes[route]
        chain: list[str] = []
        for m in [r.primary, *r.fallbacks, self.routing.universal_fallback]:
            if m not in chain:
                chain.append(m)
        return chain


def cross_check(settings: Settings) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Errors that span files: (location, section, message). Empty when all is sound."""
    reg, routing = settings.registry, settings.routing
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
    for mid, m in reg.models.items():
        if m.provider not in reg.providers:
            problems.append(
                (
                    ("models", mid, "provider"),
                    "models",
                    f"unknown provider {m.provider!r}; expected one of: "
                    + ", ".join(sorted(reg.providers)),
                )
            )
    for pid, p in reg.providers.items():
        for i, name in enumerate(p.api_key_env):
            if not _ENV_NAME.match(name):
                problems.append(
                    (
                        ("providers", pid, "api_key_env", i),
                        "models",
                        f"{name!r} is not an environment variable name",
                    )
                )
    known = sorted(reg.models)
    for key, route in routing.routes.items():
        for field, values in (("primary", [route.primary]), ("fallbacks", route.fallbacks)):
            for i, mid in enumerate(values):
                if mid not in reg.models:
                    loc: tuple[str | int, ...] = ("routes", key, field)
                    if field == "fallbacks":
                        loc = (*loc, i)
                    problems.append(
                        (loc, "routing", f"unknown model {mid!r}; known models: {', '.join(known)}")
                    )
    if routing.universal_fallback not in reg.models:
        problems.append(
            (
                ("universal_fallback",),
                "routing",
                f"unknown model {routing.universal_fallback!r}; known models: {', '.join(known)}",
            )
        )
    for name, pb in settings.playbooks.items():
        routes: list[tuple[tuple[str | int, ...], str]] = [
            (("workstreams", i, "route"), w.route) for i, w in enumerate(pb.workstreams)
        ]
        routes.append((("synthesis", "route"), pb.synthesis.route))
        prompts: list[tuple[tuple[str | int, ...], str]] = [
            (("workstreams", i, "prompt"), w.prompt) for i, w in enumerate(pb.workstreams)
        ]
        prompts += [
            (("synthesis", "prompt"), pb.synthesis.prompt),
            (("system_prompt",), pb.system_prompt),
        ]
        for loc, route_key in routes:
            if route_key not in routing.routes:
                problems.append(
                    (
                        loc,
                        f"playbook:{name}",
                        f"unknown route {route_key!r}; routing.yaml has: "
                        + ", ".join(sorted(routing.routes)),
                    )
                )
        for loc, path in prompts:
            if path not in settings.prompts:
                problems.append((loc, f"playbook:{name}", f"prompt template {path!r} not found"))
    return problems
