"""Whether a check can run here: its executable on PATH (or at its path), the files it needs,
its probe. A check that cannot is "not available" with the reason, never a failure: it says
nothing about the code."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
from pathlib import Path

from mao_tui.settings.schema import VerificationCommand

PROBE_TIMEOUT_S = 30.0


async def unavailable_reason(command: VerificationCommand, workspace: Path) -> str:
    """Why ``command`` cannot run in ``workspace``; empty when it can."""
    hint = f"; {command.hint}" if command.hint else ""
    path = command.env.get("PATH", os.environ.get("PATH", os.defpath))
    missing = _missing_executable(command.argv[0], workspace, path)
    if missing:
        return f"{missing}{hint}"
    for needed in command.requires:
        if not (workspace / needed).exists():
            return f"{needed} is missing{hint}"
    if command.probe:
        missing = _missing_executable(command.probe[0], workspace, path)
        if missing:
            return f"{missing}{hint}"
        if not await _probe_passes(command.probe, workspace, command.env):
            return f"`{shlex.join(command.probe)}` failed{hint}"
    return ""


def _missing_executable(program: str, workspace: Path, path: str) -> str:
    if os.sep in program:
        target = Path(program) if Path(program).is_absolute() else workspace / program
        if os.access(target, os.X_OK) and target.is_file():
            return ""
        return f"{program} does not exist or is not executable"
    if shutil.which(program, path=path) is None:
        return f"{program!r} is not on PATH"
    return ""


async def _probe_passes(argv: list[str], workspace: Path, env: dict[str, str]) -> bool:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=workspace,
            env={**os.environ, **env} if env else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(proc.wait(), PROBE_TIMEOUT_S) == 0
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return False
