"""Clean cancellation: `q` and SIGTERM in the dashboard, Ctrl+C (SIGINT) and SIGTERM headless,
while seven streams run.

The session builds spec sections 2 and 3 (ten workstreams) with ``--max-parallel 7``: four HTTP
streams to the simulator (on its own thread, slowed so that nothing ends by itself) and three
CLI tools (the fake `codex` and `claude` of tests/fake_clis, which stream a first event, leave a
grandchild behind and then hang). Then the user stops it. Every time: the process exits within
``EXIT_BOUND_S`` (the measured figure is printed), with 130; the session is stored ``cancelled``
and no attempt is left running; every CLI tool and its grandchild is gone; the simulator sees
every connection closed; nothing on stderr about destroyed tasks, unclosed resources or
tracebacks; in-process (`q`), no asyncio task is left but the test's own.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.sim_thread import FAKE_KEYS, ThreadedSimulator, write_sim_config

from mao_tui.engine.sections import parse_selection, select_sections
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dialogs import Confirm

FAKE_CLI = Path(__file__).parent.parent / "fake_clis" / "fake_cli.py"
EXIT_BOUND_S = 5.0  # asserted; the goal is ~1 s, and the figure is printed
GUARD_S = 60.0
STREAMS = 7
CLI_STREAMS = 3  # s2.storage and s3.storage on codex, s2.tests on claude
TASK = "Build the snippet store."
ROUTES = {
    "storage": {"primary": "codex-cli", "fallbacks": ["gpt-6.2-sol"]},
    "tests": {"primary": "claude-cli-sonnet", "fallbacks": ["sonnet-5.5"]},
}


class Rig:
    """The simulator, the fake CLIs on a PATH, a configuration layer and a project folder."""

    def __init__(self, tmp_path: Path, sim: ThreadedSimulator) -> None:
        self.sim = sim
        self.project = tmp_path / "project"
        self.bin, self.log = tmp_path / "bin", tmp_path / "cli-log"
        for folder in (self.project, self.bin, self.log):
            folder.mkdir()
        for tool in ("codex", "claude"):
            wrapper = self.bin / tool
            wrapper.write_text(
                f"#!{sys.executable} -I\nimport runpy\n"
                f"runpy.run_path({str(FAKE_CLI)!r}, init_globals={{'TOOL': {tool!r}}}, "
                "run_name='__main__')\n",
                encoding="utf-8",
            )
            wrapper.chmod(0o755)
        self.spec = self.project / "spec.md"
        self.spec.write_text(demo_spec(), encoding="utf-8")
        cli_env = {"FAKE_CLI_SCENARIO": "hang", "FAKE_CLI_LOG": str(self.log)}
        extra = {
            "providers": {
                "codex-cli": {"cli": {"env": cli_env}},
                "claude-cli": {"cli": {"env": cli_env}},
            }
        }
        # A first event may take 4 s here, and a workstream waits up to 3 s for the first
        # request to its model (session_facts.py): the first-event timeout must outlast both.
        self.config = write_sim_config(
            tmp_path / "config", sim.base_url, timeout_s=10.0, extra=extra
        )
        (self.config / "routing.yaml").write_text(json.dumps({"routes": ROUTES}), encoding="utf-8")
        self.db = tmp_path / "mao.db"

    def env(self) -> dict[str, str]:
        path = f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**FAKE_KEYS, "PATH": path}

    def cli_processes(self) -> list[int]:
        """Live processes started by the fake CLIs of this test (tools and grandchildren)."""
        marker = f"FAKE_CLI_LOG={self.log}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue  # gone, or not ours
            if marker in environ.split(b"\0"):
                found.append(int(entry))
        return found


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    # Slow streams (speed 0.1: the first token after 4 s), so that nothing ends by itself.
    with ThreadedSimulator(speed=0.1) as sim:
        yield Rig(tmp_path, sim)


def _wait_for(what: str, done: Callable[[], bool]) -> None:
    """Poll external state (other processes, the simulator's thread) until ``done``."""
    deadline = time.monotonic() + GUARD_S
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _exits(pids: list[int], timeout_s: float) -> list[int]:
    """The pids still running after ``timeout_s`` (waiting on pidfds, not sampling)."""
    fds = {}
    for pid in pids:
        try:
            fds[os.pidfd_open(pid)] = pid
        except ProcessLookupError:
            continue
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    waiting, deadline = set(fds), time.monotonic() + timeout_s
    while waiting and (left := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(left * 1000):
            waiting.discard(fd)
            poller.unregister(fd)
    for fd in fds:
        os.close(fd)
    return [fds[fd] for fd in waiting]


def _stored_end(db: Path) -> tuple[str, list[tuple[str, str | None]]]:
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute("SELECT status FROM sessions").fetchone()
        attempts = conn.execute("SELECT status, error_kind FROM attempts").fetchall()
    return status, attempts


def _assert_all_closed(rig: Rig, tools: list[int], attempts: list[tuple[str, Any]]) -> None:
    assert len(attempts) >= STREAMS
    assert all(status != "running" for status, _ in attempts), attempts
    assert _exits(tools, 2.0) == [], "a CLI tool or its grandchild outlived the session"
    assert rig.cli_processes() == []
    _wait_for(
        "the simulator to see every connection closed", lambda: rig.sim.open_connections() == 0
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_while_seven_streams_run_ends_everything_within_the_bound(
    rig: Rig, sig: signal.Signals
) -> None:
    argv = [sys.executable, "-m", "mao_tui", "develop", TASK, "--spec", str(rig.spec)]
    argv += ["--sections", "2,3", "--max-parallel", str(STREAMS), "--no-planner", "--json"]
    argv += ["--config", str(rig.config), "--db", str(rig.db)]
    env = {**os.environ, **rig.env()}
    proc = subprocess.Popen(
        argv,
        cwd=rig.project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        started = 0
        while started < STREAMS:
            line = proc.stdout.readline()
            assert line, f"mao ended early: {proc.stderr.read()}"
            started += json.loads(line)["type"] == "attempt_started"
        _wait_for("the CLI tools", lambda: len(rig.cli_processes()) >= 2 * CLI_STREAMS)
        _wait_for("the HTTP streams", lambda: rig.sim.open_connections() >= STREAMS - CLI_STREAMS)
        tools = rig.cli_processes()
        signalled = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(GUARD_S)
        exit_s = time.monotonic() - signalled
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(f"\n{sig.name}: exited {code} in {exit_s * 1000:.0f} ms")
    assert code == 130, err
    assert exit_s < EXIT_BOUND_S
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "session_finished" and events[-1]["status"] == "cancelled"
    for problem in ("Traceback", "was destroyed", "never awaited", "Unclosed", "ResourceWarning"):
        assert problem not in err, err
    status, attempts = _stored_end(rig.db)
    assert status == "cancelled"
    assert {kind for _, kind in attempts} == {"cancelled"}
    _assert_all_closed(rig, tools, attempts)


@pytest.mark.parametrize("how", ["q", "sigterm"])
async def test_q_or_sigterm_in_the_dashboard_while_seven_streams_run_ends_everything(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    for name, value in rig.env().items():
        monkeypatch.setenv(name, value)
    spec = demo_spec()
    launch = Launch(
        project_dir=rig.project,
        config_dir=rig.config,
        db_path=rig.db,
        max_parallel=STREAMS,
    )
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=TASK,
        spec_text=spec,
        project_dir=rig.project,
        sections=select_sections(spec, parse_selection("2,3"), "spec.md"),
        use_planner=False,
    )
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, backend=AppBackend(launch))
    async with app.run_test(size=(160, 48)) as pilot:

        async def streams_running() -> None:
            while not (
                len(rig.cli_processes()) >= 2 * CLI_STREAMS
                and rig.sim.open_connections() >= STREAMS - CLI_STREAMS
            ):
                await pilot.pause(0.02)

        await asyncio.wait_for(streams_running(), GUARD_S)
        tools = rig.cli_processes()
        if how == "q":
            await pilot.press("q")
            assert isinstance(app.screen, Confirm)
            pressed = time.monotonic()
            await pilot.press("y")
        else:
            # The app's handler must be there: without it, the signal would end the test run.
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
            pressed = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)

        async def exited() -> None:
            while app.is_running:
                await pilot.pause(0.01)

        await asyncio.wait_for(exited(), GUARD_S)
        exit_s = time.monotonic() - pressed
    print(f"\n{how} (dashboard): the app exited {app.return_value} in {exit_s * 1000:.0f} ms")
    assert app.return_value == 130
    assert exit_s < EXIT_BOUND_S
    assert asyncio.all_tasks() == {asyncio.current_task()}
    status, attempts = _stored_end(rig.db)
    assert status == "cancelled"
    _assert_all_closed(rig, tools, attempts)
