"""A sandbox for verification commands, where the machine has one: no network, and writes only
into the workspace and a private ``/tmp``.

- Linux: bubblewrap (``bwrap``), as coding agents use it: the file system read-only, the
  workspace bound writable over it, a fresh tmpfs on ``/tmp``, new network and pid namespaces
  (so nothing the tests leave running outlives the command).
- macOS: ``sandbox-exec`` with a profile denying the network and writes outside the workspace
  and the temporary folders.

Whether it works is found by running ``true`` inside it once per process (a container without
user namespaces has ``bwrap`` but cannot use it); when it does not, commands run unconfined and
:attr:`Sandbox.note` says why, for the Verification pane, the store and ``--json``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Sandbox:
    """How commands run here: ``wrap`` confines an argv to a workspace, or None (unconfined)."""

    kind: str  # "bwrap", "sandbox-exec", or "" when none works
    note: str  # "sandboxed: …" or "not sandboxed: <reason>"

    @property
    def active(self) -> bool:
        return bool(self.kind)

    def wrap(self, argv: list[str], workspace: Path) -> list[str]:
        if self.kind == "bwrap":
            return [*_bwrap_argv(workspace), "--chdir", str(workspace), "--", *argv]
        if self.kind == "sandbox-exec":
            return ["sandbox-exec", "-p", _macos_profile(workspace), *argv]
        return argv


def unconfined(reason: str) -> Sandbox:
    return Sandbox("", f"not sandboxed: {reason}")


def _bwrap_argv(workspace: Path) -> list[str]:
    toolchains = [arg for path in _toolchains_in_tmp() for arg in ("--ro-bind-try", path, path)]
    return [
        "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--tmpfs", "/tmp",
        *toolchains,  # a virtual environment under /tmp stays visible, read-only
        "--bind", str(workspace), str(workspace),  # after /tmp: a workspace under /tmp stays
        "--unshare-net",
        "--unshare-pid",
        "--die-with-parent",
    ]  # fmt: skip


def _toolchains_in_tmp() -> list[str]:
    """The interpreter's prefix, the active virtual environment and the PATH entries that live
    under ``/tmp``: the private ``/tmp`` would hide them, and ``python`` would find another one."""
    candidates = [sys.prefix, os.environ.get("VIRTUAL_ENV", "")]
    candidates += os.environ.get("PATH", "").split(os.pathsep)
    found: list[str] = []
    for candidate in candidates:
        if not candidate:
            continue
        path = os.path.realpath(candidate)
        inside = any(path == f or path.startswith(f + "/") for f in found)
        if path.startswith("/tmp/") and not inside:
            found.append(path)
    return found


def _macos_profile(workspace: Path) -> str:
    temp = os.path.realpath(os.environ.get("TMPDIR", "/tmp"))
    allowed = " ".join(
        f'(subpath "{p}")' for p in (os.path.realpath(workspace), temp, "/private/tmp")
    )
    return (
        "(version 1)(allow default)(deny network*)"
        f'(deny file-write*)(allow file-write* {allowed} (literal "/dev/null"))'
    )


@functools.cache
def detect() -> Sandbox:
    """The sandbox this machine offers, tried for real once per process."""
    if sys.platform.startswith("linux"):
        if shutil.which("bwrap") is None:
            return unconfined("bubblewrap (bwrap) is not installed")
        return _probe(Sandbox("bwrap", "sandboxed: bubblewrap, no network, writes to workspace"))
    if sys.platform == "darwin":
        if shutil.which("sandbox-exec") is None:
            return unconfined("sandbox-exec is not available")
        return _probe(Sandbox("sandbox-exec", "sandboxed: sandbox-exec, no network"))
    return unconfined(f"no sandbox known on {sys.platform}")


def _probe(sandbox: Sandbox) -> Sandbox:
    folder = Path(tempfile.gettempdir())
    try:
        done = subprocess.run(
            sandbox.wrap(["true"], folder),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return unconfined(f"{sandbox.kind} did not run: {exc}")
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        return unconfined(f"{sandbox.kind} does not work here: {first}")
    return sandbox
