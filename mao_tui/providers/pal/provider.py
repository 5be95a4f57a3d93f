"""Provider kind ``pal``: model calls through a PAL MCP server, over stdio, with the ``mcp`` SDK.

One PAL server process per provider, started on the first call and kept for the session (PAL
keeps its conversation threads in that process's memory). A workstream's call goes to PAL's
``chat`` tool with the model passed through, or to ``clink`` for a ``clink:NAME`` model. PAL
does not stream: while the call runs, its MCP progress notifications are shown as
:class:`Progress` lines; then the whole answer arrives as one text delta.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from mao_tui import __version__
from mao_tui.providers.base import (
    Continuation,
    ErrorKind,
    Finished,
    Heartbeat,
    ModelRequest,
    Progress,
    ProviderError,
    StreamEvent,
    TextDelta,
    Usage,
)
from mao_tui.providers.pal.errors import THREAD_EXPIRED, PalReply, decode, pal_error
from mao_tui.settings.pal import PalSettings, clink_target
from mao_tui.settings.thinking import ThinkingSettings

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult

# PAL's chat tool appends this hand-off to the calling agent after the model's answer.
_AGENT_TRAILER = "\n\n---\n\nAGENT'S TURN:"
_STDERR_TAIL = 4000
_OK_STATUSES = frozenset({"success", "continuation_available", "text"})


@dataclass
class ServerInfo:
    """What the running PAL server said about itself."""

    name: str
    version: str
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> input schema


class PalConnection:
    """One PAL server process and its MCP client session.

    The SDK's stdio transport lives in anyio task groups that must be entered and left by one
    task, so a dedicated task owns it; workstreams call tools on the session from their own
    tasks. A call that finds the connection closed resets it; the next call starts a new server.
    """

    def __init__(self, settings: PalSettings, env: Mapping[str, str], workdir: Path) -> None:
        self._settings = settings
        self._env = env
        self._workdir = workdir
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._session: ClientSession | None = None
        self._errlog: TextIO | None = None
        self.info: ServerInfo | None = None

    @property
    def secrets(self) -> list[str]:
        """Values never to show in a message: every variable the server was given."""
        return [v for v in self._settings.server_env(self._env).values() if len(v) >= 8]

    @property
    def running(self) -> bool:
        return self._session is not None and self._owner is not None and not self._owner.done()

    async def session(self) -> ClientSession:
        async with self._lock:
            if self._session is not None and self.running:
                return self._session
            await self._close_locked()
            return await self._start_locked()

    async def _start_locked(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[ClientSession] = loop.create_future()
        self._stop = asyncio.Event()
        # The server's stderr (its log) for as long as it runs: quoted when it dies.
        log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._errlog = cast(TextIO, log)
        self._owner = asyncio.create_task(self._own(ready, self._stop, self._errlog))
        try:
            async with asyncio.timeout(self._settings.startup_timeout_s):
                self._session = await asyncio.shield(ready)
        except TimeoutError:
            await self._close_locked()
            raise ProviderError(
                ErrorKind.TIMEOUT,
                f"PAL did not start within {self._settings.startup_timeout_s:g}s "
                f"({' '.join(self._settings.command)})",
            ) from None
        except ProviderError:
            await self._close_locked()
            raise
        return self._session

    async def _own(
        self, ready: asyncio.Future[ClientSession], stop: asyncio.Event, errlog: TextIO
    ) -> None:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
        from mcp.types import Implementation

        command = self._settings.command
        params = StdioServerParameters(
            command=command[0],
            args=command[1:],
            env=self._settings.server_env(self._env),
            cwd=self._workdir,
        )
        try:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(
                    read, write, client_info=Implementation(name="mao", version=__version__)
                ) as session,
            ):
                init = await session.initialize()
                listed = await session.list_tools()
                self.info = ServerInfo(
                    init.server_info.name,
                    init.server_info.version,
                    {t.name: dict(t.input_schema) for t in listed.tools},
                )
                ready.set_result(session)
                await stop.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(self._startup_error(exc))

    def _startup_error(self, exc: Exception) -> ProviderError:
        command = " ".join(self._settings.command)
        if isinstance(exc, FileNotFoundError | PermissionError):
            return ProviderError(
                ErrorKind.NOT_FOUND,
                f"cannot start PAL: {self._settings.command[0]!r} not found or not executable "
                f"({command}); install pal-mcp-server or set pal.command",
            )
        tail = self.stderr_tail()
        detail = f"; its stderr ends: {tail}" if tail else ""
        return ProviderError(
            ErrorKind.CONNECTION,
            f"PAL ({command}) ended before it answered: {type(exc).__name__}: {exc}{detail}",
        )

    def stderr_tail(self) -> str:
        log = self._errlog
        if log is None or log.closed:
            return ""
        with contextlib.suppress(OSError, ValueError):
            log.flush()
            size = log.seek(0, 2)
            log.seek(max(size - _STDERR_TAIL, 0))
            return " ".join(log.read().split()[-60:])
        return ""

    async def reset(self) -> None:
        async with self._lock:
            await self._close_locked()

    async def _close_locked(self) -> None:
        owner, self._owner, self._session = self._owner, None, None
        if owner is not None:
            if self._stop is not None:
                self._stop.set()
            with contextlib.suppress(Exception):
                await asyncio.shield(owner)
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    async def aclose(self) -> None:
        await self.reset()


class PalProvider:
    def __init__(
        self, settings: PalSettings, *, env: Mapping[str, str], workdir: Path | None = None
    ) -> None:
        self._settings = settings
        self._workdir = (workdir or Path.cwd()).resolve()
        self.connection = PalConnection(settings, env, self._workdir)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return self._events(request)

    async def aclose(self) -> None:
        await self.connection.aclose()

    async def list_models(self) -> str:
        """PAL's own ``listmodels`` report: every model its configured providers offer."""
        session = await self.connection.session()
        result = await session.call_tool("listmodels", {})
        text = _text_of(result)
        if result.is_error:
            raise pal_error(text, secrets=self.connection.secrets)
        return decode(text).content

    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        starting = not self.connection.running
        if starting:
            yield Progress(f"starting PAL: {' '.join(self._settings.command)}\n")
        session = await self.connection.session()
        tool, args = self._arguments(request)
        info = self.connection.info
        if starting and info is not None:
            yield Progress(f"{info.name} {info.version} ready: {len(info.tools)} tools\n")
        if info is not None and tool not in info.tools:
            raise ProviderError(
                ErrorKind.NOT_FOUND,
                f"PAL {info.version} offers no {tool!r} tool (it has: "
                f"{', '.join(sorted(info.tools))}); is it disabled in DISABLED_TOOLS?",
            )
        yield Heartbeat()  # the server is up and the request is on its way
        reply: PalReply | None = None
        while reply is None:
            result: CallToolResult | None = None
            async with contextlib.aclosing(self._call(session, tool, args)) as events:
                async for event in events:
                    if isinstance(event, Progress):
                        yield event
                    else:
                        result = event
            assert result is not None
            text = _text_of(result)
            decoded = decode(text)
            if not result.is_error and decoded.status in _OK_STATUSES:
                reply = decoded
            elif THREAD_EXPIRED.search(text) and "continuation_id" in args:
                yield Progress(
                    "PAL no longer holds this thread (it keeps threads in memory only): "
                    "starting a new one\n"
                )
                del args["continuation_id"]
            else:
                raise pal_error(text, secrets=self.connection.secrets)
        answer = reply.content.split(_AGENT_TRAILER, 1)[0].strip()
        if reply.continuation_id:
            yield Continuation(reply.continuation_id)
        if answer:
            yield TextDelta(answer)
        yield usage_of(reply.metadata)
        yield Finished("end_turn")

    def _arguments(self, request: ModelRequest) -> tuple[str, dict[str, Any]]:
        prompt = request.prompt
        if request.system.strip():
            prompt = f"{request.system.strip()}\n\n---\n\n{request.prompt}"
        target = clink_target(request.api_model)
        args: dict[str, Any] = {"prompt": prompt}
        if target is not None:
            tool = "clink"
            args["cli_name"] = target[0]
            if target[1]:
                args["role"] = target[1]
        else:
            tool = "chat"
            args["model"] = request.api_model
            args["working_directory_absolute_path"] = self._settings.working_directory or str(
                self._workdir
            )
            mode = thinking_mode(request.thinking)
            if mode is not None:
                args["thinking_mode"] = mode
        if request.continuation_id:
            args["continuation_id"] = request.continuation_id
        return tool, args

    async def _call(
        self, session: ClientSession, tool: str, args: dict[str, Any]
    ) -> AsyncGenerator[Progress | CallToolResult, None]:
        """The tool call, yielding each progress notification while it runs, then its result."""
        from mcp import MCPError

        lines: asyncio.Queue[str] = asyncio.Queue()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            lines.put_nowait(message or f"progress {progress:g}")

        call = asyncio.ensure_future(session.call_tool(tool, args, progress_callback=on_progress))
        try:
            while True:
                getter = asyncio.ensure_future(lines.get())
                done, _ = await asyncio.wait({call, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield Progress(f"{getter.result()}\n")
                    continue
                getter.cancel()
                break
            while not lines.empty():
                yield Progress(f"{lines.get_nowait()}\n")
            yield call.result()
        except MCPError as exc:
            await self.connection.reset()
            raise ProviderError(
                ErrorKind.CONNECTION if exc.code == -32000 else ErrorKind.BAD_REQUEST,
                f"PAL: {exc.message}",
            ) from None
        except (OSError, EOFError, RuntimeError) as exc:
            tail = self.connection.stderr_tail()
            await self.connection.reset()
            raise ProviderError(
                ErrorKind.CONNECTION,
                f"PAL connection failed: {type(exc).__name__}: {exc}"
                + (f"; its stderr ends: {tail}" if tail else ""),
            ) from None
        finally:
            if not call.done():
                call.cancel()
                with contextlib.suppress(BaseException):
                    await call


def thinking_mode(thinking: ThinkingSettings | None) -> str | None:
    """PAL's ``thinking_mode`` (minimal … max) for the model's thinking setting."""
    if thinking is None:
        return None
    value = (thinking.effort or thinking.level or "").lower()
    if value in ("max", "xhigh"):
        return "max"
    if value in ("high", "medium", "low", "minimal"):
        return value
    return "max" if thinking.budget_tokens else None


def _text_of(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def usage_of(meta: dict[str, Any]) -> Usage:
    """Token counts from a PAL reply's metadata: ``chat`` puts them at the top; ``clink`` passes
    on the CLI's own, as ``usage`` (codex, claude) or ``token_usage`` (gemini's ``stats``)."""
    if _int(meta.get("input_tokens")) or _int(meta.get("output_tokens")):
        return Usage(_int(meta.get("input_tokens")), _int(meta.get("output_tokens")))
    usage = meta.get("usage")
    if isinstance(usage, dict):  # claude counts cache reads and writes apart from input_tokens
        read = _int(usage.get("cache_read_input_tokens"))
        written = _int(usage.get("cache_creation_input_tokens"))
        return Usage(
            input_tokens=_int(usage.get("input_tokens")) + read + written,
            output_tokens=_int(usage.get("output_tokens")),
            cached_input_tokens=_int(usage.get("cached_input_tokens")) or read,
            cache_write_tokens=written,
        )
    tokens = meta.get("token_usage")
    if isinstance(tokens, dict):  # gemini: prompt (cached included), candidates, thoughts
        thoughts = _int(tokens.get("thoughts"))
        return Usage(
            input_tokens=_int(tokens.get("prompt")),
            output_tokens=_int(tokens.get("candidates")) + thoughts,
            thinking_tokens=thoughts,
            cached_input_tokens=_int(tokens.get("cached")),
        )
    return Usage()


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
