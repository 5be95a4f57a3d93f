"""Provider kind ``pal``: the real PAL MCP server (pal-mcp-server, in its own virtual environment)
over stdio, with its custom OpenAI-compatible endpoint pointed at the simulator.

``.ci/run`` installs PAL into its own venv and exports ``MAO_PAL_SERVER``; PAL installs top-level
modules named ``providers``, ``config``, ``conf`` and ``clink``, so it must never share mao's.
"""

from __future__ import annotations

import json
import math
import os
import re
import runpy
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.pal import PAL_MODEL, request

from mao_tui.domain import (
    AttemptFinished,
    Delta,
    EngineEvent,
    FallbackEvent,
    PlannedWorkstream,
    WorkstreamFinished,
)
from mao_tui.engine.chain import ChainRunner
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.session import SessionRequest
from mao_tui.providers.base import (
    Continuation,
    ErrorKind,
    Finished,
    ModelRequest,
    Progress,
    ProviderError,
    StreamEvent,
    TextDelta,
    Usage,
)
from mao_tui.providers.pal.provider import PalProvider
from mao_tui.service.launch import SIM_KEY, Launch, run_session, simulator_overlay
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.pal import PalSettings
from mao_tui.settings.schema import Settings
from mao_tui.simulator.faults import FaultRule
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store

PAL_ENV = "MAO_PAL_SERVER"
API_FALLBACK = "gpt-5.2"
SHIPPED = load_settings([shipped_config_dir()])


def find_pal() -> str | None:
    """The pal-mcp-server executable: $MAO_PAL_SERVER (set by .ci/run), the venv .ci/run
    makes, or one on PATH."""
    named = os.environ.get(PAL_ENV)
    if named:
        return named
    default = Path(os.environ.get("TMPDIR", "/tmp")) / "mao-pal-venv" / "bin" / "pal-mcp-server"
    if default.exists():
        return str(default)
    return shutil.which("pal-mcp-server")


@pytest.fixture(scope="module")
def pal_server() -> str:
    found = find_pal()
    if found is None:
        reason = (
            f"pal-mcp-server is not installed (set ${PAL_ENV}, or run .ci/run, which installs "
            "it into its own virtual environment)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


def custom_models(tmp_path: Path) -> Path:
    """PAL's registry file for its custom endpoint: the one model the tests ask it for."""
    path = tmp_path / "custom_models.json"
    model = {
        "model_name": PAL_MODEL,
        "aliases": [],
        "context_window": 128000,
        "max_output_tokens": 16000,
        "supports_extended_thinking": False,
        "description": "the mao simulator",
        "intelligence_score": 5,
    }
    path.write_text(json.dumps({"models": [model]}), encoding="utf-8")
    return path


def pal_section(
    pal_server: str, sim: Simulator, tmp_path: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "command": [pal_server],
        "env_pass": [],  # no real key reaches PAL: only its custom endpoint is configured
        "env": {
            "CUSTOM_API_URL": f"{sim.base_url}/v1",
            "CUSTOM_MODELS_CONFIG_PATH": str(custom_models(tmp_path)),
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        },
    }


def pal_layer(
    pal_server: str,
    sim: Simulator,
    tmp_path: Path,
    api_model: str = PAL_MODEL,
    env: dict[str, str] | None = None,
) -> Path:
    """A configuration layer: every API provider on the simulator, a `pal` provider, and the
    Schemas workstream routed to a PAL model (``api_model``) with a direct-API fallback."""
    layer = tmp_path / "layer"
    layer.mkdir(exist_ok=True)
    providers = simulator_overlay(SHIPPED, sim.base_url)["providers"]
    providers["pal"] = {"kind": "pal", "pal": pal_section(pal_server, sim, tmp_path, env)}
    models = {
        "global": {"retry": {"max_retries": 0}},
        "providers": providers,
        "models": {
            "qwen-pal": {
                "provider": "pal",
                "api_model": api_model,
                "display_name": "Qwen3 via PAL",
                "context_window": 128000,
                "max_output_tokens": 16000,
                "thinking": {"effort": "high"},
                "prices": {"input": 0, "cached_input": 0, "output": 0},
            }
        },
    }
    (layer / "models.yaml").write_text(yaml.safe_dump(models), encoding="utf-8")
    routes = {"schemas": {"primary": "qwen-pal", "fallbacks": [API_FALLBACK]}}
    (layer / "routing.yaml").write_text(yaml.safe_dump({"routes": routes}), encoding="utf-8")
    return layer


class Recorder:
    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    async def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[EngineEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def run(
    pal_server: str,
    sim: Simulator,
    tmp_path: Path,
    db_path: Path,
    api_model: str = PAL_MODEL,
    env: dict[str, str] | None = None,
) -> tuple[Recorder, Any, Any]:
    layer = pal_layer(pal_server, sim, tmp_path, api_model, env)
    workspace = tmp_path / "project"
    workspace.mkdir()
    launch = Launch(project_dir=workspace, config_dir=layer, db_path=db_path)
    req = SessionRequest(command="develop", playbook="develop", task="Build the snippet store.",
                         project_dir=workspace, use_planner=False)  # fmt: skip
    env = {n: SIM_KEY for n in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")}
    rec = Recorder()
    finished = await run_session(launch, req, [rec], env=env)
    store = await Store.open(db_path)
    try:
        detail = await store.get_session(finished.session_id)
    finally:
        await store.close()
    return rec, finished, detail


async def test_a_workstream_goes_through_pal_to_the_simulator_and_back(
    pal_server: str, sim: Simulator, tmp_path: Path, db_path: Path
) -> None:
    rec, finished, detail = await run(pal_server, sim, tmp_path, db_path)
    assert finished.status == "done"
    used = {e.workstream: e.model for e in rec.of(WorkstreamFinished)}
    assert used["schemas"] == "qwen-pal"
    assert not rec.of(FallbackEvent)
    # PAL called the simulator's Chat Completions, unstreamed, for the model we passed through,
    # with the Schemas workstream's prompt inside its own.
    (call,) = [r for r in sim.requests if r.model == PAL_MODEL]
    assert call.path == "/v1/chat/completions" and call.body["stream"] is False
    assert call.workstream == "schemas"
    (attempt,) = detail.attempts_for("schemas")
    assert attempt.status == "ok" and attempt.model == "qwen-pal"
    answer = call_answer(sim, call)
    assert attempt.output_text == answer  # the whole answer, without PAL's hand-off trailer
    assert "AGENT'S TURN" not in attempt.output_text
    # PAL's progress notifications were shown while the call ran, and kept with the attempt.
    assert f"chat · {PAL_MODEL} · thinking" in attempt.thinking_text
    assert re.search(r"^PAL \d+\.\d+\.\d+ ready: \d+ tools$", attempt.thinking_text, re.MULTILINE)
    text_deltas = [d for d in rec.of(Delta) if d.attempt_id == attempt.id and d.channel == "text"]
    assert len(text_deltas) == 1  # PAL does not stream
    assert attempt.input_tokens > 0 and attempt.output_tokens > 0
    # PAL's thread is stored with the attempt, for a rerun to continue.
    (finish,) = [e for e in rec.of(AttemptFinished) if e.attempt_id == attempt.id]
    assert finish.continuation_id
    with sqlite3.connect(db_path) as conn:
        (stored,) = conn.execute(
            "SELECT continuation_id FROM attempts WHERE id = ?", (attempt.id,)
        ).fetchone()
    assert stored == finish.continuation_id
    # Its output went into the synthesis like any other workstream's.
    (synth,) = [r for r in sim.requests if r.workstream == "synthesis"]
    assert answer[:60] in json.dumps(synth.body, ensure_ascii=False).replace("\\n", "\n")


def call_answer(sim: Simulator, call: Any) -> str:
    """What the simulator answered to ``call`` (its script for the detected workstream)."""
    from mao_tui.simulator.scripts import script_for

    messages = call.body["messages"]
    text = "\n".join(str(m.get("content", "")) for m in messages)
    return script_for(call.workstream, text).answer.strip()


FAKE_CLI = Path(__file__).parent.parent / "fake_clis" / "fake_cli.py"


def install_fake_codex(bin_dir: Path, log_dir: Path) -> None:
    """A `codex` on ``bin_dir`` running tests/fake_clis/fake_cli.py, whose `codex exec --json`
    JSONL is what PAL's codex_jsonl parser reads. The log directory is set in the wrapper:
    clink hands the CLI only an allowlist of variables (PATH, HOME, OPENAI_*, CODEX_*, ...)."""
    wrapper = bin_dir / "codex"
    wrapper.write_text(
        f"#!{sys.executable} -I\n"
        "import os, runpy\n"
        f"os.environ['FAKE_CLI_LOG'] = {str(log_dir)!r}\n"
        f"runpy.run_path({str(FAKE_CLI)!r}, init_globals={{'TOOL': 'codex'}}, "
        "run_name='__main__')\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)


async def test_a_clink_model_runs_the_cli_through_pal_and_its_answer_is_the_output(
    pal_server: str, sim: Simulator, tmp_path: Path, db_path: Path
) -> None:
    bin_dir, log_dir, home = (tmp_path / name for name in ("bin", "log", "home"))
    for directory in (bin_dir, log_dir, home):
        directory.mkdir()
    install_fake_codex(bin_dir, log_dir)
    # The fake first on PATH; a HOME of its own, so no ~/.pal/cli_clients override applies.
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(home)}
    rec, finished, detail = await run(
        pal_server, sim, tmp_path, db_path, api_model="clink:codex", env=env
    )
    assert finished.status == "done"
    assert not rec.of(FallbackEvent)
    # PAL ran the fake `codex exec --json ...` once, with mao's Schemas prompt inside its own.
    ran = json.loads((log_dir / "codex-run.json").read_text(encoding="utf-8"))
    assert ran["argv"][:2] == ["exec", "--json"]
    stdin: str = ran["stdin"]
    assert "you own the **Schemas** workstream" in stdin and "Build the snippet store." in stdin
    fake = runpy.run_path(str(FAKE_CLI), init_globals={"TOOL": "codex"}, run_name="fake_cli")
    answer: str = fake["answer_text"](stdin).strip()
    assert "FAKE-CODEX-ANSWER" in answer
    (attempt,) = detail.attempts_for("schemas")
    assert attempt.status == "ok" and attempt.model == "qwen-pal"
    assert attempt.output_text == answer  # the CLI's reply, without PAL's hand-off trailer
    assert "clink · codex CLI · default · exited 0 in " in attempt.thinking_text
    usage = attempt.usage  # the CLI's own counts, passed on by clink's metadata
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (2000, 500, 600)
    # The simulator never saw the Schemas workstream: its answer came only through clink.
    assert [r for r in sim.requests if r.workstream == "schemas"] == []
    assert [r for r in sim.requests if r.model == PAL_MODEL] == []
    (synth,) = [r for r in sim.requests if r.workstream == "synthesis"]
    assert answer[:60] in json.dumps(synth.body, ensure_ascii=False).replace("\\n", "\n")


async def test_a_pal_failure_falls_back_to_a_direct_provider(
    pal_server: str, tmp_path: Path, db_path: Path
) -> None:
    # The simulator refuses PAL's request (401): PAL does not retry it, mao falls back.
    async with Simulator(speed=math.inf, faults=[FaultRule("auth", model=PAL_MODEL)]) as sim:
        _, finished, detail = await run(pal_server, sim, tmp_path, db_path)
    assert finished.status == "done"
    (fb,) = detail.fallbacks
    assert fb.line == f"Schemas: fallback from qwen-pal to {API_FALLBACK} (auth)"
    assert "PAL:" in fb.detail and "401" in fb.detail
    failed, ok = detail.attempts_for("schemas")
    assert (failed.model, failed.status, failed.error_kind) == ("qwen-pal", "failed", "auth")
    assert (ok.model, ok.status) == (API_FALLBACK, "ok") and ok.output_text
    assert [r.model for r in sim.requests if r.model == PAL_MODEL] == [PAL_MODEL]


def chain_settings(pal_server: str, sim: Simulator, tmp_path: Path) -> Settings:
    layer = pal_layer(pal_server, sim, tmp_path)
    return load_settings([shipped_config_dir(), layer])


async def test_a_rerun_continues_the_same_pal_thread(
    pal_server: str, sim: Simulator, tmp_path: Path
) -> None:
    settings = chain_settings(pal_server, sim, tmp_path)
    rec = Recorder()
    pool = ProviderPool(settings, {}, workdir=tmp_path)
    runner = ChainRunner(settings, pool, rec)
    ws = PlannedWorkstream(key="schemas", title="Schemas", route="schemas", chain=["qwen-pal"])
    prompts = ("You own the Schemas workstream.", "## Workstream: Schemas\nDesign them.")
    try:
        first = await runner.run_chain("S-1", ws, prompts)
        second = await runner.run_chain("S-1", ws, prompts)
    finally:
        await pool.aclose()
    assert first.status == second.status == "done"
    one, two = rec.of(AttemptFinished)
    assert one.continuation_id and two.continuation_id == one.continuation_id
    # The second request to the model carries the first exchange: PAL continued the thread.
    calls = [r for r in sim.requests if r.model == PAL_MODEL]
    assert len(calls) == 2
    assert first.text[:40] not in json.dumps(calls[0].body)
    assert first.text[:40] in json.dumps(calls[1].body, ensure_ascii=False).replace("\\n", "\n")


async def collect(provider: PalProvider, req: ModelRequest) -> list[StreamEvent]:
    return [event async for event in provider.stream(req)]


async def test_the_provider_lists_tools_passes_the_model_and_thinking_and_ends_cleanly(
    pal_server: str, sim: Simulator, tmp_path: Path
) -> None:
    settings = PalSettings.model_validate(pal_section(pal_server, sim, tmp_path))
    provider = PalProvider(settings, env={}, workdir=tmp_path)
    try:
        events = await collect(provider, request())
        info = provider.connection.info
        assert info is not None and info.name == "PAL"
        assert {"chat", "clink", "listmodels"} <= set(info.tools)
        # The chat tool's schema is what we send: these fields and no others.
        chat = info.tools["chat"]
        assert chat["additionalProperties"] is False
        assert {"prompt", "model", "working_directory_absolute_path", "thinking_mode",
                "continuation_id"} <= set(chat["properties"])  # fmt: skip
        assert PAL_MODEL in await provider.list_models()
        # A thread PAL no longer holds (a new server process): it starts a new one.
        stale = await collect(
            provider, request(continuation_id="0" * 8 + "-0000-0000-0000-" + "0" * 12)
        )
    finally:
        await provider.aclose()
    assert isinstance(events[-1], Finished) and isinstance(events[-2], Usage)
    assert sum(isinstance(e, TextDelta) for e in events) == 1
    assert any(isinstance(e, Progress) for e in events)
    assert any(isinstance(e, Continuation) for e in events)
    (call, *_) = [r for r in sim.requests if r.model == PAL_MODEL]
    assert call.body["stream"] is False
    assert any(isinstance(e, TextDelta) for e in stale)
    assert any(isinstance(e, Progress) and "no longer holds" in e.text for e in stale)


async def test_large_prompts_unknown_models_and_clink_clients_through_the_real_pal(
    pal_server: str, sim: Simulator, tmp_path: Path
) -> None:
    settings = PalSettings.model_validate(pal_section(pal_server, sim, tmp_path))
    provider = PalProvider(settings, env={}, workdir=tmp_path)
    big = "## Workstream: Storage\n" + "Keep every snippet. " * 5000  # 100,000 characters
    try:
        events = await collect(provider, request(prompt=big))
        errors: dict[str, ProviderError] = {}
        for model in ("gpt-9-nope", "clink:nosuch"):
            with pytest.raises(ProviderError) as caught:
                await collect(provider, request(api_model=model))
            errors[model] = caught.value
    finally:
        await provider.aclose()
    # Over PAL's default 60,000-character MCP limit, which mao lifts for the server it starts.
    assert isinstance(events[-1], Finished)
    (call,) = [r for r in sim.requests if r.model == PAL_MODEL]
    assert big in "\n".join(str(m["content"]) for m in call.body["messages"])
    assert errors["gpt-9-nope"].kind is ErrorKind.NOT_FOUND
    assert "'gpt-9-nope' is not available" in errors["gpt-9-nope"].message
    assert errors["clink:nosuch"].kind is ErrorKind.NOT_FOUND
    assert "CLI 'nosuch' is not configured" in errors["clink:nosuch"].message


def pal_children() -> list[int]:
    """This process's pal-mcp-server children (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"pal-mcp-server" in command:
            found.append(int(entry.name))
    return found


async def test_a_pal_that_dies_is_a_connection_error_and_the_next_call_starts_a_new_one(
    pal_server: str, sim: Simulator, tmp_path: Path
) -> None:
    settings = PalSettings.model_validate(pal_section(pal_server, sim, tmp_path))
    provider = PalProvider(settings, env={}, workdir=tmp_path)
    try:
        await collect(provider, request())
        (first,) = pal_children()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(ProviderError) as caught:
            await collect(provider, request())
        again = await collect(provider, request())
        (second,) = pal_children()
    finally:
        await provider.aclose()
    assert caught.value.kind is ErrorKind.CONNECTION
    assert isinstance(again[-1], Finished) and second != first
    assert any(isinstance(e, Progress) and e.text.startswith("starting PAL") for e in again)
    assert pal_children() == []  # closing the provider ends its server


async def test_a_pal_that_cannot_start_is_not_found_with_the_reason(tmp_path: Path) -> None:
    settings = PalSettings(command=[str(tmp_path / "no-such-pal")], env_pass=[])
    provider = PalProvider(settings, env={}, workdir=tmp_path)
    with pytest.raises(ProviderError) as caught:
        await collect(provider, request())
    await provider.aclose()
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert "no-such-pal" in caught.value.message and "pal.command" in caught.value.message
