"""CLI bridges against fake `claude`, `codex` and `gemini` executables that print the real
formats (tests/fake_clis/fake_cli.py): streaming, usage and cost, how the tool is run (the
minimal environment), and `mao config check`. Failure modes: test_cli_bridge_failures.py;
sessions through each tool: test_cli_bridges_engine.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.cli_fakes import (
    PROMPT,
    SHIPPED,
    SYSTEM,
    TOOLS,
    WRONG_KEYS,
    Fakes,
    answer,
    collect,
    collect_error,
    make_fakes,
    request,
    text_of,
)

from mao_tui.cli import main
from mao_tui.engine.routing import route_chain
from mao_tui.providers.base import (
    ErrorKind,
    Finished,
    Heartbeat,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from mao_tui.providers.cli.bridge import BASE_ENV, CliProvider
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return make_fakes(tmp_path)


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
