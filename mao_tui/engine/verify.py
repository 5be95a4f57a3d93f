"""Run verification commands from configuration: argv without a shell, in the workspace, with a
timeout that kills the whole process group. Output is streamed line by line to a callback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mao_tui.sanitize import clean

TAIL_LINES = 60  # lines of output stored per command and sent to a fix round
MAX_KEPT_OUTPUT = 200_000  # characters of output kept per command; the rest is counted, not held


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    exit_code: int | None  # None: it did not finish (timeout, or could not start)
    output: str
    elapsed_s: float
    timed_out: bool = False
    error: str = ""  # why it could not start

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of output: what is stored and what a fix round is shown."""
        kept = self.output.splitlines()
        return "\n".join(kept[-lines:])


OnLine = Callable[[str], Awaitable[None]]


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_command(
    argv: list[str],
    cwd: Path,
    timeout_s: float,
    on_line: OnLine,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` in ``cwd`` with ``env`` over this process's environment."""
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        message = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
        await on_line(message)
        return CommandResult(argv, None, message, 0.0, error=message)
    kept: list[str] = []
    size = 0
    dropped = 0

    async def pump() -> None:
        nonlocal size, dropped
        assert proc.stdout is not None
        async for raw in proc.stdout:
            # It runs code a model wrote: its output is untrusted too (see sanitize.py).
            line = clean(raw.decode("utf-8", errors="replace").rstrip("\n"))
            if size < MAX_KEPT_OUTPUT:
                kept.append(line)
                size += len(line) + 1
            else:
                dropped += 1
            await on_line(line)
        await proc.wait()

    timed_out = False
    try:
        await asyncio.wait_for(pump(), timeout_s)
    except TimeoutError:
        timed_out = True
        _kill_group(proc)
        await proc.wait()
        await on_line(f"timed out after {timeout_s:g}s; killed the process group")
    except asyncio.CancelledError:
        _kill_group(proc)
        await proc.wait()
        raise
    finally:
        _kill_group(proc)  # whatever it left behind in its group goes too
    output = "\n".join(kept)
    if dropped:
        output += f"\n[{dropped} more lines not kept]"
    return CommandResult(
        argv,
        None if timed_out else proc.returncode,
        output,
        time.monotonic() - started,
        timed_out=timed_out,
    )
