"""Today's roster: every shipped model's thinking request at max, successors and ``latest:``
aliases resolved before any request, and the diversity score over the models that will run.

The expected thinking bodies are the facts of the shared reference "models-2026-12" (section
"Current lineup", marks C/C-/I) and providers.md ("Thinking parameters"): Claude 5.x takes
``thinking {type: adaptive}`` + ``output_config.effort`` and answers a budget with 400;
``claude-haiku-4-5`` takes ``enabled`` + ``budget_tokens`` only; OpenAI takes
``reasoning.effort`` (``max`` on the 6.x and 5.6 models, ``xhigh`` on gpt-5.2); Gemini 4 takes
``thinking_level`` only (``HIGH`` at most on argon, ``XHIGH`` on the others; carbon's is I).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mao_tui.domain import ModelSubstitution
from mao_tui.engine.orchestrator_plan import apply_proposal, edit_plan, plan_as_json
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.providers.base import ModelRequest, ProviderError
from mao_tui.providers.cli.bridge import render, template_values
from mao_tui.providers.factory import build_provider
from mao_tui.settings import roster
from mao_tui.settings.loader import ConfigError, config_layers, load_settings
from mao_tui.settings.schema import Settings
from mao_tui.simulator import Simulator

TODAY = date(2026, 12, 4)
ADAPTIVE_MAX = {
    "thinking": {"type": "adaptive", "display": "summarized"},
    "output_config": {"effort": "max"},
}
REASONING_MAX = {"reasoning": {"effort": "max", "summary": "detailed"}}
REASONING_XHIGH = {"reasoning": {"effort": "xhigh", "summary": "detailed"}}


def _level(level: str) -> dict[str, Any]:
    return {"thinkingConfig": {"include_thoughts": True, "thinking_level": level}}


# model id → (the thinking part of the request body at max, what today's market answers)
THINKING_AT_MAX: dict[str, tuple[dict[str, Any], int]] = {
    "opus-5.5": (ADAPTIVE_MAX, 200),  # effort max: C
    "sonnet-5.5": (ADAPTIVE_MAX, 200),  # max: I
    "haiku-5.5": (ADAPTIVE_MAX, 200),  # max: I
    "opus-5": (ADAPTIVE_MAX, 200),  # C
    "sonnet-5": (ADAPTIVE_MAX, 200),  # C
    "haiku-4.5": ({"thinking": {"type": "enabled", "budget_tokens": 48000}}, 200),  # C
    "gpt-6.2-astra": (REASONING_MAX, 200),  # C-
    "gpt-6.2-sol": (REASONING_MAX, 200),  # C-
    "gpt-6-astra": (REASONING_MAX, 200),  # C
    "gpt-6.1-sol": (REASONING_MAX, 200),  # C
    "gpt-5.6-sol": (REASONING_MAX, 200),  # C
    "gpt-5.2": (REASONING_XHIGH, 200),  # C
    "gemini-4-argon": (_level("HIGH"), 200),  # HIGH only: C
    "gemini-4-carbon": (_level("XHIGH"), 200),  # XHIGH: I
    "gemini-4-neon": (_level("XHIGH"), 200),  # C-
    "gemini-4-hydrogen": (_level("XHIGH"), 200),  # C
    "gemini-3.8-flash": (_level("HIGH"), 200),  # C-
    "gemini-3.1-pro": (_level("HIGH"), 200),
    # history: what it would send; the API answers 404 (or still serves, until its date)
    "opus-4.5": (
        {
            "thinking": {"type": "enabled", "budget_tokens": 48000},
            "output_config": {"effort": "high"},
        },
        200,  # end of life 2027-01-22
    ),
    "sonnet-4.5": ({"thinking": {"type": "enabled", "budget_tokens": 48000}}, 404),
    "gpt-5.2-codex": (REASONING_XHIGH, 404),
    "gpt-5.3-codex": (REASONING_XHIGH, 200),  # shutdown 2027-04-01
    "gemini-3-pro": (_level("HIGH"), 404),
    "gemini-3-flash": (_level("HIGH"), 200),  # unknown to the market: served
}
# CLI tools: the model and thinking parts of the argv (Claude Code --effort for 5.x, no
# MAX_THINKING_TOKENS budget; codex -c model_reasoning_effort; gemini-cli thinks on its own)
CLI_THINKING = {
    "claude-cli-sonnet": [["--model", "sonnet"], ["--effort", "max"]],
    "codex-cli": [["-c", "model_reasoning_effort=max"], ["--model", "gpt-6.2-sol"]],
    "gemini-cli-pro": [["--model", "gemini-4-argon"]],
}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(config_layers(tmp_path_factory.mktemp("project")))


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


def test_the_table_covers_every_shipped_model(shipped: Settings) -> None:
    assert set(THINKING_AT_MAX) | set(CLI_THINKING) == set(shipped.registry.models)


def _thinking_part(api: str, body: dict[str, Any]) -> dict[str, Any]:
    if api == "anthropic":
        return {k: body[k] for k in ("thinking", "output_config") if k in body}
    if api == "openai_responses":
        return {"reasoning": body["reasoning"]}
    return {"thinkingConfig": body["generationConfig"]["thinkingConfig"]}


@pytest.mark.parametrize("model_id", sorted(THINKING_AT_MAX))
async def test_each_models_thinking_request_at_max(
    model_id: str, shipped: Settings, sim: Simulator
) -> None:
    """The exact body the real SDK sends for the model's registry entry, and today's answer."""
    expected, status = THINKING_AT_MAX[model_id]
    model = shipped.model(model_id)
    cfg = shipped.provider_of(model_id)
    base = sim.base_url + "/v1" if cfg.kind == "openai" else sim.base_url
    provider = build_provider(cfg.model_copy(update={"base_url": base}), "sim-key")
    request = ModelRequest(
        model_id=model_id,
        api_model=model.api_model,
        system="You are the Schemas workstream (key: schemas).",
        prompt="Build the snippet store.",
        max_output_tokens=model.max_output_tokens,
        thinking=model.thinking,
        timeout_s=10,
    )
    failure: ProviderError | None = None
    try:
        async for _ in provider.stream(request):
            pass
    except ProviderError as exc:
        failure = exc
    finally:
        await provider.aclose()
    (recorded,) = sim.requests
    assert _thinking_part(recorded.api, recorded.body) == expected
    if status == 200:
        assert failure is None and recorded.rejected is None
    else:
        assert failure is not None and failure.status_code == status
        assert recorded.rejected == "not_found"


@pytest.mark.parametrize("model_id", sorted(CLI_THINKING))
def test_each_cli_models_thinking_flags_at_max(
    model_id: str, shipped: Settings, tmp_path: Path
) -> None:
    model = shipped.model(model_id)
    cli = shipped.provider_of(model_id).cli
    assert cli is not None
    request = ModelRequest(
        model_id=model_id,
        api_model=model.api_model,
        system="s",
        prompt="p",
        max_output_tokens=model.max_output_tokens,
        thinking=model.thinking,
        timeout_s=10,
    )
    values = template_values(request, tmp_path)
    argv = [render(item, values, model_id=model_id) for item in cli.argv]
    for pair in CLI_THINKING[model_id]:
        start = argv.index(pair[0], 1) if pair[0] != "-c" else argv.index(pair[1]) - 1
        assert argv[start : start + len(pair)] == pair
    assert not any("budget" in name.lower() or "THINKING" in name for name in cli.env)


# --- successors and aliases ----------------------------------------------------------------------


def test_shipped_routes_run_only_active_models_over_three_providers(shipped: Settings) -> None:
    used = roster.routed_models(shipped, TODAY)
    assert used == {
        "opus-5.5",
        "sonnet-5.5",
        "haiku-5.5",
        "gpt-6.2-astra",
        "gpt-6.2-sol",
        "gemini-4-argon",
        "gemini-4-hydrogen",
    }
    for model_id in used:
        assert shipped.model(model_id).lifecycle(TODAY) == "active"
    assert {shipped.model(m).provider for m in used} == {"anthropic", "openai", "google"}
    # every route keeps a second provider in its chain
    for key in shipped.routing.routes:
        chain, notes = roster.route_chain(shipped, key, TODAY)
        assert notes == []
        assert len({shipped.model(m).provider for m in chain}) >= 2, key


def test_a_retired_model_resolves_to_its_successor_with_a_note(shipped: Settings) -> None:
    resolved = roster.resolve_ref(shipped.registry, "sonnet-4.5", TODAY)
    assert resolved.model == "sonnet-5.5"
    assert resolved.substitutions == [
        ModelSubstitution(
            requested="sonnet-4.5",
            model="sonnet-5.5",
            reason="successor",
            detail="claude-sonnet-4-5 retired on 2026-11-30; its successor sonnet-5.5 runs "
            "in its place",
        )
    ]
    # the day before it retired, it still ran itself
    assert roster.resolve_ref(shipped.registry, "sonnet-4.5", date(2026, 11, 29)).model == (
        "sonnet-4.5"
    )
    # a deprecated model runs until its date, then its successor: no code change needed
    assert roster.resolve_ref(shipped.registry, "opus-4.5", TODAY).model == "opus-4.5"
    assert roster.resolve_ref(shipped.registry, "opus-4.5", date(2027, 1, 22)).model == ("opus-5.5")


def test_successors_are_followed_to_a_model_that_runs(shipped: Settings) -> None:
    # gpt-5.3-codex → gpt-6.2-sol once it shuts down; a chain of two gone models is followed
    later = date(2027, 4, 1)
    assert roster.resolve_ref(shipped.registry, "gpt-5.3-codex", later).model == "gpt-6.2-sol"
    chain, notes = roster.resolve_chain(
        shipped, ["gemini-3-pro", "sonnet-4.5", "sonnet-5.5", "latest:opus"], TODAY
    )
    assert chain == ["gemini-3.1-pro", "sonnet-5.5", "opus-5.5"]  # each model once
    assert [(n.requested, n.model) for n in notes] == [
        ("gemini-3-pro", "gemini-3.1-pro"),
        ("sonnet-4.5", "sonnet-5.5"),
    ]


def test_latest_alias_picks_the_newest_active_member(shipped: Settings) -> None:
    reg = shipped.registry
    assert roster.resolve_ref(reg, "latest:opus", TODAY).model == "opus-5.5"
    assert roster.resolve_ref(reg, "latest:gpt-astra", TODAY).model == "gpt-6.2-astra"
    assert roster.resolve_ref(reg, "latest:gemini-pro", TODAY).model == "gemini-4-carbon"
    assert roster.resolve_ref(reg, "latest:sonnet", TODAY).model == "sonnet-5.5"
    # a member known to be unavailable is passed over
    unavailable = {"opus-5.5": "not offered"}
    assert roster.resolve_ref(reg, "latest:opus", TODAY, unavailable).model == "opus-5"


def _user_config(tmp_path: Path, routing: str, models: str = "") -> Path:
    project = tmp_path / "project"
    (project / ".mao").mkdir(parents=True)
    (project / ".mao" / "routing.yaml").write_text(routing, encoding="utf-8")
    if models:
        (project / ".mao" / "models.yaml").write_text(models, encoding="utf-8")
    return project


def test_a_user_route_to_an_old_id_plans_the_successor(tmp_path: Path) -> None:
    project = _user_config(
        tmp_path,
        "routes:\n"
        "  implementation: {primary: sonnet-4.5, fallbacks: [gpt-5.2-codex]}\n"
        "  schemas: {primary: gemini-3-pro, fallbacks: [sonnet-4.5]}\n",
    )
    settings = load_settings(config_layers(project))
    plan = rule_based_plan(settings, "develop")
    by_key = {ws.key: ws for ws in plan.workstreams}
    impl = by_key["implementation"]
    assert impl.chain == ["sonnet-5.5", "gpt-5.6-sol", "opus-5.5"]
    assert [(n.requested, n.model, n.reason) for n in impl.substitutions] == [
        ("sonnet-4.5", "sonnet-5.5", "successor"),
        ("gpt-5.2-codex", "gpt-5.6-sol", "successor"),
    ]
    assert by_key["schemas"].chain == ["gemini-3.1-pro", "sonnet-5.5", "opus-5.5"]
    gone = {"sonnet-4.5", "gpt-5.2-codex", "gemini-3-pro"}
    assert not gone & {m for ws in [*plan.workstreams, plan.synthesis] for m in ws.chain}


def test_diversity_counts_the_models_that_will_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Half the routes name the retired Sonnet 4.5, half its successor: one model runs them all.
    keys = ("schemas", "storage", "core_logic", "implementation", "tests")
    project = _user_config(
        tmp_path,
        "routes:\n"
        + "".join(
            f"  {key}: {{primary: {'sonnet-4.5' if i % 2 else 'sonnet-5.5'}}}\n"
            for i, key in enumerate(keys)
        ),
    )
    settings = load_settings(config_layers(project))
    plan = rule_based_plan(settings, "develop")
    assert {ws.chain[0] for ws in plan.workstreams} == {"sonnet-5.5"}
    routed = roster.routed_models(settings, TODAY)
    assert "sonnet-4.5" not in routed and len(routed) >= 5
    # ½·1/min(5, M) + ½·1/min(5, P): one model, one provider (counting the name sonnet-4.5 as
    # a second model would have scored 0.367)
    assert plan.diversity == round(0.5 * 1 / 5 + 0.5 * 1 / 3, 3)

    shipped_plan = rule_based_plan(load_settings(config_layers(tmp_path)), "develop")
    assert [ws.chain[0] for ws in shipped_plan.workstreams] == [
        "gemini-4-argon", "gpt-6.2-sol", "gpt-6.2-astra", "sonnet-5.5", "gpt-6.2-sol"
    ]  # fmt: skip
    assert shipped_plan.diversity == 0.9  # four models of five workstreams, three providers

    # A model known to be unavailable before the session (the hook the stored model list
    # fills) leaves the plan, and the score, at once.
    monkeypatch.setattr(
        "mao_tui.engine.routing.unavailable_models",
        lambda settings: {"gemini-4-argon": "not in google's model list"},
    )
    without = rule_based_plan(load_settings(config_layers(tmp_path)), "develop")
    schemas = without.workstreams[0]
    assert schemas.chain == ["sonnet-5.5", "opus-5.5"]
    assert [(n.requested, n.model, n.reason) for n in schemas.substitutions] == [
        ("gemini-4-argon", None, "unavailable")
    ]
    # four models, two providers of the three still routed (google's other model is not used
    # by any primary): ½·3/5 + ½·2/3
    assert without.diversity == round(0.5 * 3 / 5 + 0.5 * 2 / 3, 3)


@pytest.mark.parametrize(
    ("models", "routing", "message"),
    [
        (
            "models:\n  sonnet-4.5: {successor: nonesuch}\n",
            "",
            "successor: unknown model 'nonesuch'",
        ),
        (
            "models:\n  sonnet-5.5: {successor: sonnet-4.5}\n",
            "",
            "successors form a loop: sonnet-4.5 → sonnet-5.5 → sonnet-4.5",
        ),
        ("", "routes:\n  schemas: {primary: 'latest:mistral'}\n", "no model of series 'mistral'"),
        (
            "models:\n  mine: {provider: anthropic, api_model: claude-x, context_window: 9000,\n"
            "    max_output_tokens: 900, thinking: {control: gemini_level, level: HIGH}}\n",
            "",
            "control gemini_level is not sent by provider kind 'anthropic'",
        ),
        (
            "models:\n  opus-5.5: {thinking: {control: anthropic_adaptive, budget_tokens: 9000}}\n",
            "",
            "control anthropic_adaptive takes no budget_tokens",
        ),
        (
            "models:\n  mine: {provider: google, api_model: g, context_window: 9000,\n"
            "    max_output_tokens: 900, thinking: {control: gemini_level}}\n",
            "",
            "control gemini_level needs level",
        ),
    ],
)
def test_config_errors_for_successors_aliases_and_controls(
    tmp_path: Path, models: str, routing: str, message: str
) -> None:
    project = _user_config(tmp_path, routing, models)
    if not routing:
        (project / ".mao" / "routing.yaml").unlink()
    with pytest.raises(ConfigError) as err:
        load_settings(config_layers(project))
    assert message in str(err.value)


def test_a_plan_file_naming_an_old_id_runs_the_successor(shipped: Settings) -> None:
    """A plan saved before Sonnet 4.5 retired (or an orchestrator naming it) is resolved when
    it is applied: the chain shows the successor, with the note kept for the fallback log."""
    draft = rule_based_plan(shipped, "develop")
    raw = json.loads(plan_as_json(draft))
    raw["workstreams"][0]["chain"] = ["sonnet-4.5", "gemini-4-argon"]
    plan = apply_proposal(raw, draft, shipped, "file")
    schemas = plan.workstreams[0]
    assert schemas.chain == ["sonnet-5.5", "gemini-4-argon", "opus-5.5"]
    assert [(n.requested, n.model, n.reason) for n in schemas.substitutions] == [
        ("sonnet-4.5", "sonnet-5.5", "successor")
    ]
    # the plan review's model choice goes through the same resolution
    edited = edit_plan(plan, shipped, models={"storage": "gpt-5.2-codex"}, drop=set())
    storage = edited.workstreams[1]
    assert storage.chain[0] == "gpt-5.6-sol"
    assert ("gpt-5.2-codex", "gpt-5.6-sol") in [
        (n.requested, n.model) for n in storage.substitutions
    ]
