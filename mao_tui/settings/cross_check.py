"""Checks that span files (models, routing, playbooks, prompts): what one file alone cannot tell."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, get_args

from mao_tui.settings.base import ProviderKind
from mao_tui.settings.providers import KEYED_KINDS
from mao_tui.settings.routing import ALIAS_PREFIX

if TYPE_CHECKING:
    from mao_tui.settings.playbooks import Playbook, PromptChoice
    from mao_tui.settings.routing import RoutingConfig
    from mao_tui.settings.schema import Registry, Settings

__all__ = [
    "cross_check",
]


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


Problem = tuple[tuple[str | int, ...], str, str]  # (location, section, message)


def cross_check(settings: Settings) -> list[Problem]:
    """Errors that span files: (location, section, message). Empty when all is sound."""
    reg = settings.registry
    problems = _provider_problems(reg) + _lifecycle_problems(reg)
    problems += _routing_problems(reg, settings.routing)
    variant_keys = {*reg.models, *reg.providers, *get_args(ProviderKind)}
    variant_keys |= {m.family for m in reg.models.values() if m.family}
    for name, pb in settings.playbooks.items():
        problems += _playbook_problems(settings, name, pb, variant_keys)
    return problems


def _provider_problems(reg: Registry) -> list[Problem]:
    """Models on a provider that is not there; key variables that are no variable names."""
    problems: list[Problem] = []
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
    return problems


def _routing_problems(reg: Registry, routing: RoutingConfig) -> list[Problem]:
    problems: list[Problem] = []
    for key, route in routing.routes.items():
        for field, values in (("primary", [route.primary]), ("fallbacks", route.fallbacks)):
            for i, mid in enumerate(values):
                message = _unknown_ref(reg, mid)
                if message:
                    loc: tuple[str | int, ...] = ("routes", key, field)
                    if field == "fallbacks":
                        loc = (*loc, i)
                    problems.append((loc, "routing", message))
    message = _unknown_ref(reg, routing.universal_fallback)
    if message:
        problems.append((("universal_fallback",), "routing", message))
    return problems


def _playbook_problems(
    settings: Settings, name: str, pb: Playbook, variant_keys: set[str]
) -> list[Problem]:
    """Prompt variants keyed by nothing known, unknown routes, missing prompt templates."""
    problems: list[Problem] = []
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
    choices: list[tuple[tuple[str | int, ...], PromptChoice]] = [
        (("workstreams", i), w) for i, w in enumerate(pb.workstreams)
    ]
    choices.append((("synthesis",), pb.synthesis))
    for base, choice in choices:
        for variant, path in choice.variants.items():
            loc = (*base, "variants", variant)
            prompts.append((loc, path))
            if variant not in variant_keys:
                problems.append(
                    (
                        loc,
                        f"playbook:{name}",
                        f"{variant!r} is no model id, model family, provider or provider "
                        f"kind; expected one of: {', '.join(sorted(variant_keys))}",
                    )
                )
    if pb.fix is not None:
        routes.append((("fix", "route"), pb.fix.route))
        prompts.append((("fix", "prompt"), pb.fix.prompt))
    if pb.qa is not None:
        routes += [(("qa", "fixes", kind), route) for kind, route in pb.qa.fixes.items()]
    routing = settings.routing
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


def _unknown_ref(reg: Registry, ref: str) -> str | None:
    """Why a route's model reference names nothing, or None when it is sound."""
    if ref.startswith(ALIAS_PREFIX):
        series = ref.removeprefix(ALIAS_PREFIX)
        known_series = sorted({m.series for m in reg.models.values() if m.series})
        if series not in known_series:
            return f"no model of series {series!r} for {ref!r}; series in models.yaml: " + (
                ", ".join(known_series) or "none"
            )
        return None
    if ref not in reg.models:
        return f"unknown model {ref!r}; known models: {', '.join(sorted(reg.models))}"
    return None


def _lifecycle_problems(reg: Registry) -> list[Problem]:
    """Successors that name no model or loop; thinking controls the provider cannot send."""
    problems: list[Problem] = []
    for mid, m in reg.models.items():
        if m.successor is not None and m.successor not in reg.models:
            problems.append(
                (
                    ("models", mid, "successor"),
                    "models",
                    f"unknown model {m.successor!r}; known models: {', '.join(sorted(reg.models))}",
                )
            )
            continue
        seen = [mid]
        nxt = m.successor
        while nxt is not None and nxt in reg.models and nxt not in seen:
            seen.append(nxt)
            nxt = reg.models[nxt].successor
        if nxt is not None and nxt in seen:
            problems.append(
                (
                    ("models", mid, "successor"),
                    "models",
                    "successors form a loop: " + " → ".join([*seen, nxt]),
                )
            )
        provider = reg.providers.get(m.provider)
        control = m.thinking.control if m.thinking else None
        if provider is not None and control is not None:
            wanted = _CONTROL_KINDS.get(control.split("_")[0], ())
            if provider.kind in KEYED_KINDS | {"openai_chat"} and provider.kind not in wanted:
                problems.append(
                    (
                        ("models", mid, "thinking", "control"),
                        "models",
                        f"control {control} is not sent by provider kind {provider.kind!r} "
                        f"(provider {m.provider})",
                    )
                )
    return problems


# The provider kinds that send each control's family of parameters (CLI tools and PAL map a
# control to their own flags, so any control is accepted there).
_CONTROL_KINDS: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic",),
    "openai": ("openai", "openai_chat"),
    "gemini": ("gemini",),
}
