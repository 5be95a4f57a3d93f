"""Pydantic schemas for the data the user edits: models.yaml, routing.yaml, playbooks/*.yaml.

The sections live in ``providers``, ``models``, ``routing`` and ``playbooks``; the checks that
span files in ``cross_check``. Here: the whole (``Registry``, ``Settings``), and every name of
those modules, importable from here as before.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mao_tui.settings.base import *  # noqa: F403
from mao_tui.settings.base import Identifier, Strict
from mao_tui.settings.cross_check import *  # noqa: F403
from mao_tui.settings.models import *  # noqa: F403
from mao_tui.settings.models import Global, ModelConfig
from mao_tui.settings.playbooks import *  # noqa: F403
from mao_tui.settings.playbooks import Playbook, PromptChoice, VerificationCommand
from mao_tui.settings.providers import *  # noqa: F403
from mao_tui.settings.providers import ProviderConfig, ResolvedTimeouts, RetryPolicy
from mao_tui.settings.routing import *  # noqa: F403
from mao_tui.settings.routing import RoutingConfig


class Registry(Strict):
    """models.yaml"""

    global_: Global = Field(default_factory=Global, alias="global")
    providers: dict[Identifier, ProviderConfig]
    models: dict[Identifier, ModelConfig]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Settings(BaseModel):
    """The whole, merged and cross-checked configuration."""

    registry: Registry
    routing: RoutingConfig
    playbooks: dict[str, Playbook]
    prompts: dict[str, str]  # relative path under prompts/ → template text
    keybindings: dict[str, str] = Field(default_factory=dict)  # keys.yaml: binding id → keys
    # verify.yaml: per playbook, the commands that replace its own ``verification``
    verification: dict[str, list[VerificationCommand]] = Field(default_factory=dict)

    def verification_for(self, playbook: str) -> list[VerificationCommand]:
        """The project's commands (verify.yaml) when it names the playbook, else its own."""
        if playbook in self.verification:
            return self.verification[playbook]
        pb = self.playbooks.get(playbook)
        return list(pb.verification) if pb is not None else []

    def model(self, model_id: str) -> ModelConfig:
        return self.registry.models[model_id]

    def provider_of(self, model_id: str) -> ProviderConfig:
        return self.registry.providers[self.registry.models[model_id].provider]

    def timeouts_for(self, model_id: str) -> ResolvedTimeouts:
        return self.provider_of(model_id).resolved_timeouts(self.model(model_id).timeouts)

    def retry_policy(self, provider_id: str) -> RetryPolicy:
        """``global.retry`` with the provider's own ``retry`` keys over it."""
        base = self.registry.global_.retry
        override = self.registry.providers[provider_id].retry
        if override is None:
            return base
        return base.model_copy(
            update={name: getattr(override, name) for name in override.model_fields_set}
        )

    def variant_keys(self, model_id: str) -> list[str]:
        """What a prompt variant may be keyed by for this model, most specific first."""
        model = self.model(model_id)
        keys = [model_id, model.family, model.provider, self.provider_of(model_id).kind]
        return list(dict.fromkeys(k for k in keys if k))

    def template_for(self, choice: PromptChoice, model_id: str) -> str:
        """The template ``choice`` gives ``model_id``: its variant when one matches."""
        if choice.variants and model_id in self.registry.models:
            for key in self.variant_keys(model_id):
                if key in choice.variants:
                    return choice.variants[key]
        return choice.prompt

    def chain(self, route: str) -> list[str]:
        """Primary, fallbacks, then the universal fallback, each once, as routing.yaml names
        them: model ids or ``latest:`` aliases. What will run (successors, aliases resolved)
        is :func:`mao_tui.engine.routing.route_chain`."""
        r = self.routing.routes[route]
        chain: list[str] = []
        for m in [r.primary, *r.fallbacks, self.routing.universal_fallback]:
            if m not in chain:
                chain.append(m)
        return chain
