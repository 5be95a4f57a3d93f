"""CLI bridges against fake `claude`, `codex` and `gemini` executables that print the real
formats (tests/fake_clis/fake_cli.py): streaming, usage and cost, every failure mode of
reference/cli-bridges.md, process-group kills, the minimal environment, `mao config check`, and
sessions that route workstreams through each tool, with fallback to an API model."""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mao_tui.cli import main
from mao_tui.domain import (
    AttemptFinished,
    Delta,
    EngineEvent,
    FallbackEvent,
    PlannedWorkstream,
    RetryScheduled,
    ThinkingDowngraded,
    WorkstreamFinished,
)
from mao_tui.engine.chain import ChainRunner
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.routing import route_chain
from mao_tui.engine.session import SessionRequest
from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    Heartbeat,
    ModelRequest,
    Provider,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.providers.cli.bridge import BASE_ENV, CliProvider
from mao_tui.providers.factory import build_provider
from mao_tui.service.launch import SIM_KEY, Launch, run_session, simulator_env, simulator_overlay
from mao_tui.settings.cli import CliSettings
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.simulator.server import Simulator
from mao_tui.store import Store

FAKE = Path(__file__).parent / "fake_clis" / "fake_cli.py"
SHIPPED = load_settings([shipped_config_dir()])
# tool → (provider id, model id) in the shipped models.yaml
TOOLS = {
    "claude": ("claude-cli", "claude-cli-sonnet"),
    "codex": ("codex-cli", "codex-cli"),
    "gemini": ("gemini-cli", "gemini-cli-pro"),
}
SYSTEM = "You own the Schemas workstream."
PROMPT = "Design the schemas for the snippet store.\nKeep them flat."
API_FALLBACK = "gpt-5.2"
WRONG_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-wrong-inherited-key",
    "OPENAI_API_KEY": "sk-wrong-inherited-key",
    "GEMINI_API_KEY": "AIza-wrong-inherited-key",
    "MAO_CANARY": "must-not-leak",
}


@dataclass
class Fakes:
    """A PATH directory holding the three fakes, a log directory, a workspace and a HOME."""

    bin: Path
    log: Path
    workspace: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": str(self.bin), "HOME": str(self.home), **extra}

    def cli(self, tool: str, scenario: str = "ok", **changes: Any) -> CliSettings:
        base = SHIPPED.registry.providers[TOOLS[tool][0]].cli
        assert base is not None
        env = {**base.env, "FAKE_CLI_SCENARIO": scenario, "FAKE_CLI_LOG": str(self.log)}
        env.update(changes.pop("env", {}))
        return CliSettings.model_validate(
            {**base.model_dump(exclude_none=True), "env": env, **changes}
        )

    def provider(self, tool: str, scenario: str = "ok", **changes: Any) -> Provider:
        return CliProvider(
            self.cli(tool, scenario, **changes),
            env=self.env(**WRONG_KEYS),
            workdir=self.workspace,
        )

    def record(self, tool: str, name: str = "run") -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.log / f"{tool}-{name}.json").read_text())
        return data


def install_fakes(bin_dir: Path, tools: tuple[str, ...] = tuple(TOOLS)) -> None:
    for tool in tools:
        wrapper = bin_dir / tool
        wrapper.write_text(
            f"#!{sys.executable} -I\n"
            "import runpy\n"
            f"runpy.run_path({str(FAKE)!r}, init_globals={{'TOOL': {tool!r}}}, "
            "run_name='__main__')\n",
            encoding="utf-8",
        )
        wrapper.chmod(0o755)


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    dirs = [tmp_path / name for name in ("bin", "log", "workspace", "home")]
    for d in dirs:
        d.mkdir()
    install_fakes(dirs[0])
    return Fakes(*dirs)


def request(
    tool: str, *, timeout_s: float = 30.0, system: str = SYSTEM, prompt: str = PROMPT
) -> ModelRequest:
    model_id = TOOLS[tool][1]
    model = SHIPPED.model(model_id)
    return ModelRequest(
        model_id=model_id,
        api_model=model.api_model,
        system=system,
        prompt=prompt,
        max_output_tokens=model.max_output_tokens,
        thinking=model.thinking,
        timeout_s=timeout_s,
    )


async def collect(provider: Provider, req: ModelRequest) -> list[StreamEvent]:
    try:
        return [event async for event in provider.stream(req)]
    finally:
        await provider.aclose()


async def collect_error(
    provider: Provider, req: ModelRequest
) -> tuple[list[StreamEvent], ProviderError]:
    events: list[StreamEvent] = []
    with pytest.raises(ProviderError) as caught:
        async for event in provider.stream(req):
            events.append(event)
    return events, caught.value


def text_of(events: list[StreamEvent], kind: type[TextDelta] | type[ThinkingDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


class ExitWatch:
    """Processes watched through pidfds, opened while they still run: a SIGKILL is delivered
    asynchronously, so the test waits for each exit to be reported instead of sampling."""

    def __init__(self, pids: list[int]) -> None:
        self.fds: dict[int, int] = {}
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # already gone: nothing to watch
                self.fds[os.pidfd_open(pid)] = pid

    @classmethod
    def of(cls, record: dict[str, Any]) -> ExitWatch:
        return cls([record["tool"], *record["orphans"]])

    def survivors(self, timeout_s: float = 10.0) -> list[int]:
        """The pids that have not exited within ``timeout_s`` (a bound, not a pause)."""
        poller = select.poll()
        for fd in self.fds:
            poller.register(fd, select.POLLIN)
        waiting = set(self.fds)
        deadline = time.monotonic() + timeout_s
        while waiting and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left * 1000):
                waiting.discard(fd)
                poller.unregister(fd)
        for fd in self.fds:
            os.close(fd)
        return [self.fds[fd] for fd in waiting]


def answer(tool: str, req: ModelRequest) -> str:
    """What the fake answers: it proves the prompt (and, for two tools, the system) arrived."""
    stdin = req.prompt if tool == "claude" else f"{req.system}\n\n{req.prompt}"
    first = next(line for line in stdin.splitlines() if line.strip()).strip()
    return (
        f"## {tool} via its CLI\n\nFAKE-{tool.upper()}-ANSWER: read {len(stdin)} characters of "
        f"prompt.\n\nFirst line: {first[:80]}\n"
    )


# --- streaming, usage and cost -----------------------------------------------------------------


@pytest.mark.parametrize("tool", list(TOOLS))
async def test_each_cli_streams_thinking_and_text_then_usage_and_finish(
    tool: str, fakes: Fakes
) -> None:
    req = request(tool)
    events = await collect(fakes.provider(tool), req)

    content = [e for e in events if not isinstance(e, Heartbeat)]
    assert isinstance(content[-1], Finished) and isinstance(content[-2], Usage)
    assert sum(isinstance(e, TextDelta) for e in events) > 3, "text must stream in pieces"
    assert text_of(events, ThinkingDelta).strip()
    text = text_of(events, TextDelta)
    usage = content[-2]
    assert isinstance(usage, Usage)
    if tool == "claude":
        # The assistant lines repeat what the partial messages streamed: not sent twice.
        assert text == "Let me look at the workspace.\n\n" + answer(tool, req)
        assert "[Read] README.md" in text_of(events, ThinkingDelta)
        assert usage == Usage(
            input_tokens=1600,
            output_tokens=420,
            cached_input_tokens=300,
            cache_write_tokens=100,
            cost_usd=0.0123,
        )
    elif tool == "codex":
        assert text == answer(tool, req)
        thinking = text_of(events, ThinkingDelta)
        assert "**Reading the workspace**" in thinking and "[shell] bash -lc ls" in thinking
        assert usage == Usage(input_tokens=2000, output_tokens=600, cached_input_tokens=500)
    else:
        # The tool call between the two parts of the answer starts a new paragraph.
        assert text == "Let me read the workspace.\n\n" + answer(tool, req)
        assert "[read_file] README.md" in text_of(events, ThinkingDelta)
        # stats.output_tokens counts candidates only; thoughts are the rest of total_tokens.
        assert usage == Usage(
            input_tokens=1800, output_tokens=1200, thinking_tokens=500, cached_input_tokens=200
        )


async def test_claude_without_partial_messages_streams_whole_messages(fakes: Fakes) -> None:
    cli = fakes.cli("claude")
    argv = [a for a in cli.argv if a != "--include-partial-messages"]
    provider = fakes.provider("claude", argv=argv)
    req = request("claude")
    events = await collect(provider, req)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [
        "Let me look at the workspace.",
        "\n\n" + answer("claude", req),
    ]
    assert isinstance(events[-1], Finished)


async def test_cost_comes_from_the_tool_when_it_reports_one_else_from_prices(
    fakes: Fakes,
) -> None:
    from mao_tui.engine.price_sources import PriceBook
    from mao_tui.engine.pricing import totals_for

    costs = {}
    for tool, (_, model_id) in TOOLS.items():
        events = await collect(fakes.provider(tool), request(tool))
        (usage,) = [e for e in events if isinstance(e, Usage)]
        totals = totals_for(usage, PriceBook(SHIPPED).quote(model_id))
        assert totals.cost_complete
        costs[tool] = round(totals.cost_usd, 7)
    assert costs == {
        "claude": 0.0123,  # total_cost_usd, not tokens × prices
        "codex": round((1500 * 2.00 + 500 * 0.10 + 600 * 10.00) / 1e6, 7),  # GPT-6.2 Sol
        "gemini": round((1600 * 4.00 + 200 * 0.20 + 1200 * 20.00) / 1e6, 7),  # Gemini 4 Argon
    }


# --- how the tool is run -----------------------------------------------------------------------


async def test_the_tool_runs_in_the_workspace_with_only_the_allowed_environment(
    fakes: Fakes,
) -> None:
    env = fakes.env(**WRONG_KEYS, CLAUDE_CONFIG_DIR=str(fakes.home / ".claude"))
    provider = CliProvider(fakes.cli("claude"), env=env, workdir=fakes.workspace)
    await collect(provider, request("claude"))
    run = fakes.record("claude")
    assert run["cwd"] == str(fakes.workspace)
    seen = run["env"]
    assert not set(seen) & set(WRONG_KEYS), "an inherited key reached the tool"
    # Python itself may add LC_CTYPE (PEP 538); everything else was given on purpose.
    allowed = {*BASE_ENV, "CLAUDE_CONFIG_DIR", "FAKE_CLI_SCENARIO", "FAKE_CLI_LOG",
               "LC_CTYPE"}  # fmt: skip
    assert set(seen) <= allowed
    assert seen["PATH"] == str(fakes.bin) and seen["HOME"] == str(fakes.home)
    assert seen["CLAUDE_CONFIG_DIR"] == str(fakes.home / ".claude")  # in env_pass
    # Claude 5.x thinks by effort (--effort max), not by a MAX_THINKING_TOKENS budget
    assert "MAX_THINKING_TOKENS" not in seen
    argv = run["argv"]
    assert argv[argv.index("--effort") + 1] == "max"


async def test_prompts_reach_the_tool_verbatim_and_no_shell_runs_them(fakes: Fakes) -> None:
    nasty = "Fix `id`; $(touch pwned) && rm -rf ./* | tee x > y; echo $HOME 'q' \"dq\" \\ *"
    req = request("claude", system=f"System {nasty}", prompt=f"Prompt {nasty}\n" + "é" * 10)
    events = await collect(fakes.provider("claude"), req)
    assert isinstance(events[-1], Finished)
    run = fakes.record("claude")
    assert run["stdin"] == req.prompt
    argv = run["argv"]
    assert argv[argv.index("--append-system-prompt") + 1] == req.system
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert not list(fakes.workspace.iterdir()), "something ran the prompt as a command"


async def test_codex_and_gemini_get_the_system_prompt_on_stdin(fakes: Fakes) -> None:
    for tool in ("codex", "gemini"):
        await collect(fakes.provider(tool), request(tool))
        run = fakes.record(tool)
        assert run["stdin"] == f"{SYSTEM}\n\n{PROMPT}"
    codex_argv = fakes.record("codex")["argv"]
    assert codex_argv[:4] == ["-c", "model_reasoning_effort=max", "-c",
                              "model_reasoning_summary=detailed"]  # fmt: skip
    assert codex_argv[codex_argv.index("--sandbox") + 1] == "read-only"


async def test_a_template_value_the_model_lacks_is_a_clear_error(fakes: Fakes) -> None:
    req = request("codex").model_copy(update={"thinking": None})
    _, exc = await collect_error(fakes.provider("codex"), req)
    assert exc.kind is ErrorKind.BAD_REQUEST
    assert "{effort}" in exc.message and "codex-cli" in exc.message


# --- failure modes -------------------------------------------------------------------------------

# (tool, scenario, cli changes, kind, words the message must hold)
FAILURES: list[tuple[str, str, dict[str, Any], ErrorKind, list[str]]] = [
    ("claude", "ok", {"argv": ["claude-not-installed", "-p"]}, ErrorKind.NOT_FOUND,
     ["claude-not-installed: executable not found on PATH"]),
    ("claude", "api_error", {}, ErrorKind.OVERLOADED, ["API Error: 529", "exit status 2"]),
    ("claude", "not_logged_in", {}, ErrorKind.AUTH, ["Please run /login", "exit status 1"]),
    ("claude", "ok", {"argv": ["claude", "-p", "--output-format", "stream-json"]},
     ErrorKind.BAD_REQUEST, ["exited with status 1", "requires --verbose"]),
    ("claude", "truncated", {}, ErrorKind.TRUNCATED, ["exited before its final result event"]),
    ("claude", "plain_text", {}, ErrorKind.BAD_REQUEST, ["printed plain text", "Sure! Here"]),
    ("codex", "turn_failed", {}, ErrorKind.AUTH, ["401 Unauthorized"]),
    ("codex", "error_event", {}, ErrorKind.QUOTA, ["You've hit your usage limit"]),
    ("codex", "plain_text", {}, ErrorKind.BAD_REQUEST, ["printed plain text"]),
    ("codex", "ok", {"argv": ["codex", "exec", "--json", "-c", "x=1", "-"]},
     ErrorKind.BAD_REQUEST, ["status 2", "unexpected argument '-c'"]),
    ("gemini", "exit54", {}, ErrorKind.SERVER,
     ["status 54", "FatalToolExecutionError: Error executing tool run_shell_command"]),
    ("gemini", "error_event", {}, ErrorKind.QUOTA, ["exhausted your capacity"]),
    ("gemini", "exit41", {}, ErrorKind.AUTH, ["status 41", "Please set an Auth method"]),
    ("gemini", "plain_text", {}, ErrorKind.BAD_REQUEST, ["Loaded cached credentials."]),
    ("gemini", "signal", {}, ErrorKind.SERVER, ["killed by SIGSEGV"]),
    # API failures as each tool really reports them (reference/cli-bridges.md)
    ("claude", "api_429", {}, ErrorKind.RATE_LIMITED, ["API Error: 429", "rate limit"]),
    ("claude", "api_401", {}, ErrorKind.AUTH, ["API Error: 401", "invalid x-api-key"]),
    ("claude", "api_529", {}, ErrorKind.OVERLOADED, ["API Error: 529", "Overloaded"]),
    ("claude", "api_500", {}, ErrorKind.SERVER, ["API Error: 500", "Internal server error"]),
    ("claude", "plain_thinking", {}, ErrorKind.BAD_REQUEST, ["printed plain text", "Thinking"]),
    ("claude", "max_tokens", {}, ErrorKind.TRUNCATED,
     ["cut off at the output limit (stop_reason=max_tokens)"]),
    ("gemini", "api_429", {}, ErrorKind.RATE_LIMITED,
     ['status 1: [API Error: {"error":{"code":429,', "RESOURCE_EXHAUSTED"]),
    ("gemini", "api_429_daily", {}, ErrorKind.QUOTA, ["PerDay", "limit: 50"]),
    ("gemini", "api_capacity", {}, ErrorKind.QUOTA,
     ["status 1: [API Error: You have exhausted your capacity on this model."]),
    ("gemini", "api_500", {}, ErrorKind.SERVER, ['"code":500', "Internal error encountered."]),
    ("gemini", "api_503", {}, ErrorKind.OVERLOADED, ['"code":503', "overloaded"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "scenario", "changes", "kind", "words"),
    FAILURES,
    ids=[f"{t}-{s}-{k.value}" for t, s, _, k, _ in FAILURES],
)
async def test_every_failure_mode_maps_to_one_error_kind(
    fakes: Fakes,
    tool: str,
    scenario: str,
    changes: dict[str, Any],
    kind: ErrorKind,
    words: list[str],
) -> None:
    events, exc = await collect_error(fakes.provider(tool, scenario, **changes), request(tool))
    assert exc.kind is kind, exc.message
    for word in words:
        assert word in exc.message
    assert not any(isinstance(e, Finished) for e in events)


@pytest.mark.parametrize(
    ("case", "kind", "words"),
    [
        ("nul", ErrorKind.BAD_REQUEST, ["claude: cannot start", "null byte"]),
        ("e2big", ErrorKind.CONTEXT_LENGTH, ["too long for the OS", "put {prompt} in stdin"]),
        ("no_workspace", ErrorKind.BAD_REQUEST, ["is not a directory"]),
    ],
)
async def test_a_call_that_cannot_start_says_why(
    fakes: Fakes, case: str, kind: ErrorKind, words: list[str]
) -> None:
    cli = fakes.cli("claude")
    req = request("claude")
    workdir = fakes.workspace
    if case == "nul":
        req = request("claude", system="a\0b")
    elif case == "e2big":  # Linux caps one argument at 128 KiB
        cli = fakes.cli("claude", argv=[*cli.argv, "{prompt}"])
        req = request("claude", prompt="p" * 300_000)
    else:
        workdir = fakes.workspace / "gone"
    provider = CliProvider(cli, env=fakes.env(), workdir=workdir)
    _, exc = await collect_error(provider, req)
    assert exc.kind is kind
    for word in words:
        assert word in exc.message


async def test_a_failed_claude_call_still_reports_its_cost(fakes: Fakes) -> None:
    events, exc = await collect_error(fakes.provider("claude", "api_error"), request("claude"))
    assert exc.kind is ErrorKind.OVERLOADED
    assert [e for e in events if isinstance(e, Usage)] == [
        Usage(input_tokens=90, output_tokens=0, cost_usd=0.0007)
    ]


@pytest.mark.parametrize("partial", [True, False])
@pytest.mark.parametrize("scenario", ["api_429", "api_401", "api_529", "api_500"])
async def test_claude_api_error_placeholder_text_is_never_streamed_as_the_answer(
    fakes: Fakes, scenario: str, partial: bool
) -> None:
    argv = SHIPPED.registry.providers["claude-cli"].cli.argv  # type: ignore[union-attr]
    if not partial:
        argv = [a for a in argv if a != "--include-partial-messages"]
    events, exc = await collect_error(fakes.provider("claude", scenario, argv=argv),
                                      request("claude"))  # fmt: skip
    assert text_of(events, TextDelta) == "" and text_of(events, ThinkingDelta) == ""
    assert exc.message.startswith("claude: API Error: ") and not exc.thinking_rejected


@pytest.mark.parametrize(
    ("scenario", "kept"),
    [
        ("api_429", 'gemini exited with status 1: [API Error: {"error":{"code":429,"message":'
                    '"Resource has been exhausted (e.g. check quota).","status":'
                    '"RESOURCE_EXHAUSTED"}}]'),
        ("api_capacity", "gemini exited with status 1: [API Error: You have exhausted your "
                         "capacity on this model. Your quota will reset after 2h52m39s.]"),
    ],
)  # fmt: skip
async def test_gemini_error_detail_is_the_error_line_without_colours_or_noise(
    fakes: Fakes, scenario: str, kept: str
) -> None:
    _, exc = await collect_error(fakes.provider("gemini", scenario), request("gemini"))
    assert exc.message == kept


async def test_plain_text_mentioning_thinking_is_not_a_thinking_rejection(fakes: Fakes) -> None:
    _, exc = await collect_error(fakes.provider("claude", "plain_thinking"), request("claude"))
    assert (
        exc.kind is ErrorKind.BAD_REQUEST and "Thinking about the reasoning effort" in exc.message
    )
    assert not exc.thinking_rejected


async def test_a_codex_error_event_followed_by_a_completed_turn_succeeds(fakes: Fakes) -> None:
    events = await collect(fakes.provider("codex", "error_recovered"), request("codex"))
    assert isinstance(events[-1], Finished)
    assert text_of(events, TextDelta) == answer("codex", request("codex"))


@pytest.mark.parametrize("scenario", ["hang", "hang_ignore_term"])
async def test_a_hang_times_out_and_the_whole_process_group_is_killed(
    fakes: Fakes, scenario: str
) -> None:
    provider = fakes.provider("gemini", scenario, kill_grace_s=0.2)
    events: list[StreamEvent] = []
    watch: ExitWatch | None = None
    with pytest.raises(ProviderError) as caught:
        async for event in provider.stream(request("gemini", timeout_s=1.5)):
            events.append(event)
            if isinstance(event, TextDelta) and watch is None:  # its grandchild is running
                watch = ExitWatch.of(fakes.record("gemini", "pids"))
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert "no output for 1.5 s" in caught.value.message
    assert text_of(events, TextDelta) == "Work"
    assert watch is not None and len(watch.fds) == 2
    assert watch.survivors() == []


async def test_the_engine_timeout_kills_the_process_group_too(fakes: Fakes) -> None:
    async with Simulator(speed=math.inf) as sim:
        timeouts = {"first_event_s": 30.0, "idle_s": 2.0}
        settings = engine_settings(sim, fakes, {"codex": "hang_ignore_term"}, timeouts=timeouts)
        watches: list[ExitWatch] = []

        class WatchingRecorder(Recorder):
            async def __call__(self, event: EngineEvent) -> None:
                await super().__call__(event)
                if isinstance(event, Delta) and not watches:  # the hang has begun
                    watches.append(ExitWatch.of(fakes.record("codex", "pids")))

        rec, outcome = await run_chain(settings, fakes, "codex-cli", WatchingRecorder())
    assert outcome.model == API_FALLBACK
    (fb,) = rec.of(FallbackEvent)
    assert (fb.from_model, fb.to_model, fb.reason) == ("codex-cli", API_FALLBACK, "timeout")
    assert "idle" in fb.detail
    (watch,) = watches
    assert len(watch.fds) == 2 and watch.survivors() == []


async def test_a_grandchild_holding_stdout_does_not_hold_up_a_finished_call(
    fakes: Fakes,
) -> None:
    provider = fakes.provider("gemini", "orphan")
    watch: ExitWatch | None = None
    finished = False
    async for event in provider.stream(request("gemini")):
        if isinstance(event, TextDelta) and watch is None:
            watch = ExitWatch(fakes.record("gemini", "pids")["orphans"])
        finished = finished or isinstance(event, Finished)
    assert finished and watch is not None
    assert watch.survivors() == []


async def test_huge_output_streams_through_in_bounded_memory(fakes: Fakes) -> None:
    size = 24 * 1024 * 1024
    provider = fakes.provider("gemini", "huge", env={"FAKE_CLI_BYTES": str(size)})
    received = 0
    finished = False
    tracemalloc.start()
    try:
        async for event in provider.stream(request("gemini")):
            if isinstance(event, TextDelta):
                received += len(event.text)
            finished = finished or isinstance(event, Finished)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert finished and received == size
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes held for {size} bytes streamed"


async def test_output_beyond_the_cap_stops_the_call(fakes: Fakes) -> None:
    provider = fakes.provider(
        "gemini", "huge", env={"FAKE_CLI_BYTES": str(8 * 1024 * 1024)}, max_output_bytes=1 << 20
    )
    _, exc = await collect_error(provider, request("gemini"))
    assert exc.kind is ErrorKind.TRUNCATED and "max_output_bytes" in exc.message


async def test_a_line_beyond_the_cap_stops_the_call_without_holding_it(fakes: Fakes) -> None:
    provider = fakes.provider(
        "gemini", "huge_line", env={"FAKE_CLI_BYTES": str(6 * 1024 * 1024)}, max_line_bytes=1 << 20
    )
    tracemalloc.start()
    try:
        _, exc = await collect_error(provider, request("gemini"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.kind is ErrorKind.TRUNCATED and "max_line_bytes" in exc.message
    assert peak < 3 * 1024 * 1024


async def test_a_flood_on_stderr_neither_blocks_the_tool_nor_fills_memory(fakes: Fakes) -> None:
    provider = fakes.provider("gemini", "stderr_flood", env={"FAKE_CLI_BYTES": str(4 << 20)})
    events = await collect(provider, request("gemini"))
    assert isinstance(events[-1], Finished)


async def test_the_factory_builds_a_cli_provider_from_the_registry(fakes: Fakes) -> None:
    cfg = SHIPPED.registry.providers["gemini-cli"]
    cfg = cfg.model_copy(update={"cli": fakes.cli("gemini")})
    provider = build_provider(cfg, "unused", env=fakes.env(), workdir=fakes.workspace)
    events = await collect(provider, request("gemini"))
    assert isinstance(events[-1], Finished)


# --- configuration -----------------------------------------------------------------------------


def _broken(tmp_path: Path, models_yaml: str) -> str:
    (tmp_path / "models.yaml").write_text(models_yaml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings([shipped_config_dir(), tmp_path])
    return str(info.value)


def test_the_shipped_cli_models_are_routable_and_the_default_routes_unchanged() -> None:
    for _, (provider_id, model_id) in TOOLS.items():
        assert SHIPPED.provider_of(model_id).kind == "cli"
        assert SHIPPED.model(model_id).provider == provider_id
    assert not any(
        SHIPPED.provider_of(m).kind == "cli"
        for route in SHIPPED.routing.routes
        for m in route_chain(SHIPPED, route)[0]
    )


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("providers:\n  x:\n    kind: cli\n", "providers.x: Value error, kind 'cli' needs a cli:"),
        (
            "providers:\n  claude-cli:\n    cli:\n      argv: [claude, '{modle}', '{prompt}']\n",
            "unknown placeholder {modle}",
        ),
        (
            "providers:\n  codex-cli:\n    cli:\n      stdin: null\n",
            "the prompt never reaches the tool",
        ),
        (
            "providers:\n  gemini-cli:\n    api_key_env: [GEMINI_API_KEY]\n",
            "api_key_env: not used by kind 'cli'",
        ),
        (
            "providers:\n  anthropic:\n    cli: {driver: claude, argv: [claude]}\n",
            "cli: applies to kind 'cli' only",
        ),
        (
            "providers:\n  claude-cli:\n    cli:\n      driver: aider\n",
            "providers.claude-cli.cli.driver",
        ),
    ],
)
def test_a_broken_cli_section_names_its_file_line_and_field(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    message = _broken(tmp_path, yaml_text)
    assert "models.yaml:" in message and expected in message, message


def test_config_check_shows_each_cli_its_version_and_its_flags(
    fakes: Fakes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (fakes.bin / "gemini").unlink()
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "models.yaml").write_text(
        "providers:\n  codex-cli:\n    cli:\n      env: {FAKE_CLI_SCENARIO: old}\n"
        "  claude-cli:\n    cli:\n      env: {FAKE_CLI_SCENARIO: old}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PATH", str(fakes.bin))
    monkeypatch.chdir(fakes.workspace)
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["claude-cli"].endswith(
        f"✓ 2.0.73 (Claude Code) at {fakes.bin}/claude; flags accepted"
    )
    assert lines["codex-cli"].endswith(f"✓ codex-cli 0.169.1 at {fakes.bin}/codex; flags accepted")
    assert lines["gemini-cli"].endswith("✗ not found on PATH")

    assert main(["config", "check", "--config", str(layer)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["claude-cli"].endswith("not in its --help: --include-partial-messages")
    assert lines["codex-cli"].endswith("flags accepted")  # its help has no such flag to lose


# --- the engine: chains and whole sessions -----------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    async def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[EngineEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def cli_overlay(
    fakes: Fakes,
    scenarios: dict[str, str],
    timeouts: dict[str, float] | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """models.yaml ``providers`` entries running each tool's fake in the given scenario."""
    providers: dict[str, Any] = {}
    for tool, (provider_id, _) in TOOLS.items():
        env = {"FAKE_CLI_SCENARIO": scenarios.get(tool, "ok"), "FAKE_CLI_LOG": str(fakes.log)}
        cli = {"env": env, "kill_grace_s": 0.2, **(changes or {}).get(tool, {})}
        providers[provider_id] = {"cli": cli}
        if timeouts:
            providers[provider_id]["timeouts"] = timeouts
    return providers


def engine_settings(
    sim: Simulator,
    fakes: Fakes,
    scenarios: dict[str, str],
    timeouts: dict[str, float] | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
) -> Settings:
    overlay = simulator_overlay(SHIPPED, sim.base_url)
    overlay["providers"].update(cli_overlay(fakes, scenarios, timeouts, changes))
    overlay["global"] = {"retry": {"max_retries": 0}}
    return load_settings([shipped_config_dir()], overlay)


async def run_chain(
    settings: Settings, fakes: Fakes, model_id: str, rec: Recorder | None = None
) -> tuple[Recorder, Any]:
    rec = rec or Recorder()
    env = {**simulator_env(settings), **fakes.env(**{"MAO_CANARY": "x"})}
    pool = ProviderPool(settings, env, workdir=fakes.workspace)
    runner = ChainRunner(settings, pool, rec)
    ws = PlannedWorkstream(key="schemas", title="Schemas", route="schemas",
                           chain=[model_id, API_FALLBACK])  # fmt: skip
    try:
        outcome = await runner.run_chain("S-1", ws, (SYSTEM, PROMPT))
    finally:
        await pool.aclose()
    return rec, outcome


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


@pytest.mark.parametrize(
    ("tool", "scenario", "changes", "kind", "words"),
    FAILURES,
    ids=[f"{t}-{s}-{k.value}" for t, s, _, k, _ in FAILURES],
)
async def test_every_failure_mode_falls_back_to_an_api_model_with_its_reason(
    sim: Simulator,
    fakes: Fakes,
    tool: str,
    scenario: str,
    changes: dict[str, Any],
    kind: ErrorKind,
    words: list[str],
) -> None:
    model_id = TOOLS[tool][1]
    settings = engine_settings(sim, fakes, {tool: scenario}, changes={tool: changes})
    rec, outcome = await run_chain(settings, fakes, model_id)
    assert outcome.model == API_FALLBACK and outcome.text
    (fb,) = rec.of(FallbackEvent)
    assert (fb.from_model, fb.to_model, fb.reason) == (model_id, API_FALLBACK, kind.value)
    for word in words:
        assert word in fb.detail
    assert fb.line == f"Schemas: fallback from {model_id} to {API_FALLBACK} ({kind.value})"
    failed = [e for e in rec.of(AttemptFinished) if e.status == "failed"]
    assert [(e.model, e.error_kind) for e in failed] == [(model_id, kind.value)]


async def test_a_claude_cli_429_is_retried_per_policy_before_falling_back(
    sim: Simulator, fakes: Fakes
) -> None:
    model_id = TOOLS["claude"][1]
    overlay = simulator_overlay(SHIPPED, sim.base_url)
    overlay["providers"].update(cli_overlay(fakes, {"claude": "api_429"}))
    fast = {"backoff_initial_s": 0.01, "backoff_max_s": 0.02, "jitter": 0, "cooldown_s": 0.01}
    overlay["global"] = {"retry": {"max_retries": 2, **fast}}
    settings = load_settings([shipped_config_dir()], overlay)
    rec, outcome = await run_chain(settings, fakes, model_id)
    assert outcome.model == API_FALLBACK
    failed = [e for e in rec.of(AttemptFinished) if e.model == model_id]
    assert [e.error_kind for e in failed] == ["rate_limited"] * 3
    retries = rec.of(RetryScheduled)
    assert [(r.model, r.reason, r.retry_no) for r in retries] == [
        (model_id, "rate_limited", 1), (model_id, "rate_limited", 2),
    ]  # fmt: skip
    assert not [d for d in rec.of(Delta) if "API Error" in d.text]
    (fb,) = rec.of(FallbackEvent)
    assert fb.reason == "rate_limited" and "still failing after 2 retries" in fb.detail


async def test_plain_text_about_thinking_falls_back_without_lowering_the_thinking(
    sim: Simulator, fakes: Fakes
) -> None:
    model_id = TOOLS["claude"][1]
    settings = engine_settings(sim, fakes, {"claude": "plain_thinking"})
    rec, outcome = await run_chain(settings, fakes, model_id)
    assert outcome.model == API_FALLBACK
    assert rec.of(ThinkingDowngraded) == []
    (fb,) = rec.of(FallbackEvent)
    assert fb.reason == "bad_request"


async def _session(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path, scenarios: dict[str, str]
) -> tuple[Recorder, Any, Any]:
    layer = tmp_path / "layer"
    layer.mkdir(exist_ok=True)
    providers = simulator_overlay(SHIPPED, sim.base_url)["providers"]
    providers.update(cli_overlay(fakes, scenarios))
    models = {"global": {"retry": {"max_retries": 0}}, "providers": providers}
    (layer / "models.yaml").write_text(yaml.safe_dump(models), encoding="utf-8")
    routes = {
        "schemas": {"primary": "claude-cli-sonnet", "fallbacks": [API_FALLBACK]},
        "storage": {"primary": "codex-cli", "fallbacks": [API_FALLBACK]},
        "core_logic": {"primary": "gemini-cli-pro", "fallbacks": [API_FALLBACK]},
    }
    (layer / "routing.yaml").write_text(yaml.safe_dump({"routes": routes}), encoding="utf-8")
    launch = Launch(project_dir=fakes.workspace, config_dir=layer, db_path=db_path)
    req = SessionRequest(command="develop", playbook="develop", task="Build the snippet store.",
                         project_dir=fakes.workspace, use_planner=False)  # fmt: skip
    env = fakes.env(**WRONG_KEYS)
    env.update({n: SIM_KEY for n in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")})
    rec = Recorder()
    finished = await run_session(launch, req, [rec], env=env)
    store = await Store.open(db_path)
    try:
        detail = await store.get_session(finished.session_id)
    finally:
        await store.close()
    return rec, finished, detail


async def test_a_session_routes_one_workstream_through_each_cli_into_the_store(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path
) -> None:
    rec, finished, detail = await _session(sim, fakes, db_path, tmp_path, {})
    assert finished.status == "done"
    used = {e.workstream: e.model for e in rec.of(WorkstreamFinished)}
    assert {k: used[k] for k in ("schemas", "storage", "core_logic")} == {
        "schemas": "claude-cli-sonnet", "storage": "codex-cli", "core_logic": "gemini-cli-pro",
    }  # fmt: skip
    assert not rec.of(FallbackEvent)
    expected_cost = {
        "schemas": 0.0123,
        "storage": (1500 * 2.00 + 500 * 0.10 + 600 * 10.00) / 1e6,
        "core_logic": (1600 * 4.00 + 200 * 0.20 + 1200 * 20.00) / 1e6,
    }
    for key, tool in (("schemas", "claude"), ("storage", "codex"), ("core_logic", "gemini")):
        (attempt,) = detail.attempts_for(key)
        streamed = [d for d in rec.of(Delta) if d.attempt_id == attempt.id]
        assert sum(d.channel == "text" for d in streamed) > 3, f"{key} did not stream"
        assert attempt.status == "ok" and f"FAKE-{tool.upper()}-ANSWER" in attempt.output_text
        assert attempt.output_text == "".join(d.text for d in streamed if d.channel == "text")
        assert attempt.thinking_text
        assert attempt.cost_complete and attempt.cost_usd == pytest.approx(expected_cost[key])
        assert fakes.record(tool)["cwd"] == str(fakes.workspace)
        assert "MAO_CANARY" not in fakes.record(tool)["env"]
    # Their outputs went downstream: the synthesis prompt carries each, by its model's name.
    (synth_req,) = [r for r in sim.requests if r.workstream == "synthesis"]
    body = str(synth_req.body)
    for marker in ("FAKE-CLAUDE-ANSWER", "FAKE-CODEX-ANSWER", "FAKE-GEMINI-ANSWER"):
        assert marker in body
    assert "(by Claude Sonnet (Claude Code))" in body
    assert finished.totals.cost_usd > sum(expected_cost.values())


async def test_a_session_whose_cli_fails_falls_back_to_an_api_model(
    sim: Simulator, fakes: Fakes, db_path: Path, tmp_path: Path
) -> None:
    _, finished, detail = await _session(sim, fakes, db_path, tmp_path, {"claude": "api_error"})
    assert finished.status == "done"
    (fb,) = detail.fallbacks
    assert fb.line == f"Schemas: fallback from claude-cli-sonnet to {API_FALLBACK} (overloaded)"
    assert "API Error: 529" in fb.detail
    failed, ok = detail.attempts_for("schemas")
    assert (failed.model, failed.status, failed.error_kind) == (
        "claude-cli-sonnet", "failed", "overloaded",
    )  # fmt: skip
    assert failed.cost_usd == pytest.approx(0.0007)  # what the failed call cost, from claude
    assert (ok.model, ok.status) == (API_FALLBACK, "ok") and ok.output_text
