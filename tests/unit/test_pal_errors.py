"""Provider kind ``pal`` without a server: PAL's error replies mapped to an ErrorKind, and the
configuration of PAL providers."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.pal import PAL_MODEL

from mao_tui.providers.base import ErrorKind
from mao_tui.providers.pal.errors import classify_message, pal_error
from mao_tui.providers.pal.provider import thinking_mode
from mao_tui.service.launch import SIM_KEY
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.settings.pal import PalSettings, clink_target
from mao_tui.settings.thinking import ThinkingSettings
from mao_tui.simulator.server import Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


# --- PAL's error replies and the configuration, without a server ------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("Error in chat: Custom API API error for model m after 4 attempts: Error code: 429 - "
         "{'error': {'message': 'Rate limit reached', 'type': 'requests'}}",
         ErrorKind.RATE_LIMITED),
        ("Error in chat: OpenAI API error for model m after 1 attempt: Error code: 429 - "
         "{'error': {'code': 'insufficient_quota', 'message': 'You exceeded your current quota'}}",
         ErrorKind.QUOTA),
        ("Error in chat: Gemini API error for model m after 1 attempt: Error code: 401 - bad key",
         ErrorKind.AUTH),
        ("Error in chat: X API error for model m after 4 attempts: Error code: 503 - busy",
         ErrorKind.OVERLOADED),
        ("Error in chat: X API error after 4 attempts: Error code: 500 - oops", ErrorKind.SERVER),
        ("Model 'gpt-9' is not available with current API keys. Available models: a, b.",
         ErrorKind.NOT_FOUND),
        ("CLI 'gemini' execution failed: Executable 'gemini' not found in PATH for CLI 'gemini'.",
         ErrorKind.NOT_FOUND),
        ("CLI 'nosuch' is not configured. Available clients: claude, codex, gemini",
         ErrorKind.NOT_FOUND),
        ("At least one API configuration is required. Please set either:\n- GEMINI_API_KEY",
         ErrorKind.NO_KEY),
        ("Your request was blocked by the content safety policy. Please try modifying your "
         "prompt.", ErrorKind.CONTENT_POLICY),
        ("Response blocked or incomplete. Finish reason: length", ErrorKind.TRUNCATED),
        ("Error in chat: X API error for model m after 4 attempts: Request timed out.",
         ErrorKind.TIMEOUT),
        ("Error in chat: X API error for model m after 4 attempts: Connection error.",
         ErrorKind.CONNECTION),
        ("Error: 'working_directory_absolute_path' must be an absolute path (you may use '~' "
         "which will be expanded). Received: rel", ErrorKind.BAD_REQUEST),
        ("something nobody expected", ErrorKind.SERVER),
    ],
)  # fmt: skip
def test_pal_error_messages_map_to_the_common_kinds(content: str, kind: ErrorKind) -> None:
    assert classify_message(content) is kind
    payload = json.dumps({"status": "error", "content": content, "content_type": "text"})
    error = pal_error(payload)
    assert error.kind is kind and error.message == f"PAL: {content}"


def test_pal_error_replies_never_carry_a_key() -> None:
    payload = json.dumps(
        {"status": "error", "content": "Error code: 401 - key sk-abcdef0123456789abcdef rejected"}
    )
    error = pal_error(payload, secrets=["sk-abcdef0123456789abcdef"])
    assert "sk-abcdef0123456789abcdef" not in error.message and error.kind is ErrorKind.AUTH
    assert pal_error("a bare message, not JSON").message == "PAL: a bare message, not JSON"


def test_thinking_modes_and_clink_targets() -> None:
    assert thinking_mode(ThinkingSettings(effort="xhigh")) == "max"
    assert thinking_mode(ThinkingSettings(level="HIGH")) == "high"
    assert thinking_mode(ThinkingSettings(budget_tokens=32000)) == "max"
    assert thinking_mode(None) is None
    assert clink_target("clink:gemini/planner") == ("gemini", "planner")
    assert clink_target("clink:codex") == ("codex", None)
    assert clink_target("gpt-5.2") is None


def test_the_server_gets_only_the_named_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = PalSettings(env={"LOG_LEVEL": "WARNING"}, env_pass=["GEMINI_API_KEY", "UNSET"])
    environ = {"GEMINI_API_KEY": "g-1", "ANTHROPIC_API_KEY": "a-1"}
    assert settings.server_env(environ) == {
        "GEMINI_API_KEY": "g-1", "LOG_LEVEL": "WARNING",
        "MAX_MCP_OUTPUT_TOKENS": "1000000", "PAL_PROGRESS_HEARTBEAT_SECONDS": "15",
    }  # fmt: skip
    assert PalSettings().command == ["uvx", "pal-mcp-server"]
    # In models.yaml, ${NAME} is filled when the configuration loads, as anywhere in it.
    monkeypatch.setenv("MY_OPENROUTER", "or-1")
    layer = tmp_path / "layer"
    layer.mkdir()
    models = {"providers": {"pal": {"kind": "pal", "pal": {"env": {
        "OPENROUTER_API_KEY": "${MY_OPENROUTER}"}}}}}  # fmt: skip
    (layer / "models.yaml").write_text(yaml.safe_dump(models), encoding="utf-8")
    pal = load_settings([shipped_config_dir(), layer]).registry.providers["pal"].pal
    assert pal is not None and pal.server_env({})["OPENROUTER_API_KEY"] == "or-1"


def test_a_pal_provider_is_configured_in_models_yaml_with_clear_errors(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    layer.mkdir()
    good = {"providers": {"pal": {"kind": "pal"}}, "models": {"via-pal": {
        "provider": "pal", "api_model": "auto", "context_window": 1000, "max_output_tokens": 100,
    }}}  # fmt: skip
    (layer / "models.yaml").write_text(yaml.safe_dump(good), encoding="utf-8")
    settings = load_settings([shipped_config_dir(), layer])
    assert settings.registry.providers["pal"].kind == "pal"
    bad = {"providers": {"pal": {"kind": "pal", "api_key_env": ["OPENAI_API_KEY"]}}}
    (layer / "models.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"models.yaml:\d+: .*not used by kind 'pal'"):
        load_settings([shipped_config_dir(), layer])
    wrong = {"providers": {"x": {"kind": "openai_chat", "pal": {"command": ["p"]}}}}
    (layer / "models.yaml").write_text(yaml.safe_dump(wrong), encoding="utf-8")
    with pytest.raises(ConfigError, match="pal: applies to kind 'pal' only"):
        load_settings([shipped_config_dir(), layer])


async def test_the_simulator_answers_an_unstreamed_chat_completion_as_pal_asks(
    sim: Simulator,
) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=SIM_KEY, base_url=f"{sim.base_url}/v1", max_retries=0)
    try:
        reply = await client.chat.completions.create(
            model=PAL_MODEL,
            messages=[{"role": "user", "content": "## Workstream: Storage\nPlan the storage."}],
            stream=False,
        )
    finally:
        await client.close()
    from mao_tui.simulator.scripts import script_for

    (recorded,) = sim.requests
    assert recorded.path == "/v1/chat/completions" and recorded.body["stream"] is False
    expected = script_for(recorded.workstream, "## Workstream: Storage\nPlan the storage.")
    assert reply.choices[0].message.content == expected.answer and expected.answer
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens > 0


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"input_tokens": 12, "output_tokens": 3}, (12, 3, 0, 0)),  # chat
        (  # clink + claude: cache reads and writes are apart from input_tokens
            {
                "usage": {
                    "input_tokens": 1200,
                    "cache_creation_input_tokens": 100,
                    "cache_read_input_tokens": 300,
                    "output_tokens": 420,
                }
            },
            (1600, 420, 0, 300),
        ),
        (  # clink + gemini's stats: output is candidates plus thoughts
            {"token_usage": {"prompt": 900, "candidates": 200, "thoughts": 50, "cached": 100}},
            (900, 250, 50, 100),
        ),
        ({"model_used": "x"}, (0, 0, 0, 0)),
    ],
)
def test_usage_is_read_from_chat_and_from_each_clink_cli(
    meta: dict[str, Any], expected: tuple[int, int, int, int]
) -> None:
    from mao_tui.providers.pal.provider import usage_of

    u = usage_of(meta)
    assert (u.input_tokens, u.output_tokens, u.thinking_tokens, u.cached_input_tokens) == expected
