"""A command-line tool (claude, codex, gemini) as a :class:`~mao_tui.providers.base.Provider`.

One call is one process: started without a shell from an argv list, in the workspace directory,
in a process group of its own, with an explicit environment (:data:`BASE_ENV` plus the tool's own
variables named in ``env_pass``, plus fixed ``env`` values), so a stray API key in mao's own
environment never reaches it. Its stdout is read in chunks and split into lines as they arrive:
each line goes to the tool's parser at once, so deltas stream; only the current partial line
(``max_line_bytes``) and the tail of stderr are held. Whatever way the call ends (success,
failure, timeout, too much output, cancellation) its process group is gone after it: a tool still
running gets SIGTERM, then SIGKILL after ``kill_grace_s``, and anything it left running in its
group is killed the moment it exits. The engine's first-event, idle and total timeouts apply as
to any provider (every line counts as a sign of life); the request's read timeout is this
bridge's own idle limit behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.providers.base import ErrorKind, ModelRequest, StreamEvent
from mao_tui.providers.cli.drivers import parser_for
from mao_tui.providers.errors import error
from mao_tui.settings.cli import PLACEHOLDER, CliSettings

# Always passed through when set: what any program needs to find itself, its home and its locale.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")
_CHUNK = 64 * 1024
_STDERR_KEEP = 64 * 1024
_PROBE_TIMEOUT_S = 15.0


def template_values(request: ModelRequest, workdir: Path) -> dict[str, str | None]:
    thinking = request.thinking
    budget = thinking.budget_tokens if thinking else None
    return {
        "model": request.api_model,
        "system": request.system,
        "prompt": request.prompt,
        "workdir": str(workdir),
        "effort": thinking.effort if thinking else None,
        "thinking_budget": str(budget) if budget else None,
        "max_output_tokens": str(request.max_output_tokens),
    }


def render(template: str, values: Mapping[str, str | None], *, model_id: str = "") -> str:
    """``template`` with its placeholders filled; a value the model lacks is a clear error."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None:
            source = "thinking.budget_tokens" if name == "thinking_budget" else f"thinking.{name}"
            raise error(
                ErrorKind.BAD_REQUEST,
                f"the CLI template uses {{{name}}} but model {model_id!r} sets no {source}",
            )
        return value

    return PLACEHOLDER.sub(fill, template)


def child_env(
    cli: CliSettings,
    source: Mapping[str, str],
    values: Mapping[str, str | None] | None = None,
    *,
    model_id: str = "",
) -> dict[str, str]:
    """The tool's whole environment: allowed names from ``source``, then the fixed values.
    Without ``values`` (a probe, not a call) fixed values that need a placeholder are left out."""
    env = {name: source[name] for name in (*BASE_ENV, *cli.env_pass) if name in source}
    for name, template in cli.env.items():
        if values is not None:
            env[name] = render(template, values, model_id=model_id)
        elif not PLACEHOLDER.search(template):
            env[name] = template
    return env


def find_executable(name: str, env: Mapping[str, str]) -> str | None:
    """``name`` looked up on the tool's own PATH (a name with a slash is taken as a path)."""
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    path = env.get("PATH")
    return shutil.which(name, path=path) if path else None


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class CliProvider:
    """Runs one configured tool per call. Holds no connection: ``aclose`` has nothing to do."""

    def __init__(
        self,
        cli: CliSettings,
        *,
        env: Mapping[str, str],
        workdir: Path | None = None,
    ) -> None:
        self._cli = cli
        self._env = env
        self._workdir = workdir
        self._tool = Path(cli.executable).name

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        return self._events(request)

    async def aclose(self) -> None:
        return None

    async def _events(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        cli, tool = self._cli, self._tool
        workdir = self._workdir or Path.cwd()
        if not workdir.is_dir():
            raise error(ErrorKind.BAD_REQUEST, f"{tool}: workspace {workdir} is not a directory")
        values = template_values(request, workdir)
        argv = [render(item, values, model_id=request.model_id) for item in cli.argv]
        stdin = (
            None
            if cli.stdin is None
            else render(cli.stdin, values, model_id=request.model_id).encode("utf-8")
        )
        env = child_env(cli, self._env, values, model_id=request.model_id)
        exe = find_executable(cli.executable, env)
        if exe is None:
            where = env.get("PATH") or "no PATH in mao's environment"
            raise error(ErrorKind.NOT_FOUND, f"{tool}: executable not found on PATH ({where})")
        run = await _Run.start([exe, *argv[1:]], stdin=stdin, env=env, cwd=workdir, cli=cli)
        parser = parser_for(cli.driver, tool)
        try:
            async for line in run.lines(request.timeout_s, tool):
                for event in parser.feed(line):
                    yield event
            returncode, stderr = await run.wait(request.timeout_s, tool)
            for event in parser.end(returncode, stderr):
                yield event
        finally:
            await run.close()


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The standard stream protocol, plus an event set the moment the process exits.

    ``Process.wait()`` returns only once every pipe is closed too, and a grandchild that
    inherited stdout keeps it open: the exit itself is what lets the bridge kill the group."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


@dataclass
class _Run:
    """One started process and the tasks that feed its stdin, drain its stderr and reap it."""

    transport: asyncio.SubprocessTransport
    protocol: _Protocol
    cli: CliSettings
    stderr: bytearray = field(default_factory=bytearray)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        argv: list[str],
        *,
        stdin: bytes | None,
        env: dict[str, str],
        cwd: Path,
        cli: CliSettings,
    ) -> _Run:
        tool = Path(argv[0]).name
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(_CHUNK, loop),
                *argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError as exc:
            if exc.errno == errno.E2BIG:
                raise error(
                    ErrorKind.CONTEXT_LENGTH,
                    f"{tool}: the arguments are too long for the OS; put {{prompt}} in stdin",
                ) from None
            missing = exc.errno in (errno.ENOENT, errno.EACCES)
            kind = ErrorKind.NOT_FOUND if missing else ErrorKind.SERVER
            raise error(kind, f"{tool}: cannot start {argv[0]}: {exc.strerror}") from None
        except ValueError as exc:  # a NUL byte in an argument or the environment
            raise error(ErrorKind.BAD_REQUEST, f"{tool}: cannot start: {exc}") from None
        run = cls(transport, protocol, cli)
        run.tasks = [
            asyncio.create_task(run._feed(stdin)),
            asyncio.create_task(run._drain_stderr()),
            asyncio.create_task(run._reap()),
        ]
        return run

    @property
    def pgid(self) -> int:
        return self.transport.get_pid()

    async def _feed(self, data: bytes | None) -> None:
        pipe = self.protocol.stdin
        if pipe is None or data is None:
            return
        try:
            pipe.write(data)
            await pipe.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tool exited without reading it all: its exit status says why
        finally:
            pipe.close()

    async def _drain_stderr(self) -> None:
        pipe = self.protocol.stderr
        assert pipe is not None
        while chunk := await pipe.read(_CHUNK):
            self.stderr += chunk
            if len(self.stderr) > _STDERR_KEEP:
                del self.stderr[: len(self.stderr) - _STDERR_KEEP]

    async def _reap(self) -> None:
        await self.protocol.exited.wait()
        # Anything it left in its group is an orphan now, and may hold its pipes open.
        _killpg(self.pgid, signal.SIGKILL)

    async def lines(self, idle_s: float, tool: str) -> AsyncGenerator[bytes, None]:
        """stdout line by line as it arrives, without the newline."""
        pipe = self.protocol.stdout
        assert pipe is not None
        max_line, max_total = self.cli.max_line_bytes, self.cli.max_output_bytes
        buf = bytearray()
        total = 0
        while True:
            try:
                chunk = await asyncio.wait_for(pipe.read(_CHUNK), idle_s)
            except TimeoutError:
                raise error(ErrorKind.TIMEOUT, f"{tool}: no output for {idle_s:g} s") from None
            if not chunk:
                break
            total += len(chunk)
            if total > max_total:
                raise error(
                    ErrorKind.TRUNCATED,
                    f"{tool}: more than {max_total} bytes of output (max_output_bytes); stopped",
                )
            buf += chunk
            start = 0
            while (newline := buf.find(b"\n", start)) != -1:
                yield bytes(buf[start:newline])
                start = newline + 1
            del buf[:start]
            if len(buf) > max_line:
                raise error(
                    ErrorKind.TRUNCATED,
                    f"{tool}: a line of output longer than {max_line} bytes (max_line_bytes)",
                )
        if buf:
            yield bytes(buf)

    async def wait(self, idle_s: float, tool: str) -> tuple[int, str]:
        """The exit status and stderr, once stdout has ended."""
        try:
            await asyncio.wait_for(self.protocol.exited.wait(), idle_s)
        except TimeoutError:
            message = f"{tool}: closed its output but still running after {idle_s:g} s"
            raise error(ErrorKind.TIMEOUT, message) from None
        reap, drain = self.tasks[2], self.tasks[1]
        await reap  # its group is gone, so only a tool that escaped it can hold stderr open
        await asyncio.wait({drain}, timeout=idle_s)
        returncode = self.transport.get_returncode()
        assert returncode is not None
        return returncode, self.stderr.decode("utf-8", "replace")

    async def close(self) -> None:
        """Kill the process group (politely first), wait for the tool, close the pipes.
        Safe to call in any state, including while the calling task is being cancelled."""
        exited = self.protocol.exited
        if not exited.is_set():
            _killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(exited.wait(), self.cli.kill_grace_s)
        _killpg(self.pgid, signal.SIGKILL)
        await exited.wait()
        self.transport.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@dataclass(frozen=True)
class CliProbe:
    """What ``mao config check`` says about one tool."""

    executable: str | None  # the path found, None when the tool is not on PATH
    version: str | None = None
    missing_flags: list[str] = field(default_factory=list)  # argv flags its --help never names
    problem: str | None = None  # why a check could not be made

    @property
    def summary(self) -> str:
        """One line: ``claude 2.0.73 at /usr/bin/claude; flags accepted`` or what is wrong."""
        if self.executable is None:
            return f"✗ {self.problem or 'not found'}"
        head = f"{self.version or 'unknown version'} at {self.executable}"
        if self.problem:
            return f"✗ {head}; {self.problem}"
        if self.missing_flags:
            return f"✗ {head}; not in its --help: {', '.join(self.missing_flags)}"
        return f"✓ {head}; flags accepted"


def _run_sync(argv: list[str], env: dict[str, str]) -> tuple[str | None, str | None]:
    """(output, problem) of a short command; its process group is killed whatever happens."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return None, f"cannot start {argv[0]}: {exc.strerror}"
    try:
        out, _ = proc.communicate(timeout=_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, f"`{' '.join(argv[1:])}` took over {_PROBE_TIMEOUT_S:g} s"
    finally:
        _killpg(proc.pid, signal.SIGKILL)
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        return text, f"`{' '.join(argv[1:])}` exited with status {proc.returncode}: {first}"
    return text, None


def probe(cli: CliSettings, env: Mapping[str, str]) -> CliProbe:
    """Find the tool, ask its version, and check every flag of the argv against its --help."""
    child = child_env(cli, env)
    exe = find_executable(cli.executable, child)
    if exe is None:
        return CliProbe(None, problem="not found on PATH")

    def resolved(argv: list[str]) -> list[str]:
        head = exe if argv[0] == cli.executable else (find_executable(argv[0], child) or argv[0])
        return [head, *argv[1:]]

    out, problem = _run_sync(resolved(cli.version_command()), child)
    version = next((ln.strip() for ln in (out or "").splitlines() if ln.strip()), None)
    if problem:
        return CliProbe(exe, version, problem=problem)
    help_text = ""
    for command in cli.help_commands():
        out, problem = _run_sync(resolved(command), child)
        if problem:
            return CliProbe(exe, version, problem=problem)
        help_text += out or ""
    missing = [
        flag
        for flag in cli.flags()
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text)
    ]
    return CliProbe(exe, version, missing)
