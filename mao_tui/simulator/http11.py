"""Just enough HTTP/1.1 for the SDKs: request parsing, fixed-length replies and chunked streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

# The request line and headers; a longer head is answered 431 (the server's StreamReader limit).
MAX_HEAD_BYTES = 64 * 1024
# How long, and how much, a refused request is still read before its connection closes.
LINGER_S = 2.0
LINGER_BYTES = 1024 * 1024


class BadRequest(Exception):
    """The bytes on the wire were not an HTTP/1.1 request we can serve."""


class HeadTooLarge(BadRequest):
    """The request head ran past :data:`MAX_HEAD_BYTES`: answered 431, then the connection
    closes, as real servers do."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    def json(self) -> object:
        if not self.body:
            return {}
        return json.loads(self.body)


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """The next request on a connection, or None when the client closed it between requests.

    ``reader``'s limit must be :data:`MAX_HEAD_BYTES`: a head that does not end within it is
    :class:`HeadTooLarge`."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("connection closed inside the request head") from exc
    except asyncio.LimitOverrunError as exc:
        raise HeadTooLarge(f"request head larger than {MAX_HEAD_BYTES} bytes") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest(f"malformed request line {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"malformed header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    body = await _read_body(reader, headers)
    parts = urlsplit(target)
    return HttpRequest(
        method=method.upper(),
        path=unquote(parts.path),
        query=parse_qs(parts.query),
        headers=headers,
        body=body,
    )


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or "0")
    return await reader.readexactly(length) if length else b""


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reason(status: int) -> str:
    if status == 529:
        return "Site Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def write_response(
    writer: asyncio.StreamWriter,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    keep_alive: bool,
) -> None:
    all_headers = {
        **headers,
        "content-length": str(len(body)),
        "connection": "keep-alive" if keep_alive else "close",
    }
    writer.write(_head(status, all_headers) + body)
    await writer.drain()


async def refuse_large_head(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reason: HeadTooLarge
) -> None:
    """The 431 reply to a head over the limit; the connection is not reused.

    The rest of the head is still arriving: closing on unread bytes would reset the connection
    and could lose the reply, so the server stops writing and reads on (a lingering close, up to
    :data:`LINGER_S` or :data:`LINGER_BYTES`) until the client closes."""
    body = f"{reason}\n".encode()
    headers = {"content-type": "text/plain; charset=utf-8"}
    await write_response(writer, 431, headers, body, keep_alive=False)
    if writer.can_write_eof():
        writer.write_eof()
    read = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_S):
            while read < LINGER_BYTES and (data := await reader.read(65536)):
                read += len(data)


class ChunkedResponse:
    """A streamed 200 reply: one HTTP chunk per :meth:`send`."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def start(self, headers: Mapping[str, str], *, keep_alive: bool) -> None:
        all_headers = {
            **headers,
            "transfer-encoding": "chunked",
            "connection": "keep-alive" if keep_alive else "close",
        }
        self._writer.write(_head(200, all_headers))
        await self._writer.drain()

    async def send(self, data: bytes) -> None:
        if data:
            self._writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await self._writer.drain()

    async def end(self) -> None:
        """Ends the body cleanly with the zero-length chunk."""
        self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()
