"""Run verification commands from configuration: argv without a shell, in the workspace, in its
own process group, with an environment scrubbed of keys and tokens, in the machine's sandbox
where it has one (engine/sandbox.py). Output is read in bounded chunks and passed on line by line,
cleaned of control characters and redacted of secret values, to a callback.

The command's own exit ends it: output still arriving is read for :data:`DRAIN_S` more, then the
whole process group is killed, so a test that leaves a background process holding the output
pipe cannot keep verification waiting. A timeout or a cancellation kills the group too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.domain.redaction import Redactor, scrubbed_env
from mao_tui.domain.sanitize import clean
from mao_tui.engine.sandbox import Sandbox, unconfined

TAIL_LINES = 60  # lines of output stored per command and sent to a fix round
MAX_KEPT_OUTPUT = 20_000  # characters of output kept per command (its end); the rest is counted
READ_CHUNK = 64 * 1024  # bytes read at once: a line of any length never has to fit in a buffer
MAX_LINE = 16 * 1024  # characters of one line passed on at once; a longer line comes in pieces
DRAIN_S = 0.5  # after the command exits, how long output already on its way is still read


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    exit_code: int | None  # None: it did not finish (timeout, or could not start)
    output: str
    elapsed_s: float
    timed_out: bool = False
    error: str = ""  # why it could not start
    sandbox: str = ""  # "sandboxed: …" or "not sandboxed: <reason>"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of output: what is stored and what a fix round is shown;
        the marker of output cut, if any, stays at its head."""
        kept = self.output.splitlines()
        head = kept[:1] if kept and kept[0].startswith("[output cut: ") else []
        return "\n".join(head + kept[len(head) :][-lines:])


OnLine = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Confinement:
    """What a command may see and touch: the environment (secrets removed, ``env_pass`` names
    kept, its own ``env`` on top), the sandbox, and the redactor for its output."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    key_names: frozenset[str] = frozenset()  # every api_key_env of the registry
    sandbox: Sandbox = field(default_factory=lambda: unconfined("not requested"))

    @property
    def redactor(self) -> Redactor:
        return Redactor.of(self.environ, self.key_names)

    def env_for(self, env: Mapping[str, str], passed: list[str]) -> dict[str, str]:
        return {**scrubbed_env(self.environ, self.key_names, passed), **env}


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class _Output:
    """Lines of output as they come: cleaned, redacted, passed on; the last ``max_kept``
    characters are kept, and what was cut before them is counted for the marker."""

    def __init__(self, on_line: OnLine, redactor: Redactor, max_kept: int) -> None:
        self._on_line = on_line
        self._redact = redactor.redact
        self._max_kept = max_kept
        self._kept: deque[str] = deque()
        self._size = 0
        self.cut_chars = 0
        self.cut_lines = 0

    async def line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        for start in range(0, max(len(text), 1), MAX_LINE):
            # It runs code a model wrote: its output is untrusted too (see sanitize.py).
            piece = self._redact(clean(text[start : start + MAX_LINE]))
            self._keep(piece)
            await self._on_line(piece)

    def _keep(self, piece: str) -> None:
        if len(piece) >= self._max_kept:
            self.cut_chars += len(piece) - self._max_kept // 2
            piece = piece[-(self._max_kept // 2) :]
        self._kept.append(piece)
        self._size += len(piece) + 1
        while self._size > self._max_kept and self._kept:
            first = self._kept.popleft()
            self._size -= len(first) + 1
            self.cut_chars += len(first) + 1
            self.cut_lines += 1

    def text(self) -> str:
        output = "\n".join(self._kept)
        if self.cut_lines:
            marker = (
                f"[output cut: the first {self.cut_chars:,} characters ({self.cut_lines:,} "
                f"line(s)) are not kept; the limit is the last {self._max_kept:,}]"
            )
            output = f"{marker}\n{output}"
        return output


async def _pump(stream: asyncio.StreamReader, out: _Output) -> None:
    pending = b""
    while chunk := await stream.read(READ_CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            await out.line(line.rstrip(b"\r"))
        while len(pending) >= 4 * MAX_LINE:  # a line with no end in sight: pass it on in pieces
            await out.line(pending[: 4 * MAX_LINE])
            pending = pending[4 * MAX_LINE :]
    if pending:
        await out.line(pending)


class _ExitAware(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the process itself exits: ``Process.wait()`` also waits for every pipe to
    close, which a background process the command started may keep open for ever."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=READ_CHUNK, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def _spawn(
    argv: list[str], cwd: Path, env: Mapping[str, str]
) -> tuple[asyncio.subprocess.Process, asyncio.Event]:
    loop = asyncio.get_running_loop()
    protocol = _ExitAware(loop)
    transport, _ = await loop.subprocess_exec(
        lambda: protocol,
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed whole at the end
    )
    return asyncio.subprocess.Process(transport, protocol, loop), protocol.exited


def _require_program(program: str, cwd: Path, path: str) -> None:
    """FileNotFoundError (or PermissionError) unless ``program`` would start, as exec says."""
    if os.sep in program:
        candidate = cwd / program
        if not candidate.exists():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        if not os.access(candidate, os.X_OK) or candidate.is_dir():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)
    elif shutil.which(program, path=path) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


async def run_command(
    argv: list[str],
    cwd: Path,
    timeout_s: float,
    on_line: OnLine,
    env: Mapping[str, str] | None = None,
    *,
    env_pass: list[str] | None = None,
    confinement: Confinement | None = None,
    max_output: int = MAX_KEPT_OUTPUT,
) -> CommandResult:
    """Run ``argv`` in ``cwd`` under ``confinement`` (default: the scrubbed environment of this
    process, unconfined), with ``env`` over the environment."""
    confinement = confinement or Confinement()
    sandbox = confinement.sandbox
    out = _Output(on_line, confinement.redactor, max_output)
    started = time.monotonic()
    environ = confinement.env_for(env or {}, env_pass or [])
    try:
        if sandbox.active:  # inside it, a missing program would be the sandbox's own error
            _require_program(argv[0], cwd, environ.get("PATH", os.defpath))
        proc, exited = await _spawn(sandbox.wrap(argv, cwd), cwd, environ)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        message = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
        await on_line(message)
        return CommandResult(argv, None, message, 0.0, error=message, sandbox=sandbox.note)
    assert proc.stdout is not None
    reader = asyncio.create_task(_pump(proc.stdout, out))
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await exited.wait()
        except TimeoutError:
            timed_out = True
        _kill_group(proc)  # whatever it left behind in its group goes too
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), DRAIN_S)
    finally:
        _kill_group(proc)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if not exited.is_set():  # cancelled before it ended: it was killed above
            await asyncio.shield(exited.wait())
        transport = getattr(proc, "_transport", None)
        if transport is not None:  # a pipe a stray process still holds: stop watching it
            transport.close()
    if timed_out:
        await on_line(f"timed out after {timeout_s:g}s; killed the process group")
    return CommandResult(
        argv,
        None if timed_out else proc.returncode,
        out.text(),
        time.monotonic() - started,
        timed_out=timed_out,
        sandbox=sandbox.note,
    )
