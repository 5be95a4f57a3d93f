"""Pydantic schemas for the data the user edits: models.yaml, routing.yaml, playbooks/*.yaml."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mao_tui.settings.cli import CliSettings
from mao_tui.settings.pal import PalSettings
from mao_tui.settings.thinking import ThinkingSettings

ProviderKind = Literal["anthropic", "openai", "openai_chat", "gemini", "cli", "pal"]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Provider kinds whose API always needs a key (an openai_chat server may not).
KEYED_KINDS = frozenset({"anthropic", "openai", "gemini"})
RetryableKind = Literal[
    "rate_limited", "overloaded", "server", "connection", "timeout", "truncated"
]
DEFAULT_RETRY_ON: tuple[RetryableKind, ...] = (
    "rate_limited",
    "overloaded",
    "server",
    "connection",
    "timeout",
)


class Timeouts(Strict):
    """Seconds; any left unset comes from the provider, then from :data:`DEFAULT_TIMEOUTS`."""

    connect_s: float | None = Field(default=None, gt=0)  # TCP and TLS (Gemini: docs, Timeouts)
    first_event_s: float | None = Field(default=None, gt=0)  # request sent → first stream event
    idle_s: float | None = Field(default=None, gt=0)  # longest silence between two events
    total_s: float | None = Field(default=None, gt=0)  # the whole call, first byte to last


class ResolvedTimeouts(BaseModel):
    model_config = ConfigDict(frozen=True)

    connect_s: float
    first_event_s: float
    idle_s: float
    total_s: float

    @property
    def read_s(self) -> float:
        """The SDK's read timeout: a safety net just behind the engine's own watchdog."""
        return max(self.first_event_s, self.idle_s) + SDK_TIMEOUT_GRACE_S


# Max-thinking calls can think for minutes between events, so the idle gap is generous; a
# request that never starts streaming is caught much sooner by the first-event timeout.
DEFAULT_TIMEOUTS = ResolvedTimeouts(connect_s=10, first_event_s=120, idle_s=300, total_s=3600)
SDK_TIMEOUT_GRACE_S = 1.0


class RetryPolicy(Strict):
    """The engine's answer to a failure before the first token (``global.retry``, and
    ``providers.<id>.retry`` for the keys it sets). Kinds not in ``retry_on``, and any failure
    after the first token, fall back to the next model at once."""

    retry_on: list[RetryableKind] = Field(default_factory=lambda: list(DEFAULT_RETRY_ON))
    max_retries: int = Field(default=2, ge=0, le=10)  # of the same model, per model in the chain
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_multiplier: float = Field(default=2.0, ge=1)
    backoff_max_s: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=0.25, ge=0, le=1)  # up to this fraction of the delay is added
    retry_after_cap_s: float = Field(default=60.0, ge=0)  # a longer retry-after: fall back now
    cooldown_s: float = Field(default=10.0, ge=0)  # a 429 pauses the provider at least this long


class ProviderConfig(Strict):
    kind: ProviderKind
    # Empty means no key is needed (a local openai_chat server); the other kinds need one.
    api_key_env: list[str] = Field(default_factory=list)
    base_url: str | None = None
    api_version: str | None = None  # gemini only: v1 (SDK default), v1beta, v1alpha
    # Shorthand: sets first_event_s and idle_s over ``timeouts`` (a model's own still win).
    timeout_s: float | None = Field(default=None, gt=0)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_concurrency: int = Field(default=4, ge=1)
    retry: RetryPolicy | None = None
    cli: CliSettings | None = None  # kind cli only: the tool, its argv and environment
    pal: PalSettings | None = None  # kind pal only (optional): how to start the PAL MCP server

    @model_validator(mode="after")
    def _pal_section_matches_kind(self) -> ProviderConfig:
        if self.kind != "pal":
            if self.pal is not None:
                raise ValueError(f"pal: applies to kind 'pal' only, not {self.kind!r}")
            return self
        stray = [n for n in ("api_key_env", "base_url", "api_version") if getattr(self, n)]
        if stray:
            raise ValueError(
                f"{', '.join(stray)}: not used by kind 'pal' (PAL reads its own keys; pass "
                "them with pal.env_pass or pal.env)"
            )
        return self

    @model_validator(mode="after")
    def _cli_section_matches_kind(self) -> ProviderConfig:
        if self.kind != "cli":
            if self.cli is not None:
                raise ValueError(f"cli: applies to kind 'cli' only, not {self.kind!r}")
            return self
        if self.cli is None:
            raise ValueError("kind 'cli' needs a cli: section (driver, argv)")
        stray = [n for n in ("api_key_env", "base_url", "api_version") if getattr(self, n)]
        if stray:
            raise ValueError(
                f"{', '.join(stray)}: not used by kind 'cli' (the tool signs in by itself; "
                "pass it variables with cli.env_pass or cli.env)"
            )
        return self

    @model_validator(mode="after")
    def _keyed_kinds_name_a_key(self) -> ProviderConfig:
        if self.kind in KEYED_KINDS and not self.api_key_env:
            raise ValueError(
                f"api_key_env: kind {self.kind!r} needs at least one environment variable name"
            )
        return self

    def resolved_timeouts(self, model: Timeouts | None = None) -> ResolvedTimeouts:
        """The model's value, else the provider's, else the default, for each timeout."""
        values: dict[str, float] = {}
        for name in Timeouts.model_fields:
            own = getattr(model, name) if model is not None else None
            mine = getattr(self.timeouts, name)
            if self.timeout_s is not None and name in ("first_event_s", "idle_s"):
                mine = self.timeout_s
            values[name] = own or mine or getattr(DEFAULT_TIMEOUTS, name)
        return ResolvedTimeouts.model_validate(values)


class PriceTier(Strict):
    """Prices for a request whose input is above ``above_input_tokens`` (the whole request)."""

    above_input_tokens: int = Field(gt=0)
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)


class Prices(Strict):
    """US dollars per million tokens. Thinking tokens are billed as output; ``cached_input``
    is the price of input read from the provider's cache, ``cache_write`` of input written to
    it (unset: those tokens cost unknown)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    long_context: PriceTier | None = None


class ModelConfig(Strict):
    provider: Identifier
    api_model: str = Field(min_length=1)
    display_name: str | None = None
    role: str = "worker"
    capabilities: list[str] = Field(default_factory=list)
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    # What playbook prompt variants are keyed by besides the model id: claude, gpt, codex, ...
    family: Identifier | None = None
    thinking: ThinkingSettings | None = None
    # The setting to retry with when the provider rejects ``thinking`` (a 400 naming it);
    # unset: one step down the effort/level ladder, or half the budget (engine/policy.py).
    thinking_downgrade: ThinkingSettings | None = None
    timeouts: Timeouts | None = None
    # Overrides the price database (genai-prices) for this model; unset: the database's price.
    prices: Prices | None = None
    # The name to look the model up by in the price database when ``api_model`` is an alias
    # it does not know (a CLI tool's ``sonnet``, an OpenRouter path); unset: ``api_model``.
    price_model: str | None = Field(default=None, min_length=1)
    deprecated: bool | date = False  # true, or the date the provider announced it
    # From this day on the model is gone (retired, or shut down: the API answers 404); a route
    # to it goes to its successor, or, without one, the model is skipped (reason `retired`).
    retires: date | None = None
    successor: Identifier | None = None  # the model id that replaces it once it retires
    # The line a route's ``latest:<series>`` alias picks from (opus, sonnet, gpt-sol, ...):
    # its newest active member by ``released``.
    series: Identifier | None = None
    released: date | None = None

    def retired(self, today: date) -> bool:
        return self.retires is not None and today >= self.retires

    def lifecycle(self, today: date) -> str:
        """``active``, ``deprecated``, ``retires YYYY-MM-DD (in N days)`` or ``retired``."""
        if self.retires is not None:
            if self.retired(today):
                return f"retired {self.retires.isoformat()}"
            days = (self.retires - today).days
            return f"retires {self.retires.isoformat()} (in {days} day{'s' if days != 1 else ''})"
        if self.deprecated:
            return "deprecated"
        return "active"

    @model_validator(mode="after")
    def _budget_below_max(self) -> ModelConfig:
        for name in ("thinking", "thinking_downgrade"):
            setting: ThinkingSettings | None = getattr(self, name)
            budget = setting.budget_tokens if setting else None
            if budget is not None and budget >= self.max_output_tokens:
                raise ValueError(
                    f"{name}.budget_tokens ({budget}) must be below max_output_tokens "
                    f"({self.max_output_tokens})"
                )
        return self


class Limits(Strict):
    """Bounds on input mao reads: a model's files manifest, the files a user hands it, and
    what one attempt may stream (its answer, its thinking)."""

    max_files: int = Field(default=500, ge=1)  # files in one synthesis's manifest
    max_file_bytes: int = Field(default=2_000_000, ge=1)  # one file of the manifest
    max_total_bytes: int = Field(default=20_000_000, ge=1)  # all files of one apply
    max_input_bytes: int = Field(default=10_000_000, ge=1)  # --spec, --plan, a context file
    # One attempt's streamed answer: past it the stream is closed and the attempt is truncated.
    # 4M characters is ~1M tokens, 8x the largest output limit (128K tokens ≈ 512K characters).
    max_answer_chars: int = Field(default=4_000_000, ge=1)
    # One attempt's thinking: past it the rest is dropped (a marker says so); the answer goes on.
    max_thinking_chars: int = Field(default=4_000_000, ge=1)


class Global(Strict):
    thinking_always_on: bool = True
    # A session's default cost budget in US dollars (--budget overrides it); none: no limit.
    budget: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    limits: Limits = Field(default_factory=Limits)


# A route names a model id, or ``latest:<series>``: the newest active model of that series.
ALIAS_PREFIX = "latest:"
ModelRef = Annotated[str, Field(pattern=r"^(?:latest:)?[A-Za-z0-9][A-Za-z0-9._-]*$")]


class Route(Strict):
    primary: ModelRef
    fallbacks: list[ModelRef] = Field(default_factory=list)


class RoutingConfig(Strict):
    routes: dict[Identifier, Route]
    universal_fallback: ModelRef


class PromptChoice(Strict):
    """A prompt template and its variants: ``variants`` maps a model id, model family, provider
    id or provider kind to another template, used when the attempt's model matches (in that
    order of precedence); ``prompt`` serves every other model."""

    prompt: str = Field(min_length=1)
    variants: dict[Identifier, str] = Field(default_factory=dict)


class PlaybookWorkstream(PromptChoice):
    key: Identifier
    title: str = Field(min_length=1)
    route: Identifier
    depends_on: list[Identifier] = Field(default_factory=list)


class PlaybookSynthesis(PromptChoice):
    route: Identifier


class JournalOutput(Strict):
    """Where output kind ``journal`` writes its entries: ``folder`` relative to the project
    directory (``~`` and absolute paths allowed), one ``DATE-slug.md`` file per entry."""

    folder: str = Field(default="journal", min_length=1)


class QaConfig(Strict):
    """Output kind ``qa_report``: each reviewer's weight in the score (percent, summing to 100),
    who fixes each kind of finding, and how much of the weight must be reviewed for a score."""

    weights: dict[Identifier, float] = Field(min_length=1)  # workstream key → percent
    fixes: dict[Identifier, Identifier] = Field(min_length=1)  # fix kind → route in routing.yaml
    # When reviewers fail, the score is renormalized over those that did, if they hold at least
    # this percent of the weight; below it there is no score (refused), only the findings.
    min_coverage: float = Field(default=50.0, gt=0, le=100)

    @model_validator(mode="after")
    def _weights_sum_to_100(self) -> QaConfig:
        negative = sorted(k for k, w in self.weights.items() if w <= 0)
        if negative:
            raise ValueError(f"weights must be above 0: {', '.join(negative)}")
        total = sum(self.weights.values())
        if abs(total - 100) > 1e-6:
            listed = " + ".join(f"{k} {w:g}" for k, w in self.weights.items())
            raise ValueError(f"weights must sum to 100, got {total:g} ({listed})")
        return self


CheckKind = Literal["typecheck", "build", "test", "lint", "other"]


class VerificationCommand(Strict):
    """A command run in the workspace after applying files: argv without a shell (never from
    model output), a timeout after which its whole process group is killed, extra environment,
    the secrets it may see, sandboxing and how much output is kept."""

    name: str = Field(min_length=1)
    argv: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    timeout_s: float = Field(default=300.0, gt=0, le=86_400)
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict
    )
    # Variables of mao's environment to pass although they look like secrets (domain/redaction.py
    # removes every api_key_env and *_API_KEY, *_TOKEN, *_SECRET, AWS_*... by default).
    env_pass: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(
        default_factory=list
    )
    # Run in the machine's sandbox (bubblewrap, sandbox-exec) when it has one: no network,
    # writes only to the workspace and a private /tmp. False: unconfined (still scrubbed).
    sandbox: bool = True
    # Characters of output kept (the end of it) for the store and a fix round; a marker says
    # how much was cut before them.
    max_output_chars: int = Field(default=20_000, ge=1_000, le=10_000_000)
    # What the check is (its place in the order: typecheck, build, test, lint, other) and
    # where it came from ("package.json scripts.test"; empty when written by hand).
    kind: CheckKind = "other"
    source: str = ""
    # True: when this check fails (or times out), the checks after it are skipped, reported
    # as such: their results would mean nothing (a build that failed leaves nothing to test).
    stop_on_failure: bool = False
    # Paths (relative to the workspace) that must exist for the check to run, and an argv that
    # must exit 0 first; otherwise the check is "not available" (with ``hint``), not a failure.
    requires: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    probe: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    hint: str = ""


class PlaybookFix(Strict):
    """The fix loop: failed verifications go to ``route``'s model with ``prompt``, then the
    synthesis runs again; at most ``max_rounds`` rounds (``--fix-rounds N`` overrides it)."""

    route: Identifier
    prompt: str = Field(min_length=1)
    max_rounds: int = Field(default=2, ge=0, le=20)


class Playbook(Strict):
    name: Identifier
    description: str = ""
    system_prompt: str = Field(min_length=1)
    workstreams: list[PlaybookWorkstream] = Field(min_length=1)
    synthesis: PlaybookSynthesis
    output: Literal["markdown", "files", "qa_report", "journal"] = "markdown"
    # False: the rule-based plan from routing.yaml, no orchestrator or pre-flight model call
    # (as --no-planner); the pre-flight checks by code still run.
    planner: bool = True
    journal: JournalOutput = Field(default_factory=JournalOutput)
    qa: QaConfig | None = None  # output kind qa_report only, and required there
    # Output kind files: run after applying, in order; a project's verify.yaml replaces them.
    verification: list[VerificationCommand] = Field(default_factory=list)
    fix: PlaybookFix | None = None  # output kind files: how a failed verification is fixed

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
        cycle = find_cycle({w.key: w.depends_on for w in self.workstreams})
        if cycle:
            raise ValueError("depends_on has a cycle: " + " → ".join(cycle))
        return self

    @model_validator(mode="after")
    def _qa_matches_output(self) -> Playbook:
        if self.output != "qa_report":
            if self.qa is not None:
                raise ValueError(f"qa: applies to output qa_report only, not {self.output!r}")
            return self
        if self.qa is None:
            raise ValueError("output qa_report needs a qa: section (weights, fixes)")
        keys = [w.key for w in self.workstreams]
        unweighted = [k for k in keys if k not in self.qa.weights]
        unknown = [k for k in self.qa.weights if k not in keys]
        if unweighted or unknown:
            parts = [f"no weight for workstream(s): {', '.join(unweighted)}"] if unweighted else []
            if unknown:
                parts.append(f"weights name unknown workstream(s): {', '.join(unknown)}")
            raise ValueError("qa.weights: " + "; ".join(parts))
        unfixed = [k for k in keys if k not in self.qa.fixes]
        if unfixed:
            raise ValueError(
                f"qa.fixes: no fix kind for reviewer(s) {', '.join(unfixed)} (a finding left "
                "uncategorized is fixed as its reviewer's kind)"
            )
        return self


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
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
    problems += _lifecycle_problems(reg)
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
    variant_keys = {*reg.models, *reg.providers, *get_args(ProviderKind)}
    variant_keys |= {m.family for m in reg.models.values() if m.family}
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


def _lifecycle_problems(reg: Registry) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Successors that name no model or loop; thinking controls the provider cannot send."""
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
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
