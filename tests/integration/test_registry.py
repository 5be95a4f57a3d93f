"""`mao models`, the registry warnings of `mao config check`, the new registry fields, and the
Ollama example of docs/local-models.md, loaded and run against the simulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.chains import Harness

from mao_tui.cli import main
from mao_tui.domain import FallbackEvent
from mao_tui.engine.routing import route_chain
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.simulator.server import Simulator

LOCAL_MODELS_DOC = Path(__file__).resolve().parents[2] / "docs" / "local-models.md"


def test_models_lists_provider_key_thinking_prices_and_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-123456")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "MODEL" in rows and "KEY" in rows["MODEL"] and "STATUS" in rows["MODEL"]
    gpt = rows["gpt-5.2"]
    assert "openai (openai)" in gpt and "✓ $OPENAI_API_KEY" in gpt and "effort xhigh" in gpt
    assert re.search(r"1\.75\s+0\.175\s+14\.00\s+genai-prices 0\.2\.\d+\s+active", gpt)
    assert "✗ ANTHROPIC_API_KEY" in rows["opus-5.5"]
    # the thinking control and highest setting; `?` where the maximum is only inferred
    assert re.search(
        r"adaptive effort max\s+4\.00\s+0\.20\s+20\.00\s+genai-prices 0\.2\.\d+\s+active$",
        rows["opus-5.5"],
    )
    assert re.search(r"8\.00\s+0\.40\s+40\.00\s+registry override", rows["gpt-6.2-astra"])
    assert "cache writes: 5.00" in out  # Opus 5.5's, from the price database
    assert "adaptive effort max?" in rows["sonnet-5.5"]
    assert "level HIGH " in rows["gemini-4-argon"] and "level XHIGH?" in rows["gemini-4-carbon"]
    assert "budget 48000" in rows["haiku-4.5"]
    # history: status computed from the dates, with the successor a route runs instead
    assert rows["sonnet-4.5"].endswith("retired 2026-11-30 → sonnet-5.5")
    assert rows["opus-4.5"].endswith("deprecated, retires 2027-01-22 (in 49 days) → opus-5.5")
    assert rows["gemini-3-pro"].endswith("retired 2026-03-09 → gemini-3.1-pro")
    assert rows["gpt-5.2-codex"].endswith("retired 2026-07-23 → gpt-5.6-sol")
    assert "above 200,000 input tokens (whole request): 4.00 in, 0.40 cached, 18.00 out" in out
    assert "Route alias latest:opus → opus-5.5" in out
    assert "sk-test-not-a-real-key" not in out


def test_models_shows_an_unknown_price_and_a_retired_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.yaml").write_text(
        "models:\n"
        "  haiku-4.5: {retires: 2026-01-15}\n"
        "  free-form:\n"
        "    provider: openai\n"
        "    api_model: some-model\n"
        "    context_window: 1000\n"
        "    max_output_tokens: 100\n",
        encoding="utf-8",
    )
    assert main(["models", "--config", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert rows["haiku-4.5"].endswith("retired 2026-01-15")
    assert re.search(r"off\s+unknown\s+unknown\s+unknown\s+unknown\s+active", rows["free-form"])


def test_config_check_warns_about_lifecycle_and_thinking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.yaml").write_text(
        "models:\n"
        "  haiku-5.5: {retires: 2026-01-15}\n"
        "  plain:\n"
        "    provider: openai\n"
        "    api_model: plain-1\n"
        "    context_window: 1000\n"
        "    max_output_tokens: 100\n",
        encoding="utf-8",
    )
    (tmp_path / "routing.yaml").write_text(
        "routes:\n"
        "  implementation: {primary: sonnet-4.5, fallbacks: [gpt-6.2-sol]}\n"
        "  dependency_check: {primary: haiku-5.5, fallbacks: [gemini-3-flash]}\n",
        encoding="utf-8",
    )
    assert main(["config", "check", "--config", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    warnings = [line.strip() for line in out.splitlines() if line.strip().startswith("warning:")]
    assert (
        "warning: model haiku-5.5 (claude-haiku-5-5) retired on 2026-01-15: it is skipped "
        "with reason 'retired'; used by dependency_check"
    ) in warnings
    assert (
        "warning: model sonnet-4.5 (claude-sonnet-4-5) retired on 2026-11-30: a route to it runs "
        "its successor sonnet-5.5 instead, before any request; used by implementation"
    ) in warnings
    assert (
        "warning: model opus-4.5 (claude-opus-4-5) retires on 2027-01-22, in 49 days; from then "
        "on its successor opus-5.5 runs instead; not routed"
    ) in warnings
    assert (
        "warning: model gemini-3-flash (gemini-3-flash-preview) is deprecated; its successor is "
        "gemini-3.8-flash; used by dependency_check"
    ) in warnings
    # retired history nobody routes to is no warning
    assert not any("gemini-3-pro" in w or "gpt-5.2-codex" in w for w in warnings)
    assert "warning: model plain has no `thinking` settings: it runs without thinking" in warnings
    assert "  latest:opus → opus-5.5" in out.splitlines()
    assert out.rstrip().endswith("configuration OK")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "providers:\n  local: {kind: anthropic}\n",
            "providers.local: Value error, api_key_env: kind 'anthropic' needs at least one",
        ),
        ("models:\n  gpt-5.2: {retires: soon}\n", "models.gpt-5.2.retires: Input should be"),
        (
            "global:\n  retry: {retry_on: [auth]}\n",
            "global.retry.retry_on.0: Input should be 'rate_limited'",
        ),
        ("providers:\n  openai: {timeouts: {idle_s: 0}}\n", "providers.openai.timeouts.idle_s"),
        (
            "models:\n  gpt-5.2: {prices: {input: 1, output: 2, long_context: {input: 1}}}\n",
            "models.gpt-5.2.prices.long_context.above_input_tokens: required field is missing",
        ),
    ],
)
def test_bad_policy_fields_name_file_line_and_field(
    yaml: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "models.yaml").write_text(yaml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings([shipped_config_dir(), tmp_path])
    assert any("models.yaml:" in p and message in p for p in info.value.problems), info.value


def test_retry_policy_layers_global_then_provider(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(
        "global:\n  retry: {max_retries: 4}\nproviders:\n  google:\n    retry: {cooldown_s: 30}\n",
        encoding="utf-8",
    )
    settings = load_settings([shipped_config_dir(), tmp_path])
    google, openai = settings.retry_policy("google"), settings.retry_policy("openai")
    assert (google.max_retries, google.cooldown_s) == (4, 30.0)
    assert (openai.max_retries, openai.cooldown_s) == (4, 10.0)
    assert google.retry_after_cap_s == 60.0  # the shipped value, untouched


def _local_models_yaml() -> list[str]:
    text = LOCAL_MODELS_DOC.read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_the_documented_ollama_example_loads_and_routes_tests_to_the_local_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models, routing = _local_models_yaml()
    (tmp_path / "models.yaml").write_text(models, encoding="utf-8")
    (tmp_path / "routing.yaml").write_text(routing, encoding="utf-8")
    settings = load_settings([shipped_config_dir(), tmp_path])
    assert settings.chain("tests") == ["qwen3-local", "gpt-6.2-sol", "latest:opus"]
    assert route_chain(settings, "tests") == (["qwen3-local", "gpt-6.2-sol", "opus-5.5"], [])
    ollama = settings.registry.providers["ollama"]
    assert ollama.kind == "openai_chat" and ollama.api_key_env == []
    assert main(["config", "check", "--config", str(tmp_path)]) == 0
    assert re.search(r"ollama\s+openai_chat\s+no key needed", capsys.readouterr().out)


async def test_the_documented_ollama_example_runs_keyless_against_a_chat_server(
    tmp_path: Path,
) -> None:
    example = yaml.safe_load(_local_models_yaml()[0])

    def layer(sim: Simulator) -> dict[str, Any]:  # the simulator plays the Ollama server
        ollama = {**example["providers"]["ollama"], "base_url": sim.base_url + "/v1"}
        return {"providers": {"ollama": ollama}, "models": example["models"]}

    async with Harness(tmp_path / "mao.db", extra=layer) as h:
        ws = h.workstream("tests", ["qwen3-local"])
        await h.plan(ws)
        outcome = await h.run(ws)
    assert not h.settings.registry.providers["ollama"].api_key_env  # no key needed, none sent
    assert outcome.model == "qwen3-local" and outcome.text
    assert outcome.usage.cost_complete and outcome.usage.cost_usd == 0
    assert h.rec.of(FallbackEvent) == []
    (request,) = h.sim.requests
    assert request.path == "/v1/chat/completions" and request.model == "qwen3:32b"
    assert request.body["reasoning_effort"] == "high"
    assert request.body["stream_options"] == {"include_usage": True}
