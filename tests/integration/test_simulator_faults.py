"""The simulator's faults on the wire: HTTP errors, broken and stalled streams, and shutdown."""

from __future__ import annotations

import asyncio
import json
import math
import re

import pytest
from fixtures.raw_http import (
    ANTHROPIC_BODY,
    CHAT_BODY,
    GEMINI_BODY,
    GEMINI_PATH,
    RESPONSES_BODY,
    SCRIPT,
    SYSTEM,
    RawConnection,
    Sse,
    one_event,
    post,
)

from mao_tui.providers.base import ErrorKind, ModelRequest, ProviderError, TextDelta
from mao_tui.providers.sdk.gemini_api import GeminiProvider
from mao_tui.simulator import FaultRule, Simulator, demo_faults
from mao_tui.simulator.faults import FaultBook, FaultKind

# --- faults --------------------------------------------------------------------------------------

ERROR_STATUS: dict[FaultKind, dict[str, int]] = {
    "rate_limit": {"anthropic": 429, "openai": 429, "gemini": 429},
    "server_error": {"anthropic": 500, "openai": 500, "gemini": 500},
    "overloaded": {"anthropic": 529, "openai": 503, "gemini": 503},
    "auth": {"anthropic": 401, "openai": 401, "gemini": 401},
    "not_found": {"anthropic": 404, "openai": 404, "gemini": 404},
    "context_length": {"anthropic": 400, "openai": 400, "gemini": 400},
}
CALLS = {
    "anthropic": ("/v1/messages", ANTHROPIC_BODY),
    "openai": ("/v1/responses", RESPONSES_BODY),
    "gemini": (GEMINI_PATH, GEMINI_BODY),
}


@pytest.mark.parametrize("api", ["anthropic", "openai", "gemini"])
@pytest.mark.parametrize("fault", list(ERROR_STATUS))
async def test_http_error_faults_use_each_providers_status_and_body(
    api: str, fault: FaultKind
) -> None:
    async with Simulator(speed=math.inf, faults=[FaultRule(kind=fault, retry_after=0.25)]) as sim:
        path, body = CALLS[api]
        reply = await post(sim, path, body)
    assert reply.status == ERROR_STATUS[fault][api]
    error = json.loads(reply.body)
    assert reply.headers.get("retry-after") == ("0.25" if fault == "rate_limit" else None)
    message = error["error"]["message"]
    if api == "anthropic":
        assert error["type"] == "error"
        expected_type = {
            "rate_limit": "rate_limit_error",
            "server_error": "api_error",
            "overloaded": "overloaded_error",
            "auth": "authentication_error",
            "not_found": "not_found_error",
            "context_length": "invalid_request_error",
        }
        assert error["error"]["type"] == expected_type[fault]
    elif api == "gemini":
        assert error["error"]["code"] == reply.status and error["error"]["status"]
    else:
        assert set(error["error"]) == {"message", "type", "param", "code"}
    if fault == "context_length":
        assert re.search(r"too long|context window|maximum number of tokens", message)


async def test_a_rule_fires_for_its_first_matching_requests_only() -> None:
    rules = [
        FaultRule(kind="auth", model="gpt-5.2", times=2),
        FaultRule(kind="not_found", workstream="tests", times=None),
    ]
    async with Simulator(speed=math.inf, faults=rules) as sim:
        statuses = [(await post(sim, "/v1/responses", RESPONSES_BODY)).status for _ in range(3)]
        tests_body = {**CHAT_BODY, "messages": [{"role": "user", "content": "(key: tests)"}]}
        tests = [(await post(sim, "/v1/chat/completions", tests_body)).status for _ in range(3)]
        other = (await post(sim, "/v1/chat/completions", CHAT_BODY)).status
    assert statuses == [401, 401, 200]
    assert tests == [404, 404, 404]
    assert other == 200
    assert [r.fault for r in sim.requests] == ["auth", "auth", None, *["not_found"] * 3, None]


def test_fault_book_and_demo_faults() -> None:
    (rule,) = demo_faults()
    assert (rule.kind, rule.model, rule.workstream, rule.times) == (
        "stall",
        "gemini-4-argon",
        "schemas",
        1,
    )
    book = FaultBook(demo_faults())
    assert book.take("gemini-4-argon", "storage") is None
    assert book.take("claude-sonnet-5-5", "schemas") is None
    assert book.take("gemini-4-argon", "schemas") == rule
    assert book.take("gemini-4-argon", "schemas") is None
    with pytest.raises(ValueError):
        FaultRule(kind="explode")  # type: ignore[arg-type]


def streamed_content(api: str, events: list[Sse]) -> str:
    out = []
    for ev in events:
        data = ev.json()
        if api == "anthropic" and data["type"] == "content_block_delta":
            out.append(data["delta"].get("thinking", "") + data["delta"].get("text", ""))
        elif api == "openai" and data["type"].endswith("text.delta"):
            out.append(data["delta"])
        elif api == "gemini" and "candidates" in data:
            out += [p["text"] for p in data["candidates"][0]["content"]["parts"]]
    return "".join(out)


FULL = SCRIPT.thinking + SCRIPT.answer


@pytest.mark.parametrize("api", ["anthropic", "openai", "gemini"])
async def test_truncate_ends_cleanly_without_the_terminal_event(api: str) -> None:
    async with Simulator(
        speed=math.inf, faults=[FaultRule(kind="truncate", after_chars=300)]
    ) as sim:
        path, body = CALLS[api]
        reply = await post(sim, path, body)
    assert reply.status == 200 and reply.complete
    events = [one_event(c) for c in reply.chunks]
    assert streamed_content(api, events) == FULL[:300]
    raw = b"".join(reply.chunks)
    assert b"message_stop" not in raw and b"response.completed" not in raw
    assert b"finishReason" not in raw


@pytest.mark.parametrize("api", ["anthropic", "openai", "gemini"])
async def test_drop_closes_the_socket_inside_the_chunked_body(api: str) -> None:
    async with Simulator(speed=math.inf, faults=[FaultRule(kind="drop", after_chars=250)]) as sim:
        path, body = CALLS[api]
        reply = await post(sim, path, body)
    assert reply.status == 200 and not reply.complete
    assert streamed_content(api, [one_event(c) for c in reply.chunks]) == FULL[:250]


@pytest.mark.parametrize(
    ("api", "marker"),
    [
        ("anthropic", 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error"'),
        ("openai", 'event: error\ndata: {"type":"error","sequence_number":'),
        ("gemini", 'data: {"error":{"code":503'),
    ],
)
async def test_in_stream_error_is_each_apis_error_event(api: str, marker: str) -> None:
    async with Simulator(
        speed=math.inf, faults=[FaultRule(kind="in_stream_error", after_chars=100)]
    ) as sim:
        path, body = CALLS[api]
        reply = await post(sim, path, body)
    assert reply.complete
    assert reply.chunks[-1].decode().startswith(marker)
    assert streamed_content(api, [one_event(c) for c in reply.chunks[:-1]]) == FULL[:100]


async def test_chat_in_stream_error_is_an_error_object_without_done() -> None:
    async with Simulator(
        speed=math.inf, faults=[FaultRule(kind="in_stream_error", after_chars=100)]
    ) as sim:
        reply = await post(sim, "/v1/chat/completions", CHAT_BODY)
    last = one_event(reply.chunks[-1]).json()
    assert last["error"]["type"] == "server_error"
    assert b"[DONE]" not in b"".join(reply.chunks)


async def test_stall_holds_the_stream_open_until_stop_releases_it() -> None:
    sim = Simulator(speed=math.inf, faults=[FaultRule(kind="stall", after_chars=150)])
    await sim.start()
    tasks_before = asyncio.all_tasks()
    conn = await RawConnection.open(sim)
    await conn.send("/v1/messages", ANTHROPIC_BODY)
    head = await conn.read_head()
    assert head.status == 200
    events: list[Sse] = []
    while streamed_content("anthropic", events) != FULL[:150]:
        chunk = await conn.read_chunk()
        assert chunk is not None
        events.append(one_event(chunk))

    await sim.stop()  # must not wait for the client
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        await conn.read_chunk()  # closed without another byte or the terminal chunk
    await conn.close()
    assert asyncio.all_tasks() <= tasks_before | {asyncio.current_task()}


async def test_stall_before_headers_sends_nothing() -> None:
    sim = Simulator(speed=math.inf, faults=[FaultRule(kind="stall_before_headers")])
    await sim.start()
    conn = await RawConnection.open(sim)
    await conn.send(GEMINI_PATH, GEMINI_BODY)
    read = asyncio.create_task(conn.reader.read())
    while not sim.requests:  # the server has parsed the request and is holding it
        await asyncio.sleep(0)
    await sim.stop()
    assert await read == b""
    await conn.close()


async def test_stop_is_idempotent_and_leaves_no_tasks() -> None:
    before = asyncio.all_tasks()
    sim = Simulator(speed=math.inf)
    await sim.start()
    await post(sim, "/v1/responses", RESPONSES_BODY)
    idle = await RawConnection.open(sim)  # a kept-alive connection the client never closes
    await sim.stop()
    await sim.stop()
    assert await idle.reader.read() == b""
    await idle.close()
    assert asyncio.all_tasks() <= before | {asyncio.current_task()}


async def test_demo_fault_makes_gemini_time_out_on_schemas_once() -> None:
    async with Simulator(speed=math.inf, faults=demo_faults()) as sim:
        provider = GeminiProvider(api_key="sim", base_url=sim.base_url, timeout_s=30)
        request = ModelRequest(
            model_id="gemini-4-argon",
            api_model="gemini-4-argon",
            system=SYSTEM,
            prompt="Build the snippet store.",
            max_output_tokens=8000,
            thinking=None,
            timeout_s=0.3,
        )
        try:
            with pytest.raises(ProviderError) as caught:
                async for _ in provider.stream(request):
                    pass
            retry = [e async for e in provider.stream(request)]
        finally:
            await provider.aclose()
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "".join(e.text for e in retry if isinstance(e, TextDelta)) == SCRIPT.answer
    assert [r.fault for r in sim.requests] == ["stall", None]
