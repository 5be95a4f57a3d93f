"""The simulator on the wire: exact formats per API, HTTP, workstream content and pacing."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fixtures.raw_http import (
    ANTHROPIC_BODY,
    CHAT_BODY,
    GEMINI_BODY,
    GEMINI_PATH,
    RESPONSES_BODY,
    SCRIPT,
    RawConnection,
    one_event,
    post,
)

from mao_tui.simulator import Simulator
from mao_tui.simulator.http11 import MAX_HEAD_BYTES
from mao_tui.simulator.pacing import Segment, chars_per_s, clip, paced, tokens, tokens_per_s
from mao_tui.simulator.scripts import SCRIPTED_KEYS, detect_workstream, script_for


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


# --- wire formats --------------------------------------------------------------------------------


async def test_anthropic_stream_has_named_events_one_per_chunk_and_cumulative_usage(
    sim: Simulator,
) -> None:
    reply = await post(sim, "/v1/messages", ANTHROPIC_BODY, {"anthropic-version": "2026-10-21"})
    assert reply.status == 200 and reply.complete
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [one_event(c) for c in reply.chunks]
    for ev in events:
        assert ev.event == ev.json()["type"]
    names = [ev.event for ev in events]
    assert names[:4] == ["message_start", "ping", "content_block_start", "content_block_delta"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]

    deltas = [ev.json()["delta"] for ev in events if ev.event == "content_block_delta"]
    kinds = [d["type"] for d in deltas]
    first_text = kinds.index("text_delta")
    assert set(kinds[: first_text - 1]) == {"thinking_delta"}
    assert kinds[first_text - 1] == "signature_delta" and deltas[first_text - 1]["signature"]
    assert (
        "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta") == SCRIPT.thinking
    )
    assert "".join(d["text"] for d in deltas if d["type"] == "text_delta") == SCRIPT.answer
    starts = [
        ev.json()["content_block"]["type"] for ev in events if ev.event == "content_block_start"
    ]
    assert starts == ["thinking", "text"]

    start_usage = events[0].json()["message"]["usage"]
    assert start_usage["input_tokens"] > 0 and start_usage["output_tokens"] == 1
    final = next(ev.json() for ev in events if ev.event == "message_delta")
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] == tokens(SCRIPT.thinking) + tokens(SCRIPT.answer)
    assert final["usage"]["output_tokens_details"] == {"thinking_tokens": tokens(SCRIPT.thinking)}


async def test_responses_stream_numbers_every_event_and_completes_with_usage(
    sim: Simulator,
) -> None:
    reply = await post(sim, "/v1/responses", RESPONSES_BODY)
    events = [one_event(c).json() for c in reply.chunks]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    types = [e["type"] for e in events]
    assert types[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
    ]
    assert types[-1] == "response.completed"
    items = [e["item"]["type"] for e in events if e["type"] == "response.output_item.added"]
    assert items == ["reasoning", "message"]
    summary = "".join(
        e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta"
    )
    answer = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert summary == SCRIPT.thinking and answer == SCRIPT.answer

    done = events[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["summary"][0]["text"] == SCRIPT.thinking
    assert done["output"][1]["content"][0]["text"] == SCRIPT.answer
    usage = done["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == tokens(SCRIPT.thinking)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert not any(c.startswith(b"data: [DONE]") for c in reply.chunks)


async def test_chat_stream_is_data_only_with_both_reasoning_fields_usage_and_done(
    sim: Simulator,
) -> None:
    reply = await post(sim, "/v1/chat/completions", CHAT_BODY)
    events = [one_event(c) for c in reply.chunks]
    assert all(ev.event is None for ev in events)
    assert events[-1].data == "[DONE]"
    chunks = [ev.json() for ev in events[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert any("reasoning_content" in d for d in deltas) and any("reasoning" in d for d in deltas)
    reasoning = "".join(d.get("reasoning", "") + d.get("reasoning_content", "") for d in deltas)
    assert reasoning == SCRIPT.thinking
    assert "".join(d.get("content") or "" for d in deltas) == SCRIPT.answer
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == tokens(
        SCRIPT.thinking
    )


async def test_chat_stream_without_include_usage_sends_no_usage_chunk(sim: Simulator) -> None:
    body = {k: v for k, v in CHAT_BODY.items() if k != "stream_options"}
    reply = await post(sim, "/v1/chat/completions", body)
    chunks = [one_event(c) for c in reply.chunks]
    assert all("usage" not in ev.json() for ev in chunks[:-1])


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_gemini_stream_has_thoughts_signature_and_finish_reason_last(
    sim: Simulator, version: str
) -> None:
    path = GEMINI_PATH.replace("v1beta", version)
    reply = await post(sim, path, GEMINI_BODY, {"x-goog-api-key": "AIzaSecret"})
    events = [one_event(c) for c in reply.chunks]
    assert all(ev.crlf and ev.event is None for ev in events)
    assert all(c.startswith(b"data: {") for c in reply.chunks)  # the space is required
    chunks = [ev.json() for ev in events]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert "".join(p["text"] for p in parts if p.get("thought")) == SCRIPT.thinking
    assert "".join(p["text"] for p in parts if not p.get("thought")) == SCRIPT.answer
    signed = [p for p in parts if "thoughtSignature" in p]
    assert len(signed) == 1 and not signed[0].get("thought")
    assert base64.b64decode(signed[0]["thoughtSignature"], validate=True)
    finishes = [c["candidates"][0].get("finishReason") for c in chunks]
    assert finishes[-1] == "STOP" and not any(finishes[:-1])
    usage = chunks[-1]["usageMetadata"]
    assert usage["thoughtsTokenCount"] == tokens(SCRIPT.thinking)
    assert usage["candidatesTokenCount"] == tokens(SCRIPT.answer)
    assert sim.requests[0].model == "gemini-4-argon"
    assert sim.requests[0].headers["x-goog-api-key"] == "<redacted>"


@pytest.mark.parametrize(
    ("config", "thinks"),
    [({"includeThoughts": True}, True), ({"thinking_budget": 1024}, False), (None, False)],
)
async def test_gemini_streams_thoughts_only_when_asked(
    sim: Simulator, config: dict[str, Any] | None, thinks: bool
) -> None:
    body = {**GEMINI_BODY, "generationConfig": {"thinkingConfig": config} if config else {}}
    reply = await post(sim, GEMINI_PATH, body)
    parts = [
        p for c in reply.chunks for p in one_event(c).json()["candidates"][0]["content"]["parts"]
    ]
    assert any(p.get("thought") for p in parts) is thinks


async def test_connections_are_kept_alive_across_requests(sim: Simulator) -> None:
    conn = await RawConnection.open(sim)
    try:
        first = await conn.request("/v1/chat/completions", CHAT_BODY)
        second = await conn.request("/v1/messages", ANTHROPIC_BODY)
    finally:
        await conn.close()
    assert first.complete and second.complete
    assert first.headers["connection"] == "keep-alive"
    assert one_event(second.chunks[-1]).event == "message_stop"
    assert len(sim.requests) == 2


@pytest.mark.parametrize(
    ("path", "headers", "shape"),
    [
        ("/v1/nope", {"anthropic-version": "2026-10-21"}, "anthropic"),
        ("/v1beta/models/x:countTokens", {}, "gemini"),
        ("/responses", {}, "openai"),
    ],
)
async def test_unknown_paths_get_404_in_the_provider_shape(
    sim: Simulator, path: str, headers: dict[str, str], shape: str
) -> None:
    reply = await post(sim, path, {"model": "m"}, headers)
    assert reply.status == 404
    body = json.loads(reply.body)
    if shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    elif shape == "gemini":
        assert body["error"]["code"] == 404 and body["error"]["status"] == "NOT_FOUND"
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    assert sim.requests[-1].api == "unknown"


async def test_a_request_head_over_the_limit_is_answered_431_and_the_connection_closes(
    sim: Simulator,
) -> None:
    conn = await RawConnection.open(sim)
    try:
        await conn.send("/v1/messages", ANTHROPIC_BODY, {"x-padding": "a" * MAX_HEAD_BYTES})
        reply = await conn.read_reply()
        assert reply.status == 431
        assert reply.headers["connection"] == "close"
        assert b"request head larger than" in reply.body
        assert await conn.reader.read() == b""  # the server closed the connection
    finally:
        await conn.close()
    assert sim.requests == []
    # A head just within the limit is served as usual.
    padding = "a" * (MAX_HEAD_BYTES - 1024)
    assert (await post(sim, "/v1/messages", ANTHROPIC_BODY, {"x-padding": padding})).status == 200


async def test_non_streaming_requests_are_refused(sim: Simulator) -> None:
    reply = await post(sim, "/v1/messages", {**ANTHROPIC_BODY, "stream": False})
    assert reply.status == 400
    assert json.loads(reply.body)["error"]["type"] == "invalid_request_error"


async def test_recorded_requests_hide_secrets(sim: Simulator) -> None:
    secret = "sk-ant-very-secret"
    await post(
        sim,
        "/v1/messages",
        ANTHROPIC_BODY,
        {"authorization": f"Bearer {secret}", "x-api-key": secret},
    )
    (req,) = sim.requests
    assert req.api == "anthropic" and req.model == "claude-opus-5-5"
    assert req.workstream == "schemas"
    assert req.headers["authorization"] == req.headers["x-api-key"] == "<redacted>"
    assert secret not in repr(req)
    assert req.body == ANTHROPIC_BODY


# --- content -------------------------------------------------------------------------------------


# The synthesis delivers its files as a mao-files manifest: tests/integration/test_apply_fix.py.
@pytest.mark.parametrize("key", [*(k for k in SCRIPTED_KEYS if k != "synthesis"), None])
def test_scripts_are_plausible_markdown_with_path_named_code(key: str | None) -> None:
    script = script_for(key)
    assert 400 <= len(script.thinking) <= 900
    assert 1200 <= len(script.answer) <= 3700
    assert script.answer.lstrip().startswith("#")
    blocks = re.findall(r"```python\n(.*?)```", script.answer, re.S)
    assert blocks, "an answer has at least one Python block"
    for block in blocks:
        assert re.match(r"# [\w/]+\.py\n", block), block.splitlines()[0]


def test_each_workstream_has_its_own_content() -> None:
    answers = {key: script_for(key).answer for key in SCRIPTED_KEYS}
    assert len(set(answers.values())) == len(SCRIPTED_KEYS)
    assert "# snippets/schemas.py" in answers["schemas"]
    assert "# snippets/storage.py" in answers["storage"]
    assert "# snippets/search.py" in answers["core_logic"]
    assert "# snippets/api.py" in answers["implementation"]
    assert "# tests/test_snippets.py" in answers["tests"]
    assert script_for("no_such_workstream") == script_for(None)


def test_synthesis_report_names_the_models_from_the_request() -> None:
    request = (
        "You are the synthesis model (key: synthesis)\n## Workstream outputs\n"
        "### Schemas (by Gemini 4 Argon)\n\n...\n### Storage (by GPT-6.2 Sol)\n\n...\n"
    )
    answer = script_for("synthesis", request).answer
    assert "| Schemas | Gemini 4 Argon |" in answer
    assert "| Storage | GPT-6.2 Sol |" in answer
    assert "{{" not in answer and "{{" not in script_for("synthesis").answer


def test_workstream_key_detection() -> None:
    assert detect_workstream("You own the Tests workstream (key: tests).") == "tests"
    assert detect_workstream("(key: core_logic) then (key: other)") == "core_logic"
    assert detect_workstream("no key here, key: tests") is None


async def test_workstream_is_detected_in_any_part_of_the_request(sim: Simulator) -> None:
    body = {**CHAT_BODY, "messages": [{"role": "user", "content": "Do it (key: storage)"}]}
    reply = await post(sim, "/v1/chat/completions", body)
    text = "".join(
        one_event(c).json()["choices"][0]["delta"].get("content") or ""
        for c in reply.chunks[:-1]
        if one_event(c).json()["choices"]
    )
    assert text == script_for("storage").answer
    assert sim.requests[0].workstream == "storage"


# --- pacing --------------------------------------------------------------------------------------


def test_model_speeds_match_by_the_longest_substring() -> None:
    assert tokens_per_s("gpt-6.2-sol") == 90 and tokens_per_s("gpt-5.2") == 70
    assert tokens_per_s("claude-haiku-5-5") == 160 and tokens_per_s("claude-opus-5-5") == 60
    assert tokens_per_s("gemini-4-hydrogen") == 180
    assert tokens_per_s("mystery-model") == 80
    assert tokens_per_s("gpt-5.2", {"gpt": 10}) == 70
    assert tokens_per_s("mystery-model", {"mystery": 5}) == 5
    assert chars_per_s("claude-opus-5-5", 2.0) == 60 * 4 * 2
    assert chars_per_s("x", math.inf) == math.inf and chars_per_s("x", 0) == math.inf


def test_clip_keeps_the_first_characters_across_segments() -> None:
    segments: list[Segment] = [("thinking", "abcd"), ("text", "efgh")]
    assert clip(segments, 6) == [("thinking", "abcd"), ("text", "ef")]
    assert clip(segments, 2) == [("thinking", "ab")]
    assert clip(segments, 100) == segments


@pytest.mark.parametrize("cps", [math.inf, 20_000.0])
async def test_paced_pieces_never_span_segments(cps: float) -> None:
    segments: list[Segment] = [("thinking", "t" * 700), ("text", "x" * 1500)]
    pieces = [p async for p in paced(segments, cps)]
    assert "".join(t for c, t in pieces if c == "thinking") == "t" * 700
    assert "".join(t for c, t in pieces if c == "text") == "x" * 1500
    assert all(set(t) == ({"t"} if c == "thinking" else {"x"}) for c, t in pieces)
    assert len(pieces) >= 3


async def test_paced_streams_take_about_as_long_as_the_model_speed_says() -> None:
    async with Simulator(speed=10.0, tokens_per_s={"qwen3": 100.0}) as sim:  # 4,000 chars/s
        loop = asyncio.get_running_loop()
        started = loop.time()
        reply = await post(sim, "/v1/chat/completions", {**CHAT_BODY, "reasoning_effort": None})
        elapsed = loop.time() - started
    chars = len(SCRIPT.answer)
    assert chars / 4000 * 0.7 < elapsed < chars / 4000 * 2 + 0.5
    content_chunks = [c for c in reply.chunks if b'"content":"' in c]
    assert len(content_chunks) >= chars / 4000 / 0.05 * 0.6  # about one event per 50 ms tick
