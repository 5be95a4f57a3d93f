"""The providers through the real SDKs against the simulator: streams, parameters, faults."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Literal

import pytest

from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    Heartbeat,
    ModelRequest,
    Provider,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ThinkingSettings,
    Usage,
)
from mao_tui.providers.factory import build_provider
from mao_tui.settings.schema import ProviderConfig, ProviderKind
from mao_tui.simulator import FaultRule, Simulator
from mao_tui.simulator.faults import FaultKind
from mao_tui.simulator.pacing import clip, tokens
from mao_tui.simulator.scripts import script_for

API_KEY = "sk-test-0123456789-secret"
KINDS: list[ProviderKind] = ["anthropic", "openai", "openai_chat", "gemini"]
MODELS: dict[ProviderKind, str] = {
    "anthropic": "claude-sonnet-4-6",
    "openai": "gpt-5.2",
    "openai_chat": "qwen3-32b",
    "gemini": "gemini-4-argon",
}
MAX_THINKING: dict[ProviderKind, ThinkingSettings] = {
    "anthropic": ThinkingSettings(budget_tokens=4096, effort="high"),
    "openai": ThinkingSettings(effort="xhigh", summary="detailed"),
    "openai_chat": ThinkingSettings(effort="high"),
    "gemini": ThinkingSettings(level="HIGH"),
}
STOP_REASONS: dict[ProviderKind, str] = {
    "anthropic": "end_turn",
    "openai": "completed",
    "openai_chat": "stop",
    "gemini": "STOP",
}
SYSTEM = "You own the **{title}** workstream (key: {key})."
PROMPT = "Build the snippet store described in the spec."


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


def base_url_for(kind: ProviderKind, sim: Simulator) -> str:
    return sim.base_url + "/v1" if kind in ("openai", "openai_chat") else sim.base_url


def make_provider(
    kind: ProviderKind, sim: Simulator, *, timeout_s: float = 30.0, base_url: str | None = ""
) -> Provider:
    config = ProviderConfig(
        kind=kind,
        api_key_env=["SIM_KEY"],
        base_url=base_url_for(kind, sim) if base_url == "" else base_url,
        api_version="v1beta" if kind == "gemini" else None,
        timeout_s=timeout_s,
    )
    return build_provider(config, API_KEY)


def make_request(
    kind: ProviderKind,
    *,
    key: str = "schemas",
    thinking: ThinkingSettings | Literal["max"] | None = "max",
    timeout_s: float = 30.0,
) -> ModelRequest:
    return ModelRequest(
        model_id=f"sim-{kind}",
        api_model=MODELS[kind],
        system=SYSTEM.format(title=key.title(), key=key),
        prompt=PROMPT,
        max_output_tokens=16000,
        thinking=MAX_THINKING[kind] if isinstance(thinking, str) else thinking,
        timeout_s=timeout_s,
    )


async def collect(provider: Provider, request: ModelRequest) -> list[StreamEvent]:
    try:
        return [event async for event in provider.stream(request)]
    finally:
        await provider.aclose()


async def collect_until_error(
    provider: Provider, request: ModelRequest
) -> tuple[list[StreamEvent], ProviderError]:
    events: list[StreamEvent] = []
    try:
        with pytest.raises(ProviderError) as caught:
            async for event in provider.stream(request):
                events.append(event)
    finally:
        await provider.aclose()
    return events, caught.value


def text_of(events: list[StreamEvent], kind: type[ThinkingDelta] | type[TextDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


# --- full streams --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_full_stream_yields_thinking_text_usage_then_finished(
    kind: ProviderKind, sim: Simulator
) -> None:
    events = await collect(make_provider(kind, sim), make_request(kind))

    script = script_for("schemas")
    assert text_of(events, ThinkingDelta) == script.thinking
    assert text_of(events, TextDelta) == script.answer
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(not isinstance(e, ThinkingDelta) for e in events[first_text:])
    assert [type(e) for e in events[-2:]] == [Usage, Finished]
    assert sum(isinstance(e, Usage | Finished) for e in events) == 2
    usage, finished = events[-2], events[-1]
    assert isinstance(usage, Usage) and isinstance(finished, Finished)
    assert usage.thinking_tokens == tokens(script.thinking)
    assert usage.output_tokens == tokens(script.thinking) + tokens(script.answer)
    assert usage.input_tokens > 0
    assert finished.stop_reason == STOP_REASONS[kind]
    assert len(sim.requests) == 1
    assert sim.requests[0].workstream == "schemas"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_second_stream_reuses_the_client(kind: ProviderKind, sim: Simulator) -> None:
    provider = make_provider(kind, sim)
    try:
        first = [e async for e in provider.stream(make_request(kind, key="storage"))]
        second = [e async for e in provider.stream(make_request(kind, key="tests"))]
    finally:
        await provider.aclose()
    assert text_of(first, TextDelta) == script_for("storage").answer
    assert text_of(second, TextDelta) == script_for("tests").answer
    assert [r.workstream for r in sim.requests] == ["storage", "tests"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", ["core_logic", "implementation", "synthesis", "unknown_key"])
async def test_content_follows_the_workstream_key(
    kind: ProviderKind, key: str, sim: Simulator
) -> None:
    events = await collect(make_provider(kind, sim), make_request(kind, key=key))
    expected = script_for(key if key != "unknown_key" else None)
    assert text_of(events, TextDelta) == expected.answer
    assert sim.requests[0].workstream == key


# --- what goes on the wire -----------------------------------------------------------------------


async def test_anthropic_sends_budget_effort_system_and_bearer_key(sim: Simulator) -> None:
    await collect(make_provider("anthropic", sim), make_request("anthropic"))
    (req,) = sim.requests
    assert req.path == "/v1/messages"
    assert req.body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert req.body["output_config"] == {"effort": "high"}
    assert req.body["system"] == SYSTEM.format(title="Schemas", key="schemas")
    assert req.body["messages"] == [{"role": "user", "content": PROMPT}]
    assert req.body["stream"] is True and req.body["max_tokens"] == 16000
    assert req.headers["authorization"] == "<redacted>"
    assert req.headers["x-stainless-retry-count"] == "0"


async def test_anthropic_without_budget_uses_adaptive_thinking(sim: Simulator) -> None:
    thinking = ThinkingSettings(effort="max")
    await collect(make_provider("anthropic", sim), make_request("anthropic", thinking=thinking))
    body = sim.requests[0].body
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "max"}


async def test_openai_responses_sends_reasoning_and_instructions(sim: Simulator) -> None:
    await collect(make_provider("openai", sim), make_request("openai"))
    (req,) = sim.requests
    assert req.path == "/v1/responses"
    assert req.body["reasoning"] == {"effort": "xhigh", "summary": "detailed"}
    assert req.body["instructions"] == SYSTEM.format(title="Schemas", key="schemas")
    assert req.body["input"] == PROMPT
    assert req.body["max_output_tokens"] == 16000


async def test_openai_chat_sends_reasoning_effort_and_asks_for_usage(sim: Simulator) -> None:
    await collect(make_provider("openai_chat", sim), make_request("openai_chat"))
    (req,) = sim.requests
    assert req.path == "/v1/chat/completions"
    assert req.body["reasoning_effort"] == "high"
    assert req.body["stream_options"] == {"include_usage": True}
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]


async def test_gemini_sends_level_with_thoughts_on_the_configured_api_version(
    sim: Simulator,
) -> None:
    await collect(make_provider("gemini", sim), make_request("gemini"))
    (req,) = sim.requests
    assert req.path == "/v1beta/models/gemini-4-argon:streamGenerateContent"
    assert req.query == {"alt": ["sse"]}
    config = req.body["generationConfig"]
    assert config["thinkingConfig"] == {"thinking_level": "HIGH", "include_thoughts": True}
    assert config["maxOutputTokens"] == 16000
    assert "(key: schemas)" in json.dumps(req.body["systemInstruction"])
    assert req.headers["x-goog-api-key"] == "<redacted>"
    assert req.headers["x-server-timeout"] == "30"  # the per-request timeout reached the SDK


async def test_gemini_budget_thinking_for_2_5_models(sim: Simulator) -> None:
    thinking = ThinkingSettings(budget_tokens=32768)
    request = make_request("gemini", thinking=thinking).model_copy(
        update={"api_model": "gemini-2.5-pro"}
    )
    await collect(make_provider("gemini", sim), request)
    config = sim.requests[0].body["generationConfig"]["thinkingConfig"]
    assert config == {"thinking_budget": 32768, "include_thoughts": True}


@pytest.mark.parametrize(
    ("kind", "api_model", "thinking", "param"),
    [
        # Claude 5.x: a budget is answered 400; it wants adaptive thinking with an effort
        ("anthropic", "claude-opus-5-5", ThinkingSettings(budget_tokens=32000), "thinking.type"),
        # Gemini 4 takes no thinking_budget; Argon no level above HIGH
        ("gemini", "gemini-4-carbon", ThinkingSettings(budget_tokens=32768), "thinking_budget"),
        ("gemini", "gemini-4-argon", ThinkingSettings(level="XHIGH"), "thinking_level"),
        # GPT-6.2 Astra rejects effort none; GPT-5.2 tops out at xhigh
        ("openai", "gpt-6.2-astra", ThinkingSettings(effort="none"), "reasoning.effort"),
        ("openai", "gpt-5.2", ThinkingSettings(effort="max"), "reasoning.effort"),
    ],
)
async def test_todays_market_rejects_the_thinking_each_family_rejects(
    kind: ProviderKind, api_model: str, thinking: ThinkingSettings, param: str, sim: Simulator
) -> None:
    """The simulator answers as the provider does: a 400 naming the parameter, which the
    provider layer marks as a rejected thinking setting (the engine then lowers it once)."""
    request = make_request(kind, thinking=thinking).model_copy(update={"api_model": api_model})
    with pytest.raises(ProviderError) as info:
        await collect(make_provider(kind, sim), request)
    assert info.value.kind is ErrorKind.BAD_REQUEST and info.value.status_code == 400
    assert info.value.thinking_rejected and param in info.value.message
    (recorded,) = sim.requests
    assert recorded.rejected == "thinking" and recorded.fault is None


@pytest.mark.parametrize(
    ("kind", "api_model", "message"),
    [
        ("anthropic", "claude-sonnet-4-5", "model: claude-sonnet-4-5"),
        ("openai", "gpt-5.2-codex", "The model `gpt-5.2-codex` does not exist"),
        ("gemini", "gemini-3-pro-preview", "models/gemini-3-pro-preview is not found"),
    ],
)
async def test_todays_market_answers_404_for_gone_models(
    kind: ProviderKind, api_model: str, message: str, sim: Simulator
) -> None:
    request = make_request(kind).model_copy(update={"api_model": api_model})
    with pytest.raises(ProviderError) as info:
        await collect(make_provider(kind, sim), request)
    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.status_code == 404
    assert message in info.value.message
    (recorded,) = sim.requests
    assert recorded.rejected == "not_found"


@pytest.mark.parametrize("kind", KINDS)
async def test_without_thinking_settings_no_thinking_is_requested_or_streamed(
    kind: ProviderKind, sim: Simulator
) -> None:
    events = await collect(make_provider(kind, sim), make_request(kind, thinking=None))
    body = sim.requests[0].body
    for param in ("thinking", "output_config", "reasoning", "reasoning_effort"):
        assert param not in body
    assert "thinkingConfig" not in body.get("generationConfig", {})
    assert text_of(events, ThinkingDelta) == ""
    assert text_of(events, TextDelta) == script_for("schemas").answer
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.thinking_tokens == 0


@pytest.mark.parametrize(
    ("kind", "env_var", "suffix"),
    [
        ("anthropic", "ANTHROPIC_BASE_URL", ""),
        ("openai", "OPENAI_BASE_URL", "/v1"),
        ("openai_chat", "OPENAI_BASE_URL", "/v1"),
        ("gemini", "GOOGLE_GEMINI_BASE_URL", ""),
    ],
)
async def test_without_base_url_the_sdk_environment_variable_is_used(
    kind: ProviderKind,
    env_var: str,
    suffix: str,
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env_var, sim.base_url + suffix)
    events = await collect(make_provider(kind, sim, base_url=None), make_request(kind))
    assert isinstance(events[-1], Finished)
    assert len(sim.requests) == 1


# --- faults --------------------------------------------------------------------------------------

IN_STREAM_ERROR_KIND: dict[ProviderKind, ErrorKind] = {
    "anthropic": ErrorKind.OVERLOADED,  # event: error, overloaded_error
    "openai": ErrorKind.SERVER,  # a yielded `error` event, code server_error
    "openai_chat": ErrorKind.SERVER,  # openai.APIError from {"error": {type: server_error}}
    "gemini": ErrorKind.OVERLOADED,  # {"error": {"code": 503, "status": "UNAVAILABLE"}}
}
FAULT_KIND: dict[FaultKind, ErrorKind] = {
    "stall": ErrorKind.TIMEOUT,
    "stall_before_headers": ErrorKind.TIMEOUT,
    "rate_limit": ErrorKind.RATE_LIMITED,
    "server_error": ErrorKind.SERVER,
    "overloaded": ErrorKind.OVERLOADED,
    "drop": ErrorKind.CONNECTION,
    "truncate": ErrorKind.TRUNCATED,
    "auth": ErrorKind.AUTH,
    "not_found": ErrorKind.NOT_FOUND,
    "context_length": ErrorKind.CONTEXT_LENGTH,
}
MID_STREAM: set[FaultKind] = {"stall", "drop", "truncate", "in_stream_error"}
AFTER_CHARS = 1000  # past the end of the thinking, so both channels stream before the fault


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", [*FAULT_KIND, "in_stream_error"])
async def test_each_fault_maps_to_one_error_kind_after_exactly_one_request(
    kind: ProviderKind, fault: FaultKind
) -> None:
    rule = FaultRule(kind=fault, after_chars=AFTER_CHARS, retry_after=0.5)
    async with Simulator(speed=math.inf, faults=[rule]) as sim:
        provider = make_provider(kind, sim)
        request = make_request(kind, timeout_s=0.5)
        events, err = await collect_until_error(provider, request)

        expected = IN_STREAM_ERROR_KIND[kind] if fault == "in_stream_error" else FAULT_KIND[fault]
        assert err.kind is expected, err
        assert len(sim.requests) == 1, "the SDK retried"
        assert sim.requests[0].fault == fault
        assert API_KEY not in str(err) and API_KEY not in err.message
        assert not any(isinstance(e, Finished) for e in events)
        usages = [e for e in events if isinstance(e, Usage)]
        if fault in MID_STREAM or fault == "in_stream_error":
            # What the provider reported before failing is passed on, last, for the record.
            assert len(usages) <= 1 and (not usages or events[-1] is usages[0])
        else:
            assert not usages  # an HTTP error reports no usage
        if fault == "rate_limit":
            assert err.retry_after == 0.5
            assert err.status_code == 429
        if fault in MID_STREAM:
            script = script_for("schemas")
            sent = clip([("thinking", script.thinking), ("text", script.answer)], AFTER_CHARS)
            assert text_of(events, ThinkingDelta) == sent[0][1]
            assert text_of(events, TextDelta) == sent[1][1]
        else:
            assert events == []


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_fires_only_for_its_model_and_workstream(kind: ProviderKind) -> None:
    rules = [
        FaultRule(kind="server_error", model="some-other-model"),
        FaultRule(kind="auth", workstream="storage"),
    ]
    async with Simulator(speed=math.inf, faults=rules) as sim:
        events = await collect(make_provider(kind, sim), make_request(kind, key="schemas"))
        assert isinstance(events[-1], Finished)
        _, err = await collect_until_error(
            make_provider(kind, sim), make_request(kind, key="storage")
        )
        assert err.kind is ErrorKind.AUTH
        events = await collect(make_provider(kind, sim), make_request(kind, key="storage"))
        assert isinstance(events[-1], Finished)  # times=1: the second storage request succeeds


@pytest.mark.parametrize("kind", KINDS)
async def test_cancelling_a_stream_propagates_cancelled_error(kind: ProviderKind) -> None:
    stall = FaultRule(kind="stall", after_chars=100)  # the stream is still open when cancelled
    async with Simulator(speed=math.inf, faults=[stall]) as sim:
        provider = make_provider(kind, sim)
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in provider.stream(make_request(kind)):
                first.set()

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await provider.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_an_abandoned_stream_can_be_closed_and_the_provider_reused(
    kind: ProviderKind, sim: Simulator
) -> None:
    provider = make_provider(kind, sim)
    try:
        stream = provider.stream(make_request(kind))
        first = await anext(stream)
        while isinstance(first, Heartbeat):
            first = await anext(stream)
        assert isinstance(first, ThinkingDelta)
        await stream.aclose()  # type: ignore[attr-defined]
        events = [e async for e in provider.stream(make_request(kind, key="tests"))]
    finally:
        await provider.aclose()
    assert text_of(events, TextDelta) == script_for("tests").answer


# --- construction --------------------------------------------------------------------------------


def test_importing_the_factory_does_not_import_any_sdk() -> None:
    code = (
        "import sys, mao_tui.providers.factory, mao_tui.providers.errors;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('anthropic', 'openai')"
        " or m.startswith('google.genai')];"
        "print(','.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


@pytest.mark.parametrize(
    ("kind", "class_name"),
    [
        ("anthropic", "AnthropicProvider"),
        ("openai", "OpenAIResponsesProvider"),
        ("openai_chat", "OpenAIChatProvider"),
        ("gemini", "GeminiProvider"),
    ],
)
async def test_factory_builds_each_kind_with_retries_off(
    kind: ProviderKind, class_name: str, sim: Simulator
) -> None:
    # timeout_s sets the first-event and idle timeouts; the SDK's read timeout is the engine's
    # watchdog plus a grace second, so the watchdog fires first.
    provider = make_provider(kind, sim, timeout_s=12.5)
    try:
        assert type(provider).__name__ == class_name
        client = provider._client  # type: ignore[attr-defined]
        if kind == "gemini":
            options = client._api_client._http_options
            assert options.timeout == 13500 and options.retry_options is None
            assert options.api_version == "v1beta"
        else:
            assert client.max_retries == 0 and client.timeout == 13.5
    finally:
        await provider.aclose()
