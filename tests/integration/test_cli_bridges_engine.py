"""Chains and whole sessions that route workstreams through each CLI tool (the fakes of
tests/fake_clis/), with fallback to an API model on the simulator."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.cli_fakes import (
    API_FALLBACK,
    SHIPPED,
    TOOLS,
    WRONG_KEYS,
    Fakes,
    Recorder,
    cli_overlay,
    engine_settings,
    make_fakes,
    run_chain,
)

from mao_tui.domain import (
    AttemptFinished,
    Delta,
    FallbackEvent,
    RetryScheduled,
    ThinkingDowngraded,
    WorkstreamFinished,
)
from mao_tui.engine.session import SessionRequest
from mao_tui.service.launch import SIM_KEY, Launch, run_session, simulator_overlay
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return make_fakes(tmp_path)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


# --- the engine: chains and whole sessions -----------------------------------------------------


async def test_a_claude_cli_429_is_retried_per_policy_before_falling_back(
    sim: Simulator, fakes: Fakes
) -> None:
    model_id = TOOLS["claude"][1]
    overlay = simulator_overlay(SHIPPED, sim.base_url)
    overlay["providers"].update(cli_overlay(fakes, {"claude": "api_429"}))
    fast = {"backoff_initial_s": 0.01, "backoff_max_s": 0.02, "jitter": 0, "cooldown_s": 0.01}
    overlay["global"] = {"retry": {"max_retries": 2, **fast}}
    settings = load_settings([shipped_config_dir()], overlay)
    rec, outcome = await run_chain(settings, fakes, model_id)
    assert outcome.model == API_FALLBACK
    failed = [e for e in rec.of(AttemptFinished) if e.model == model_id]
    assert [e.error_kind for e in failed] == ["rate_limited"] * 3
    retries = rec.of(RetryScheduled)
    assert [(r.model, r.reason, r.retry_no) for r in retries] == [
        (model_id, "rate_limited", 1), (model_id, "rate_limited", 2),
    ]  # fmt: skip
    assert not [d for d in rec.of(Delta) if "API Error" in d.text]
    (fb,) = rec.of(FallbackEvent)
    assert fb.reason == "rate_limited" and "still failing after 2 retries" in fb.detail


async def test_plain_text_about_thinking_falls_back_without_lowering_the_thinking(
    sim: Simulator, fakes: Fakes
) -> None:
    model_id = TOOLS["claude"][1]
    settings = engine_settings(sim, fakes, {"claude": "plain_thinking"})
    rec, outcome = await run_chain(settings, fakes, model_id)
    assert outcome.model == API_FALLBACK
    assert rec.of(ThinkingDowngraded) == []
    (fb,) = rec.of(FallbackEvent)
    assert fb.reason == "bad_request"


async def _session(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path, scenarios: dict[str, str]
) -> tuple[Recorder, Any, Any]:
    layer = tmp_path / "layer"
    layer.mkdir(exist_ok=True)
    providers = simulator_overlay(SHIPPED, sim.base_url)["providers"]
    providers.update(cli_overlay(fakes, scenarios))
    models = {"global": {"retry": {"max_retries": 0}}, "providers": providers}
    (layer / "models.yaml").write_text(yaml.safe_dump(models), encoding="utf-8")
    routes = {
        "schemas": {"primary": "claude-cli-sonnet", "fallbacks": [API_FALLBACK]},
        "storage": {"primary": "codex-cli", "fallbacks": [API_FALLBACK]},
        "core_logic": {"primary": "gemini-cli-pro", "fallbacks": [API_FALLBACK]},
    }
    (layer / "routing.yaml").write_text(yaml.safe_dump({"routes": routes}), encoding="utf-8")
    launch = Launch(project_dir=fakes.workspace, config_dir=layer, db_path=db_path)
    req = SessionRequest(command="develop", playbook="develop", task="Build the snippet store.",
                         project_dir=fakes.workspace, use_planner=False)  # fmt: skip
    env = fakes.env(**WRONG_KEYS)
    env.update({n: SIM_KEY for n in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")})
    rec = Recorder()
    finished = await run_session(launch, req, [rec], env=env)
    store = await Store.open(db_path)
    try:
        detail = await store.get_session(finished.session_id)
    finally:
        await store.close()
    return rec, finished, detail


async def test_a_session_routes_one_workstream_through_each_cli_into_the_store(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path
) -> None:
    rec, finished, detail = await _session(sim, fakes, db_path, tmp_path, {})
    assert finished.status == "done"
    used = {e.workstream: e.model for e in rec.of(WorkstreamFinished)}
    assert {k: used[k] for k in ("schemas", "storage", "core_logic")} == {
        "schemas": "claude-cli-sonnet", "storage": "codex-cli", "core_logic": "gemini-cli-pro",
    }  # fmt: skip
    assert not rec.of(FallbackEvent)
    expected_cost = {
        "schemas": 0.0123,
        "storage": (1500 * 2.00 + 500 * 0.10 + 600 * 10.00) / 1e6,
        "core_logic": (1600 * 4.00 + 200 * 0.20 + 1200 * 20.00) / 1e6,
    }
    for key, tool in (("schemas", "claude"), ("storage", "codex"), ("core_logic", "gemini")):
        (attempt,) = detail.attempts_for(key)
        streamed = [d for d in rec.of(Delta) if d.attempt_id == attempt.id]
        assert sum(d.channel == "text" for d in streamed) > 3, f"{key} did not stream"
        assert attempt.status == "ok" and f"FAKE-{tool.upper()}-ANSWER" in attempt.output_text
        assert attempt.output_text == "".join(d.text for d in streamed if d.channel == "text")
        assert attempt.thinking_text
        assert attempt.cost_complete and attempt.cost_usd == pytest.approx(expected_cost[key])
        assert fakes.record(tool)["cwd"] == str(fakes.workspace)
        assert "MAO_CANARY" not in fakes.record(tool)["env"]
    # Their outputs went downstream: the synthesis prompt carries each, by its model's name.
    (synth_req,) = [r for r in sim.requests if r.workstream == "synthesis"]
    body = str(synth_req.body)
    for marker in ("FAKE-CLAUDE-ANSWER", "FAKE-CODEX-ANSWER", "FAKE-GEMINI-ANSWER"):
        assert marker in body
    assert "(by Claude Sonnet (Claude Code))" in body
    assert finished.totals.cost_usd > sum(expected_cost.values())


async def test_a_session_whose_cli_fails_falls_back_to_an_api_model(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path
) -> None:
    _, finished, detail = await _session(sim, fakes, db_path, tmp_path, {"claude": "api_error"})
    assert finished.status == "done"
    (fb,) = detail.fallbacks
    assert fb.line == f"Schemas: fallback from claude-cli-sonnet to {API_FALLBACK} (overloaded)"
    assert "API Error: 529" in fb.detail
    failed, ok = detail.attempts_for("schemas")
    assert (failed.model, failed.status, failed.error_kind) == (
        "claude-cli-sonnet", "failed", "overloaded",
    )  # fmt: skip
    assert failed.cost_usd == pytest.approx(0.0007)  # what the failed call cost, from claude
    assert (ok.model, ok.status) == (API_FALLBACK, "ok") and ok.output_text
