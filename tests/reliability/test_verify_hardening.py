"""Verification runs code a model wrote: through `mao develop --apply --yes` on the simulator,
its tests get no key, its output keeps none (stored, printed, or sent to the fix round's model),
the sandbox (where bubblewrap works) cuts the network and confines writes, a background process
it leaves behind neither holds verification up nor outlives it, and output of any shape is
read and capped."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.sim_thread import FAKE_KEYS, MARKER, ThreadedSimulator, write_sim_config

from mao_tui.cli import main
from mao_tui.domain.redaction import Redactor, is_secret_name, scrubbed_env
from mao_tui.engine import sandbox
from mao_tui.engine.verify import Confinement, run_command
from mao_tui.simulator import scripts

SANDBOX = sandbox.detect()
needs_sandbox = pytest.mark.skipif(
    not SANDBOX.active, reason=f"no working sandbox on this machine ({SANDBOX.note})"
)
OTHER_SECRET = ("DEPLOY_TOKEN", f"{MARKER}-deploy-5e1a77c2")
# A name only the registry says is a key (api_key_env), shaped like no secret.
REGISTRY_KEY = ("LLM_GATEWAY", f"{MARKER}-gateway-0b9d4c31")

# A test "the model wrote": it records what it could see and do, prints its environment, and
# fails, so that its output goes to the store, the terminal and the fix round's prompt.
ENV_TEST = """\
import json, os, socket

def test_environment():
    seen = {"env": dict(os.environ), "net": "open", "outside": "written"}
    try:
        socket.create_connection(("127.0.0.1", int(os.environ["SIM_PORT"])), timeout=3).close()
    except OSError as exc:
        seen["net"] = f"blocked: {exc}"
    try:
        with open(os.environ["OUTSIDE_FILE"], "w") as f:
            f.write("escaped")
    except OSError as exc:
        seen["outside"] = f"blocked: {exc}"
    with open("env_seen.json", "w") as f:
        json.dump(seen, f)
    for name, value in sorted(os.environ.items()):
        print(f"{name}={value}")
    raise AssertionError("printed the environment")
"""


def _with_env_test(broken: bool) -> dict[str, str]:
    return {**_PROJECT(broken), "tests/test_env_dump.py": ENV_TEST}


_PROJECT: Callable[[bool], dict[str, str]] = scripts.project_files


def _repo(path: Path, verify_yaml: str) -> Path:
    (path / ".git").mkdir(parents=True)
    (path / ".mao").mkdir()
    (path / ".mao" / "verify.yaml").write_text(verify_yaml, encoding="utf-8")
    return path


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


@pytest.mark.parametrize(
    "sandboxed", [pytest.param(True, marks=needs_sandbox, id="sandboxed"), False]
)
def test_a_model_written_test_sees_no_key_and_no_key_leaves_verification(
    sandboxed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, key in (*FAKE_KEYS.items(), OTHER_SECRET, REGISTRY_KEY):
        monkeypatch.setenv(name, key)
    monkeypatch.setattr(scripts, "project_files", _with_env_test)
    # Outside the workspace and outside /tmp (which the sandbox replaces with a private one).
    outside = Path("/var/tmp") / f"mao-test-{os.getpid()}-{tmp_path.name}.txt"
    outside.unlink(missing_ok=True)
    monkeypatch.setenv("OUTSIDE_FILE", str(outside))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/"]
    repo = _repo(
        tmp_path / "repo",
        "develop:\n  - "
        + json.dumps(
            {"name": "tests", "argv": argv, "env_pass": ["OPENAI_API_KEY"], "sandbox": sandboxed}
        )
        + "\n",
    )
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    with ThreadedSimulator() as sim:
        monkeypatch.setenv("SIM_PORT", sim.base_url.rsplit(":", 1)[1])
        google = {"base_url": sim.base_url, "timeout_s": 3.0,
                  "api_key_env": ["GEMINI_API_KEY", REGISTRY_KEY[0]]}  # fmt: skip
        config = write_sim_config(
            tmp_path / "config", sim.base_url, extra={"providers": {"google": google}}
        )
        code = main(
            ["develop", "Build the snippet store", "--no-planner", "--apply", "--yes", "--in-place",
             "--json", "--fix-rounds", "1", "--config", str(config), "--db", str(db)]
        )  # fmt: skip
        requests = list(sim.sim.requests)
    printed = "".join(capsys.readouterr())
    assert code == 1  # the env test fails in both rounds

    seen = json.loads((repo / "env_seen.json").read_text())
    env = seen["env"]
    assert "ANTHROPIC_API_KEY" not in env and "GEMINI_API_KEY" not in env
    assert "DEPLOY_TOKEN" not in env and REGISTRY_KEY[0] not in env
    assert env["OPENAI_API_KEY"] == FAKE_KEYS["OPENAI_API_KEY"]  # env_pass let it through
    assert env["PATH"] == os.environ["PATH"] and "HOME" in env  # the rest is kept

    # What the test printed went to the store, stdout and the fix round's model, redacted.
    tails = [t for (t,) in _rows(db, "SELECT output_tail FROM verifications ORDER BY id")]
    assert len(tails) == 2 and all("[redacted $OPENAI_API_KEY]" in t for t in tails)
    fix = [r for r in requests if r.workstream == "fix1"]
    assert fix and "[redacted $OPENAI_API_KEY]" in json.dumps(fix[0].body)
    bodies = json.dumps([r.body for r in requests])
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("mao.db*"))
    for value in (*FAKE_KEYS.values(), OTHER_SECRET[1], REGISTRY_KEY[1]):
        assert value not in printed and value not in bodies and value.encode() not in stored

    notes = [n for (n,) in _rows(db, "SELECT sandbox FROM verifications")]
    events = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    started = [e["sandbox"] for e in events if e["type"] == "verification_started"]
    if sandboxed:
        assert seen["net"].startswith("blocked") and seen["outside"].startswith("blocked")
        assert not outside.exists()
        assert notes == started == [SANDBOX.note] * 2 and SANDBOX.note.startswith("sandboxed")
    else:  # the same test can reach both: what it found above is the sandbox's doing
        assert seen["net"] == "open" and outside.read_text() == "escaped"
        outside.unlink()
        assert notes == ["not sandboxed: sandbox: false in this verification command"] * 2


def test_without_a_working_sandbox_it_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.detect.cache_clear()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        assert sandbox.detect().note == "not sandboxed: bubblewrap (bwrap) is not installed"
    finally:
        sandbox.detect.cache_clear()
    broken = sandbox.Sandbox("bwrap", "sandboxed")
    monkeypatch.setattr(sandbox, "_bwrap_argv", lambda ws: ["false"])
    probed = sandbox._probe(broken)
    assert not probed.active and probed.note.startswith("not sandboxed: bwrap does not work here")


def test_secret_names_and_redaction() -> None:
    secret = ["OPENAI_API_KEY", "GH_TOKEN", "AWS_REGION", "DB_PASSWORD", "SECRET_KEY_BASE",
              "GOOGLE_APPLICATION_CREDENTIALS", "ANTHROPIC_AUTH_TOKEN", "GITHUB_PAT"]  # fmt: skip
    for name in secret:
        assert is_secret_name(name), name
    for name in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV", "KEYBOARD", "PWD", "TERM"):
        assert not is_secret_name(name), name
    assert is_secret_name("MY_LLM", ["MY_LLM"])  # an api_key_env of the registry
    environ = {"PATH": "/bin", "MY_LLM": "llm-value-123", "GH_TOKEN": 'to"ken-456', "X_KEY": "1"}
    assert scrubbed_env(environ, ["MY_LLM"], ["GH_TOKEN"]) == {
        "PATH": "/bin", "GH_TOKEN": 'to"ken-456'}  # fmt: skip
    redact = Redactor.of(environ, ["MY_LLM"]).redact
    assert redact("a llm-value-123 b") == "a [redacted $MY_LLM] b"
    assert redact(json.dumps({"v": 'to"ken-456'})) == '{"v": "[redacted $GH_TOKEN]"}'
    assert redact("X_KEY=1") == "X_KEY=1"  # too short to be a key: left alone


# -- item 5: a background process holding the pipe --------------------------------------


def _ended(pid: int) -> bool:
    """True once ``pid`` has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.mark.parametrize(
    "sandboxed", [pytest.param(True, marks=needs_sandbox, id="sandboxed"), False]
)
def test_a_background_process_neither_holds_verification_nor_outlives_it(
    sandboxed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    step = {
        "name": "leaves-sleep",
        "argv": ["sh", "-c", "sleep 600 & echo $$ > shell.pid; echo started; exit 0"],
        "timeout_s": 60,
        "sandbox": sandboxed,
    }
    repo = _repo(tmp_path / "repo", f"develop:\n  - {json.dumps(step)}\n")
    monkeypatch.chdir(repo)
    began = time.monotonic()
    code = main(
        ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
         "--apply", "--yes", "--in-place", "--db", str(tmp_path / "mao.db")]
    )  # fmt: skip
    took = time.monotonic() - began
    err = capsys.readouterr().err
    assert code == 0, err
    assert took < 20, f"verification waited {took:.0f}s for a pipe a background process held"
    assert "✓ verify leaves-sleep: passed" in err
    assert "Event loop is closed" not in err
    sleepers = [
        p.name
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p) == "sleep\x00600\x00" and _env_has(p, f"PWD={repo}")
    ]
    assert [pid for pid in sleepers if not _ended(int(pid))] == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_text()
    except OSError:
        return ""


def _env_has(proc: Path, entry: str) -> bool:
    try:
        return entry.encode() in (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


async def test_a_cancelled_command_has_its_group_killed(tmp_path: Path) -> None:
    started = asyncio.Event()
    watched: list[int] = []  # a pidfd of the background sleep

    async def on_line(line: str) -> None:
        if line.isdigit():
            watched.append(os.pidfd_open(int(line)))
            started.set()

    argv = ["sh", "-c", "sleep 600 & echo $!; wait"]
    task = asyncio.create_task(run_command(argv, tmp_path, 60, on_line))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A pidfd becomes readable when its process has ended: an event to await, not a sleep.
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(watched[0], ended.set)
    try:
        await asyncio.wait_for(ended.wait(), 10)
    finally:
        loop.remove_reader(watched[0])
        os.close(watched[0])


# -- item 6: output of any shape -------------------------------------------------------


def test_a_line_over_64_kib_is_read_and_the_stored_output_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = "import sys; print('x' * 300_000); print('tail line'); sys.exit(1)"
    step = {"name": "long-line", "argv": [sys.executable, "-c", code], "max_output_chars": 5000}
    repo = _repo(tmp_path / "repo", f"develop:\n  - {json.dumps(step)}\n")
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    code_ = main(
        ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
         "--apply", "--yes", "--in-place", "--fix-rounds", "0", "--db", str(db)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code_ == 1 and "Separator is not found" not in err and "Traceback" not in err
    assert "✗ verify long-line: failed (exit 1)" in err
    ((tail, exit_code),) = _rows(db, "SELECT output_tail, exit_code FROM verifications")
    assert exit_code == 1
    assert tail.startswith("[output cut: the first ") and "the limit is the last 5,000]" in tail
    assert tail.endswith("tail line") and len(tail) < 5000 + 200


async def test_output_without_newlines_streams_in_bounded_pieces(tmp_path: Path) -> None:
    lines: list[str] = []

    async def on_line(line: str) -> None:
        lines.append(line)

    code = "import sys; sys.stdout.write('y' * 1_000_000)"
    result = await run_command(
        [sys.executable, "-c", code], tmp_path, 30, on_line, confinement=Confinement()
    )
    assert result.exit_code == 0
    assert sum(map(len, lines)) == 1_000_000 and max(map(len, lines)) <= 16 * 1024


def test_a_toolchain_under_tmp_stays_visible_in_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox's private /tmp must not hide a virtual environment or a PATH entry that
    lives under /tmp (CI's venv does): the command would not start, or find another python."""
    box = sandbox.detect()
    if not box.active or box.kind != "bwrap":
        pytest.skip(f"no bubblewrap sandbox here ({box.note})")
    import tempfile

    tools = Path(tempfile.mkdtemp(prefix="mao-tools-", dir="/tmp"))
    try:
        tool = tools / "mao-sandbox-probe"
        tool.write_text("#!/bin/sh\necho visible\n", encoding="utf-8")
        tool.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
        import subprocess

        done = subprocess.run(
            box.wrap([tool.name], tmp_path), capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stdout.strip()) == (0, "visible"), done.stderr
        write = box.wrap(["sh", "-c", f"echo x > {tools}/written"], tmp_path)
        assert subprocess.run(write, capture_output=True, check=False).returncode != 0
        assert not (tools / "written").exists()  # visible, but read-only
    finally:
        import shutil

        shutil.rmtree(tools)
