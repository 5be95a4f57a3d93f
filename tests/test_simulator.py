"""The simulator on the wire: exact formats per API, workstream content, faults, and shutdown."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mao_tui.providers.base import ErrorKind, ModelRequest, ProviderError, TextDelta
from mao_tui.providers.sdk.gemini_api import GeminiProvider
from mao_tui.simulator import FaultRule, Simulator, demo_faults
from mao_tui.simulator.faults import FaultBook, FaultKind
from mao_tui.simulator.http11 import MAX_HEAD_BYTES
from mao_tui.simulator.pacing import Segment, chars_per_s, clip, paced, tokens, tokens_per_s
from mao_tui.simulator.scripts import SCRIPTED_KEYS, detect_workstream, script_for

# --- a raw HTTP/1.1 client, to see exactly what the server sends ---------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)
    body: bytes = b""
    complete: bool = True  # False when the connection closed inside a chunked body


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, sim: Simulator) -> RawConnection:
        host, port = sim.base_url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(
        self, path: str, body: object, headers: dict[str, str] | None = None, method: str = "POST"
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        head = {"host": "sim", "content-type": "application/json", "content-length": str(len(data))}
        lines = [
            f"{method} {path} HTTP/1.1",
            *(f"{k}: {v}" for k, v in {**head, **(headers or {})}.items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        await self.writer.drain()

    async def read_head(self) -> Reply:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw.decode("latin-1").strip().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        return Reply(int(status_line.split()[1]), headers)

    async def read_chunk(self) -> bytes | None:
        """The next chunk; None after the terminal chunk. Raises IncompleteReadError at EOF."""
        size = int(await self.reader.readuntil(b"\r\n"), 16)
        if size == 0:
            await self.reader.readexactly(2)
            return None
        data = await self.reader.readexactly(size + 2)
        return data[:-2]

    async def read_reply(self) -> Reply:
        reply = await self.read_head()
        if reply.headers.get("transfer-encoding") == "chunked":
            try:
                while (chunk := await self.read_chunk()) is not None:
                    reply.chunks.append(chunk)
            except (asyncio.IncompleteReadError, ConnectionError):
                reply.complete = False
        else:
            reply.body = await self.reader.readexactly(int(reply.headers["content-length"]))
        return reply

    async def request(
        self, path: str, body: object, headers: dict[str, str] | None = None
    ) -> Reply:
        await self.send(path, body, headers)
        return await self.read_reply()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def post(
    sim: Simulator, path: str, body: object, headers: dict[str, str] | None = None
) -> Reply:
    conn = await RawConnection.open(sim)
    try:
        return await conn.request(path, body, headers)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Sse:
    event: str | None
    data: str
    crlf: bool

    def json(self) -> Any:
        return json.loads(self.data)


def one_event(chunk: bytes) -> Sse:
    """The single SSE event a chunk must hold."""
    text = chunk.decode()
    crlf = "\r\n" in text
    lines = text.split("\r\n" if crlf else "\n")
    assert lines[-2:] == ["", ""], f"chunk is not one terminated event: {text!r}"
    fields = [line for line in lines if line]
    assert len([f for f in fields if f.startswith("data: ")]) == 1, text
    event = next((f[len("event: ") :] for f in fields if f.startswith("event: ")), None)
    data = next(f[len("data: ") :] for f in fields if f.startswith("data: "))
    return Sse(event, data, crlf)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


SYSTEM = "You own the **Schemas** workstream (key: schemas)."
ANTHROPIC_BODY = {
    "model": "claude-opus-5-5",
    "max_tokens": 4000,
    "stream": True,
    "system": SYSTEM,
    "messages": [{"role": "user", "content": "Build the snippet store."}],
    "thinking": {"type": "adaptive", "display": "summarized"},
}
RESPONSES_BODY = {
    "model": "gpt-5.2",
    "instructions": SYSTEM,
    "input": "Build the snippet store.",
    "stream": True,
    "reasoning": {"effort": "xhigh", "summary": "detailed"},
}
CHAT_BODY = {
    "model": "qwen3",
    "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Build it."}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "reasoning_effort": "high",
}
GEMINI_BODY = {
    "contents": [{"parts": [{"text": "Build the snippet store."}], "role": "user"}],
    "systemInstruction": {"parts": [{"text": SYSTEM}], "role": "user"},
    "generationConfig": {"thinkingConfig": {"include_thoughts": True, "thinking_level": "HIGH"}},
}
GEMINI_PATH = "/v1beta/models/gemini-4-argon:streamGenerateContent?alt=sse"
SCRIPT = script_for("schemas")


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


# The synthesis delivers its files as a mao-files manifest: tests/test_apply_fix.py.
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
