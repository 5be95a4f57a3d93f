"""`mao mcp config`: the project's .mcp.json written, merged into, and checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mao_tui.cli import main
from mao_tui.mcp.config import check, configure


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["mcp", "config", "--file", str(tmp_path / ".mcp.json"), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_new_file_holds_the_specs_servers_with_key_placeholders_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-key-that-must-not-be-written")
    code, out, _ = run(tmp_path, capsys)
    assert code == 0 and "added context7, pal" in out
    text = (tmp_path / ".mcp.json").read_text()
    assert "sk-live" not in text
    assert json.loads(text) == {
        "mcpServers": {
            "context7": {
                "type": "stdio",
                "command": "npx",
                "args": ["-y", "@upstash/context7-mcp@latest"],
            },
            "pal": {
                "type": "stdio",
                "command": "uvx",
                "args": ["pal-mcp-server"],
                "env": {
                    "OPENAI_API_KEY": "${OPENAI_API_KEY}",
                    "GEMINI_API_KEY": "${GEMINI_API_KEY}",
                    "ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY}",
                },
            },
        }
    }
    assert not (tmp_path / ".mcp.json.bak").exists()
    assert check(tmp_path / ".mcp.json").problems == []


def test_merging_keeps_every_server_and_key_the_user_had_and_backs_up_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".mcp.json"
    mine = {
        "mcpServers": {
            "github": {"type": "http", "url": "https://api.example.com/mcp"},
            "pal": {"command": "pal-mcp-server", "env": {"CUSTOM_API_URL": "http://x/v1"}},
        },
        "note": "mine",
    }
    original = json.dumps(mine, indent=4)
    path.write_text(original)
    code, out, _ = run(tmp_path, capsys, "--with-mao")
    assert code == 0
    assert "added context7, mao" in out and "kept your pal" in out and ".mcp.json.bak" in out
    merged = json.loads(path.read_text())
    assert merged["note"] == "mine"
    assert merged["mcpServers"]["github"] == mine["mcpServers"]["github"]  # type: ignore[index]
    assert merged["mcpServers"]["pal"] == mine["mcpServers"]["pal"]  # type: ignore[index]
    assert merged["mcpServers"]["mao"] == {
        "type": "stdio", "command": "mao", "args": ["mcp", "serve"],
    }  # fmt: skip
    assert set(merged["mcpServers"]) == {"github", "pal", "context7", "mao"}
    assert (tmp_path / ".mcp.json.bak").read_text() == original
    assert path.read_text().startswith('{\n    "mcpServers": {\n        "github"')  # their indent
    assert sorted(p.name for p in tmp_path.iterdir()) == [".mcp.json", ".mcp.json.bak"]
    # Once everything is there, running it again changes nothing.
    before = path.read_text()
    code, out, _ = run(tmp_path, capsys, "--with-mao")
    assert code == 0 and out.startswith(f"left {path}: nothing to add")
    assert path.read_text() == before


def test_a_file_without_mcp_servers_gets_the_section_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text('{"$schema": "x"}')
    outcome = configure(path)
    assert outcome.written and json.loads(path.read_text())["$schema"] == "x"
    assert set(json.loads(path.read_text())["mcpServers"]) == {"pal", "context7"}


def test_dry_run_prints_the_result_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(tmp_path, capsys, "--dry-run")
    assert code == 0 and json.loads(out)["mcpServers"]["pal"]["command"] == "uvx"
    assert not (tmp_path / ".mcp.json").exists()


def test_broken_json_is_reported_with_its_line_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".mcp.json"
    broken = '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n'
    path.write_text(broken)
    code, out, err = run(tmp_path, capsys)
    assert code == 2 and out == ""
    assert f"{path}:3: error: (JSON): not JSON at column" in err
    assert "nothing was written" in err
    assert path.read_text() == broken and not (tmp_path / ".mcp.json.bak").exists()


def test_check_names_each_bad_field_and_its_line_and_never_repeats_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text(
        "{\n"
        '  "mcpServers": {\n'
        '    "ok": {"command": "npx", "args": ["-y", "pkg"]},\n'
        '    "pal": {\n'
        '      "command": 3,\n'
        '      "args": ["a", 2],\n'
        '      "env": {"OPENAI_API_KEY": "sk-abcdefghijklmnop", "N": 1}\n'
        "    },\n"
        '    "web": {"type": "http"},\n'
        '    "odd": {"type": "pipe"}\n'
        "  }\n"
        "}\n"
    )
    code, out, err = run(tmp_path, capsys, "--check")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert f"{path}:5: error: mcpServers.pal.command: expected the executable" in lines[0]
    assert lines[1] == f"{path}:6: error: mcpServers.pal.args[1]: expected a string, got 2"
    assert lines[2].startswith(f"{path}:7: warning: mcpServers.pal.env.OPENAI_API_KEY: holds")
    assert lines[3] == f"{path}:7: error: mcpServers.pal.env.N: expected a string, got a number"
    assert lines[4].startswith(f"{path}:9: error: mcpServers.web.url: type http needs a url")
    assert lines[5] == (
        f'{path}:10: error: mcpServers.odd.type: expected one of stdio, http, sse, got "pipe"'
    )
    assert "sk-abcdefghijklmnop" not in err
    assert "5 problem(s)" in lines[-1]


def test_check_of_a_good_file_and_of_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(tmp_path, capsys, "--check")
    assert code == 2 and "not found; `mao mcp config` writes it" in err
    configure(tmp_path / ".mcp.json")
    code, out, _ = run(tmp_path, capsys, "--check")
    assert code == 0 and out.strip().endswith(".mcp.json: OK")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "(top level): expected a JSON object, got a list"),
        ('{"mcpServers": []}', "mcpServers: expected an object, got a list"),
        ('{"mcpServers": {"a": "npx"}}', "mcpServers.a: expected an object, got a string"),
    ],
)
def test_wrong_shapes_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text(text)
    outcome = configure(path)
    assert not outcome.written and path.read_text() == text
    assert [p.render(path) for p in outcome.errors] == [f"{path}:1: error: {expected}"]
