"""A local HTTP/1.1 server imitating the Anthropic, OpenAI and Gemini streaming APIs.

Plain asyncio on purpose: installing aiohttp would silently switch google-genai's transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self, cast

from mao_tui.simulator import discovery, pacing, replies, sse, wire, wire_openai
from mao_tui.simulator.catalog import Catalog
from mao_tui.simulator.faults import (
    COMPLETING_KINDS,
    ENDING_KINDS,
    HTTP_ERROR_KINDS,
    MID_STREAM_KINDS,
    FaultBook,
    FaultRule,
    HttpErrorKind,
    with_escapes,
)
from mao_tui.simulator.http11 import (
    MAX_HEAD_BYTES,
    BadRequest,
    ChunkedResponse,
    HeadTooLarge,
    HttpRequest,
    read_request,
    refuse_large_head,
    write_response,
)
from mao_tui.simulator.market import Market
from mao_tui.simulator.qa import break_json
from mao_tui.simulator.routes import ApiCall, guess_api, parse_call, route
from mao_tui.simulator.scripts import Script, detect_workstream, script_for

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})
REDACTED = "<redacted>"
_TODAY = Market()  # today's market, judged on the wall clock's date


# "discovery": a model-list request (simulator/discovery.py), its provider in ``headers``
RecordedApi = Literal[
    "anthropic", "openai_responses", "openai_chat", "gemini", "discovery", "unknown"
]


@dataclass(frozen=True)
class RecordedRequest:
    api: RecordedApi
    path: str
    model: str | None
    workstream: str | None
    body: dict[str, Any]
    headers: dict[str, str]  # secret header values replaced by "<redacted>"
    fault: str | None = None  # the fault kind that fired for this request, if any
    query: dict[str, list[str]] = field(default_factory=dict)
    # What today's market refused it with: "not_found" (a gone id) or "thinking" (a rejected
    # thinking parameter); None when the market let it through
    rejected: str | None = None


class Simulator:
    """Serves scripted, paced streams on 127.0.0.1 and fails on demand.

    ``speed`` multiplies every model's tokens/s; ``math.inf`` or ``<= 0`` turns pacing off.
    ``tokens_per_s`` overrides the per-model defaults (keys match as substrings of the API name).
    ``cached_tokens`` of every prompt are reported as read from the provider's cache.
    ``market`` is the model world it imitates (:mod:`~mao_tui.simulator.market`): gone ids get
    the provider's 404 and rejected thinking parameters its 400, before any fault rule; None
    serves every id. ``catalog`` is what the discovery endpoints list (default: today's market,
    :mod:`~mao_tui.simulator.catalog`).
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        faults: Sequence[FaultRule] = (),
        tokens_per_s: Mapping[str, float] | None = None,
        cached_tokens: int = 0,
        failing_first: bool = False,
        market: Market | None = _TODAY,
        catalog: Catalog | None = None,
    ) -> None:
        self.speed = speed
        self.market = market
        self.catalog = catalog if catalog is not None else Catalog()
        # The first synthesis's files fail their tests until a fix round (scripts.BUG).
        self.failing_first = failing_first
        self.cached_tokens = cached_tokens  # reported as read from a cache, up to all the input
        self.tokens_per_s = dict(tokens_per_s or {})
        self.requests: list[RecordedRequest] = []
        # request number (1-based, as in ``requests``) -> characters of content it streamed
        self.sent_chars: dict[int, int] = {}
        self._faults = FaultBook(faults)
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = False

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._stopping = False
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, limit=MAX_HEAD_BYTES
        )
        self._host = host
        self._port = self._server.sockets[0].getsockname()[1]

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("simulator not started")
        return f"http://{self._host}:{self._port}"

    @property
    def faults_fired(self) -> list[tuple[FaultRule, int]]:
        return self._faults.fired()

    @property
    def open_connections(self) -> int:
        """Client connections being served now (a client that closed its own is not counted)."""
        return len(self._connections)

    async def stop(self) -> None:
        self._stopping = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- connections ---------------------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers.add(writer)
        try:
            while True:
                request = await read_request(reader)
                if request is None or not await self._serve_request(request, reader, writer):
                    break
        except HeadTooLarge as exc:
            with contextlib.suppress(ConnectionError):
                await refuse_large_head(reader, writer, exc)
        except (BadRequest, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Python 3.11's start_server callback logs a cancelled handler as an error; stop()
            # cancels on purpose, so end quietly then.
            if not self._stopping:
                raise
        finally:
            self._connections.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _serve_request(
        self, request: HttpRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answers one request; False when the connection must not be reused."""
        ex = _Exchange(request, reader, writer, len(self.requests) + 1)
        try:
            body = request.json()
        except ValueError:
            body = None
        vendor = discovery.vendor_for(request.method, request.path, request.headers)
        if vendor is not None:
            self.requests.append(ex.record("discovery"))
            return await ex.reply(discovery.answer(self.catalog, vendor, request.query, ex.number))
        r = route(request.method, request.path)
        if r is None or not isinstance(body, dict):
            self.requests.append(ex.record("unknown", body=body if isinstance(body, dict) else {}))
            api = guess_api(request.path, request.headers)
            if r is None:
                message = f"Not found: {request.method} {request.path}"
                return await ex.reply(replies.plain_error(api, 404, message, ex.number))
            message = "The request body is not a JSON object."
            return await ex.reply(replies.plain_error(api, 400, message, ex.number))
        return await self._serve_call(ex, parse_call(r, body), body)

    async def _serve_call(self, ex: _Exchange, call: ApiCall, body: dict[str, Any]) -> bool:
        """A request to a model: today's market and the fault rules first, then the answer."""
        workstream = detect_workstream(call.text)
        refusal = (
            self.market.judge(call.api, call.model, call.thinking_values)
            if self.market is not None
            else None
        )
        if refusal is not None:
            self.requests.append(ex.record(call.api, call, workstream, body, rejected=refusal.kind))
            if refusal.kind == "not_found":
                reply = replies.error_reply(
                    call.api, "not_found", model=call.model, retry_after=0, request_number=ex.number
                )
            else:
                reply = replies.market_thinking_reply(
                    call.api, refusal.param, refusal.message, ex.number
                )
            return await ex.reply(reply)
        rule = self._faults.take(call.model, workstream, call.thinking_values)
        self.requests.append(
            ex.record(call.api, call, workstream, body, fault=rule.kind if rule else None)
        )
        if rule is not None and rule.kind == "stall_before_headers":
            await _until_client_leaves(ex.reader)
            return False
        faulted = _fault_reply(rule, call, ex) if rule is not None else None
        if faulted is not None:
            return await ex.reply(faulted)
        if not call.streaming and call.api == "openai_chat":
            return await self._whole_chat(call, workstream, ex)
        if not call.streaming:
            message = "The simulator only serves streaming requests."
            return await ex.reply(replies.plain_error(call.api, 400, message, ex.number))
        return await self._stream(call, body, workstream, rule, ex)

    async def _whole_chat(self, call: ApiCall, workstream: str | None, ex: _Exchange) -> bool:
        """A Chat Completions request without ``stream``: the script's answer in one JSON body."""
        script = script_for(
            workstream, call.text, failing_first=self.failing_first, model=call.model
        )
        thinking = script.thinking if call.thinking else ""
        prompt_tokens = pacing.tokens(call.text)
        cached = min(self.cached_tokens, prompt_tokens)
        ctx = sse.StreamContext(call.model, prompt_tokens, ex.number, cached)
        usage = sse.TokenCounts(
            prompt_tokens, pacing.tokens(thinking), pacing.tokens(script.answer)
        )
        body = wire_openai.chat_completion(ctx, thinking, script.answer, usage)
        headers = {"content-type": "application/json", **wire.stream_headers(call.api, ex.number)}
        await write_response(ex.writer, 200, headers, body, keep_alive=ex.request.keep_alive)
        return ex.request.keep_alive

    async def _stream(
        self,
        call: ApiCall,
        body: dict[str, Any],
        workstream: str | None,
        rule: FaultRule | None,
        ex: _Exchange,
    ) -> bool:
        """The script's answer as the API streams it, paced, with the rule's fault in it."""
        segments = _segments(
            script_for(workstream, call.text, failing_first=self.failing_first, model=call.model),
            call,
            rule,
        )
        prompt_tokens = pacing.tokens(call.text)
        cached = min(self.cached_tokens, prompt_tokens)
        minimal = rule is not None and rule.kind == "minimal_usage"
        ctx = sse.StreamContext(call.model, prompt_tokens, ex.number, cached, minimal)
        encoder = wire.encoder_for(call.api, ctx, body, call.include_usage)
        response = ChunkedResponse(ex.writer)
        await response.start(
            {"content-type": encoder.media_type, **wire.stream_headers(call.api, ex.number)},
            keep_alive=ex.request.keep_alive,
        )
        unknown = rule is not None and rule.kind == "unknown_events"
        for event in encoder.opening() + (encoder.unknown() if unknown else []):
            await response.send(event)
        streamed: dict[str, int] = {"thinking": 0, "text": 0}
        self.sent_chars[ex.number] = 0
        async for channel, piece in self._pieces(segments, call, rule):
            streamed[channel] += len(piece)
            self.sent_chars[ex.number] += len(piece)
            for event in encoder.delta(channel, piece) + (encoder.unknown() if unknown else []):
                await response.send(event)
        if rule is None or rule.kind in COMPLETING_KINDS or rule.kind in ENDING_KINDS:
            usage = sse.TokenCounts(
                ctx.input_tokens,
                math.ceil(streamed["thinking"] / pacing.CHARS_PER_TOKEN),
                math.ceil(streamed["text"] / pacing.CHARS_PER_TOKEN),
            )
            ending: sse.Ending = "stop"
            if rule is not None and rule.kind in ENDING_KINDS:
                ending = "refusal" if rule.kind == "refusal" else "max_tokens"
            for event in encoder.closing(usage, ending):
                await response.send(event)
            await response.end()
            return ex.request.keep_alive
        return await _break_off(rule, encoder, response, ex)

    def _pieces(
        self, segments: list[pacing.Segment], call: ApiCall, rule: FaultRule | None
    ) -> AsyncIterator[pacing.Segment]:
        """The segments as they go out: paced by the model's speed, or as the rule has them."""
        if rule is not None and rule.kind == "slow":
            return pacing.evenly(segments, rule.pieces, rule.gap_s)
        if rule is not None and rule.kind == "flood":
            return _flooded(segments, rule)
        cps = pacing.chars_per_s(call.model, self.speed, self.tokens_per_s)
        first_token_s = 0.0 if math.isinf(cps) else pacing.FIRST_TOKEN_S / self.speed
        return pacing.paced(segments, cps, first_token_s)


@dataclass(frozen=True)
class _Exchange:
    """One request on its connection, numbered as it is recorded (1-based)."""

    request: HttpRequest
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    number: int

    def record(
        self,
        api: str,
        call: ApiCall | None = None,
        workstream: str | None = None,
        body: dict[str, Any] | None = None,
        *,
        fault: str | None = None,
        rejected: str | None = None,
    ) -> RecordedRequest:
        headers = {
            k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in self.request.headers.items()
        }
        return RecordedRequest(
            cast(RecordedApi, api),
            self.request.path,
            call.model if call is not None else None,
            workstream,
            body if body is not None else {},
            headers,
            fault,
            self.request.query,
            rejected,
        )

    async def reply(self, reply: replies.ErrorReply) -> bool:
        await write_response(
            self.writer, reply.status, reply.headers, reply.body, keep_alive=self.request.keep_alive
        )
        return self.request.keep_alive


def _fault_reply(rule: FaultRule, call: ApiCall, ex: _Exchange) -> replies.ErrorReply | None:
    """The reply that stands for the whole answer under ``rule``, if it is one of those."""
    if rule.kind == "thinking_rejected":
        param = rule.rejected_param(call.thinking_values) or "thinking"
        value = call.thinking_values.get(param, "")
        return replies.thinking_rejected_reply(call.api, param, value, ex.number)
    if rule.echo_credentials:
        credentials = "; ".join(
            f"{name}: {value}"
            for name, value in ex.request.headers.items()
            if name in _SECRET_HEADERS
        )
        query = "&".join(f"{k}={v[0]}" for k, v in ex.request.query.items() if v)
        echoed = f"{credentials}; query: {query}" if query else credentials
        return replies.credentials_echo_reply(call.api, echoed, ex.number)
    if rule.kind in HTTP_ERROR_KINDS:
        return replies.error_reply(
            call.api,
            cast(HttpErrorKind, rule.kind),
            model=call.model,
            retry_after=rule.retry_after,
            request_number=ex.number,
            status=rule.status,
        )
    return None


def _segments(script: Script, call: ApiCall, rule: FaultRule | None) -> list[pacing.Segment]:
    """What the answer streams, on which channel: the thinking if asked for, then the text,
    changed as the fault rule says."""
    kind = rule.kind if rule is not None else None
    if kind == "bad_json":
        script = Script(script.thinking, break_json(script.answer))
    segments: list[pacing.Segment] = []
    if call.thinking:
        segments.append(("thinking", script.thinking))
    segments.append(("text", script.answer))
    if kind == "escapes":
        segments = [(channel, with_escapes(text)) for channel, text in segments]
    if kind == "refusal":  # it thinks, then declines
        segments = [(c, t) for c, t in segments if c == "thinking"]
    if rule is not None and rule.kind in MID_STREAM_KINDS:
        segments = pacing.clip(segments, rule.after_chars)
    return segments


async def _break_off(
    rule: FaultRule, encoder: sse.StreamEncoder, response: ChunkedResponse, ex: _Exchange
) -> bool:
    """A stream that does not complete: stalled, dropped, or ended without its terminal event."""
    if rule.kind == "stall":
        await _until_client_leaves(ex.reader)
        return False
    if rule.kind == "drop":
        return False  # closing now leaves the chunked body incomplete
    if rule.kind == "in_stream_error":
        for event in encoder.error():
            await response.send(event)
    if rule.kind == "malformed":
        await response.send(encoder.malformed())
    await response.end()  # truncate: a clean end without the terminal event
    return ex.request.keep_alive


async def _flooded(
    segments: list[pacing.Segment], rule: FaultRule
) -> AsyncIterator[pacing.Segment]:
    """A flood: the thinking (if asked for), then ``flood_chars`` on the flooding channel (the
    answer last, so a thinking flood is followed by the script's answer)."""
    if rule.flood_channel == "text":
        for segment in segments:
            if segment[0] == "thinking":
                yield segment
    async for segment in pacing.flood(rule.flood_channel, rule.flood_chars):
        yield segment
    if rule.flood_channel == "thinking":
        for segment in segments:
            if segment[0] == "text":
                yield segment


async def _until_client_leaves(reader: asyncio.StreamReader) -> None:
    """Holds the connection open, sending nothing, until the client closes it (or stop())."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass
