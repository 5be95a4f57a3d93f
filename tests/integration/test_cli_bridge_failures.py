"""Every failure mode of reference/cli-bridges.md against the fake CLIs, process-group kills
included, each falling back to an API model with its reason."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.cli_fakes import (
    API_FALLBACK,
    SHIPPED,
    TOOLS,
    ExitWatch,
    Fakes,
    Recorder,
    answer,
    collect,
    collect_error,
    engine_settings,
    make_fakes,
    request,
    run_chain,
    text_of,
)

from mao_tui.domain import (
    AttemptFinished,
    Delta,
    EngineEvent,
    FallbackEvent,
)
from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    ProviderError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.providers.cli.bridge import CliProvider
from mao_tui.providers.factory import build_provider
from mao_tui.simulator.server import Simulator


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return make_fakes(tmp_path)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(speed=math.inf) as simulator:
        yield simulator


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
