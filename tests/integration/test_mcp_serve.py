"""`mao mcp serve`, driven by the mcp SDK's own client over stdio, as Claude Code would."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mao_tui.store import Store


@asynccontextmanager
async def mao_server(project: Path, db_path: Path) -> AsyncIterator[ClientSession]:
    env = {name: os.environ[name] for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "NO_PROXY")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mao_tui", "mcp", "serve", "--db", str(db_path), "--speed", "0"],
        env=env,
        cwd=project,
    )
    with (project / "server.log").open("w+") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            yield session


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    (path / "spec.md").write_text("# Snippets\n\n## 1. Storage\n\nKeep snippets.\n")
    return path


async def test_develop_runs_a_session_with_progress_and_returns_its_synthesis(
    project: Path, db_path: Path
) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(progress_: float, total: float | None, message: str | None) -> None:
        progress.append((progress_, message))

    async with mao_server(project, db_path) as mao:
        init = await mao.initialize()
        assert init.server_info.name == "mao"
        listed = await mao.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert set(tools) == {"develop", "qa", "journal", "session"}
        assert tools["develop"].input_schema["required"] == ["task"]
        result = await mao.call_tool(
            "develop",
            {
                "task": "Build the snippet store.",
                "spec_file": "spec.md",
                "simulate": True,
                "use_planner": False,
            },
            progress_callback=on_progress,
        )
        assert not result.is_error, result.content
        answer = "".join(getattr(block, "text", "") for block in result.content)
        head, _, synthesis = answer.partition("\n\n")
        assert head.startswith("mao session ") and ": done (simulated)" in head
        session_id = head.split()[2].rstrip(":")
        shown = await mao.call_tool("session", {"session_id": session_id[:8]})
        listing = await mao.call_tool("session", {})
        empty = await mao.call_tool("develop", {"task": "  "})
        missing = await mao.call_tool("develop", {"task": "x", "spec_file": "nope.md"})
    # Progress arrived while it ran, increasing, one line of mao's headless progress each.
    messages = [m or "" for _, m in progress]
    assert [p for p, _ in progress] == sorted({p for p, _ in progress})
    assert any(m.startswith("mao develop [SIMULATED]: session ") for m in messages)
    assert any(m.startswith("plan (") for m in messages)
    assert any(m.startswith("▶ Schemas: ") for m in messages)
    # The session is in the same database the dashboard reads, done, with that synthesis.
    store = await Store.open(db_path)
    try:
        detail = await store.get_session(session_id)
    finally:
        await store.close()
    assert detail is not None and detail.status == "done"
    assert detail.synthesis is not None
    assert synthesis.strip() == detail.synthesis.text.strip() and synthesis.strip()
    shown_text = "".join(getattr(b, "text", "") for b in shown.content)
    assert (
        not shown.is_error and session_id in shown_text and "Build the snippet store." in shown_text
    )
    assert session_id[:8] in "".join(getattr(b, "text", "") for b in listing.content)
    # Bad input is a tool error that says what was wrong.
    assert empty.is_error and "the task is empty" in empty.content[0].text  # type: ignore[union-attr]
    assert missing.is_error and "nope.md" in missing.content[0].text  # type: ignore[union-attr]


async def test_an_unknown_session_is_a_clear_tool_error(project: Path, db_path: Path) -> None:
    async with mao_server(project, db_path) as mao:
        await mao.initialize()
        result = await mao.call_tool("session", {"session_id": "nosuch"})
    assert result.is_error
    assert "nosuch" in result.content[0].text  # type: ignore[union-attr]


async def test_qa_and_journal_run_through_the_commands_entry_points(
    project: Path, db_path: Path
) -> None:
    (project / "store.py").write_text("def add(a, b):\n    return a + b\n")
    async with mao_server(project, db_path) as mao:
        await mao.initialize()
        qa = await mao.call_tool(
            "qa", {"targets": ["store.py"], "simulate": True, "use_planner": False}
        )
        journal = await mao.call_tool("journal", {"simulate": True, "use_planner": False})
        nothing = await mao.call_tool("qa", {"simulate": True})
    qa_text = "".join(getattr(b, "text", "") for b in qa.content)
    assert not qa.is_error, qa_text
    assert ": done (simulated)" in qa_text.splitlines()[0]
    qa_id = qa_text.split()[2].rstrip(":")
    journal_text = "".join(getattr(b, "text", "") for b in journal.content)
    assert not journal.is_error, journal_text
    assert "journal written to " in journal_text
    written = Path(journal_text.split("journal written to ", 1)[1].splitlines()[0])
    assert written.is_file() and written.read_text().strip()
    assert nothing.is_error and "nothing to review" in nothing.content[0].text  # type: ignore[union-attr]
    store = await Store.open(db_path)
    try:
        detail = await store.get_session(qa_id)
    finally:
        await store.close()
    assert detail is not None and detail.command == "qa" and detail.qa_report is not None
    assert detail.qa_report.markdown.strip() in qa_text
