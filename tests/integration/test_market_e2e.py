"""`mao develop` against a server that speaks today's market (the simulator in its default
mode, reached through the SDKs' own base-URL variables, as a user would point them at a proxy):
no request goes to a gone model or is refused for its thinking, the work spreads over at least
four models of all three providers, and a user's route to an old id runs its successor."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixtures.sim_thread import FAKE_KEYS, TODAY, ThreadedSimulator

from mao_tui import cli
from mao_tui.simulator.market import _levels
from mao_tui.simulator.server import RecordedRequest

GONE = {"claude-sonnet-4-5", "gemini-3-pro-preview", "gpt-5.2-codex"}
PROVIDER_OF_API = {"anthropic": "anthropic", "openai_responses": "openai", "gemini": "google"}


def _develop(
    sim: ThreadedSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> list[dict[str, Any]]:
    for name, key in FAKE_KEYS.items():
        monkeypatch.setenv(name, key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url + "/v1")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", sim.base_url)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    monkeypatch.chdir(project)
    db = str(tmp_path / "mao.db")
    code = cli.main(
        ["develop", "Build the snippet store.", "--headless", "--json", "--db", db, *extra]
    )
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _refused(requests: list[RecordedRequest]) -> list[tuple[str | None, str | None]]:
    return [(r.model, r.rejected) for r in requests if r.rejected is not None]


def test_develop_runs_todays_roster_with_no_doomed_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedSimulator() as sim:
        events = _develop(sim, tmp_path, monkeypatch, capsys)
        requests = list(sim.sim.requests)
    assert requests and all(r.api != "unknown" for r in requests)
    assert _refused(requests) == []  # no 404 for a gone id, no 400 for a thinking parameter
    assert not GONE & {r.model for r in requests}
    assert [e for e in events if e["type"] in ("fallback", "thinking_downgraded")] == []
    finished = {e["workstream"]: e["model"] for e in events if e["type"] == "workstream_finished"}
    assert finished == {
        "schemas": "gemini-4-argon",
        "storage": "gpt-6.2-sol",
        "core_logic": "gpt-6.2-astra",
        "implementation": "sonnet-5.5",
        "tests": "gpt-6.2-sol",
    }
    assert len(set(finished.values())) >= 4
    # the orchestrator, pre-flight and synthesis ran too: all three providers answered
    assert {PROVIDER_OF_API[r.api] for r in requests} == {"anthropic", "openai", "google"}
    assert {r.model for r in requests} >= {"claude-opus-5-5", "claude-haiku-5-5"}
    # Claude 5.x got adaptive thinking with an effort, never a budget
    for r in requests:
        if r.api == "anthropic":
            assert (
                r.body["thinking"]["type"] == "adaptive"
                and "budget_tokens" not in r.body["thinking"]
            )
            assert r.body["output_config"] == {"effort": "max"}
    (plan,) = [e for e in events if e["type"] == "plan"]
    assert plan["plan"]["diversity"] == 0.9


def test_a_user_route_to_an_old_id_runs_the_successor_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "routing.yaml").write_text(
        "routes:\n  implementation: {primary: sonnet-4.5, fallbacks: [gpt-5.2-codex]}\n",
        encoding="utf-8",
    )
    with ThreadedSimulator() as sim:
        events = _develop(sim, tmp_path, monkeypatch, capsys, "--config", str(config))
        requests = list(sim.sim.requests)
    assert not GONE & {r.model for r in requests}  # zero requests to the old ids
    assert _refused(requests) == []
    notes = [
        (e["from_model"], e["to_model"], e["reason"])
        for e in events
        if e["type"] == "fallback" and e["workstream"] == "implementation"
    ]
    assert notes == [
        ("sonnet-4.5", "sonnet-5.5", "successor"),
        ("gpt-5.2-codex", "gpt-5.6-sol", "successor"),
    ]
    finished = {e["workstream"]: e["model"] for e in events if e["type"] == "workstream_finished"}
    assert finished["implementation"] == "sonnet-5.5"
    # each note came before the workstream's first request
    order = [e["type"] for e in events if e.get("workstream") == "implementation"]
    assert order.index("fallback") < order.index("attempt_started")


def test_a_wrong_inferred_thinking_maximum_costs_one_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """gemini-4-carbon's XHIGH is inferred (reference mark I). Should Google answer it with
    400, the engine lowers it one step, visibly, and the workstream still runs on carbon."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "routing.yaml").write_text(
        "routes:\n  schemas: {primary: gemini-4-carbon, fallbacks: [sonnet-5.5]}\n",
        encoding="utf-8",
    )
    models = dict(TODAY.models)
    models["gemini-4-carbon"] = replace(models["gemini-4-carbon"], levels=_levels("HIGH"))
    with ThreadedSimulator(market=replace(TODAY, models=models)) as sim:
        events = _develop(sim, tmp_path, monkeypatch, capsys, "--config", str(config))
        requests = list(sim.sim.requests)
    carbon = [r for r in requests if r.model == "gemini-4-carbon"]
    levels = [r.body["generationConfig"]["thinkingConfig"]["thinking_level"] for r in carbon]
    assert levels == ["XHIGH", "HIGH"]
    assert [r.rejected for r in carbon] == ["thinking", None]
    (downgrade,) = [e for e in events if e["type"] == "thinking_downgraded"]
    assert (downgrade["from_setting"], downgrade["to_setting"]) == ("XHIGH", "HIGH")
    assert "thinking_level" in downgrade["detail"]
    finished = {e["workstream"]: e["model"] for e in events if e["type"] == "workstream_finished"}
    assert finished["schemas"] == "gemini-4-carbon"
