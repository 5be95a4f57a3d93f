"""develop in a git repository: the orchestrator gets the repository map, each workstream the
files most relevant to its part of the task; outside git, nothing changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.engine import Recorder, settings_for, start_sim
from fixtures.git_repo import git

from mao_tui.cli import main
from mao_tui.domain import PlannedWorkstream, PlanReady
from mao_tui.engine.chain import ChainRunner
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.repo_context import RepoFile, files_section
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest, SessionRun
from mao_tui.service.launch import simulator_env

TASK = "Make handle_request refuse a user over quota with a 429"
_RUN_CHAIN = ChainRunner.run_chain


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    (root / "app").mkdir(parents=True)
    (root / "app" / "api.py").write_text(
        "from app.limits import check_quota\n\n\n"
        "def handle_request(user: str) -> int:\n    check_quota(user)\n    return 200\n"
    )
    (root / "app" / "limits.py").write_text(
        "def check_quota(user: str) -> bool:\n    return True\n"
    )
    (root / "app" / "unrelated.py").write_text("def render_page() -> str:\n    return ''\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "start")
    return root


async def _session(
    repository: Path | None, workdir: Path, monkeypatch: Any
) -> tuple[list[tuple[str, str]], Recorder]:
    """Run a simulated develop session; every (workstream key, prompt) sent, and the events."""
    sent: list[tuple[str, str]] = []

    async def recording(self: ChainRunner, sid: str, ws: PlannedWorkstream, prompts: Any,
                        **kw: Any) -> Any:  # fmt: skip
        _, prompt = prompts(ws.chain[0]) if callable(prompts) else prompts
        sent.append((ws.key, prompt))
        return await _RUN_CHAIN(self, sid, ws, prompts, **kw)

    monkeypatch.setattr(ChainRunner, "run_chain", recording)
    sim = await start_sim()
    try:
        settings = settings_for(sim)
        rec = Recorder()
        pool = ProviderPool(settings, simulator_env(settings))
        engine = SessionRun(settings, pool, [rec])
        req = SessionRequest(
            command="develop", playbook="develop", task=TASK, simulated=True,
            project_dir=workdir, repository=repository,
        )  # fmt: skip
        try:
            await engine.run(req, rule_based_plan(settings, "develop", []))
        finally:
            await pool.aclose()
    finally:
        await sim.stop()
    return sent, rec


async def test_in_git_the_orchestrator_sees_the_map_and_workstreams_the_files(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent, rec = await _session(repo, repo, monkeypatch)
    (plan_prompt,) = [p for key, p in sent if key == "orchestrator"]
    assert "## Repository map" in plan_prompt
    assert "app/api.py:\n  def handle_request(user: str) -> int\n" in plan_prompt
    workstream_prompts = [
        p for key, p in sent if key not in ("orchestrator", "dependency_check", "synthesis")
    ]
    assert workstream_prompts
    assert all("### `app/api.py`" in p for p in workstream_prompts)
    assert all("def handle_request(user: str) -> int:\n    check_quota(user)" in p
               for p in workstream_prompts)  # fmt: skip
    (synthesis,) = [p for key, p in sent if key == "synthesis"]
    assert "### `app/api.py`" in synthesis and "## Editing existing files" in synthesis
    assert "<<<<<<< SEARCH" in synthesis
    (ready,) = rec.of(PlanReady)
    messages = [f.message for f in ready.plan.findings]
    assert any(m.startswith("repository map: 3 of 3 files") for m in messages), messages
    assert any(
        m.startswith("Core logic receives from the repository: app/api.py (") for m in messages
    )


async def test_outside_git_the_prompts_are_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "api.py").write_text("def handle_request(): pass\n")
    with_folder, rec = await _session(plain, plain, monkeypatch)
    without, _ = await _session(None, plain, monkeypatch)
    assert [p for _, p in with_folder] == [p for _, p in without]
    assert not any("Repository map" in p or "Files from the repository" in p for _, p in without)
    (ready,) = rec.of(PlanReady)
    assert not any("repository" in f.message for f in ready.plan.findings)


def test_headless_develop_reports_the_files_in_its_json_events(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["develop", TASK, "--simulate", "--json", "--speed", "inf", "--no-planner",
            "--db", str(tmp_path / "db"), "--workspace", str(repo)]  # fmt: skip
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (plan,) = [e["plan"] for e in events if e["type"] == "plan"]
    messages = [f["message"] for f in plan["findings"]]
    assert any("receives from the repository: app/api.py" in m for m in messages), messages


def test_a_files_section_fences_each_file_past_its_own_backticks() -> None:
    text = files_section([RepoFile("docs/a.md", "```python\nx\n```\n"), RepoFile("b.py", "y")])
    assert "### `docs/a.md`\n\n````markdown\n```python\nx\n```\n````\n" in text
    assert "### `b.py`\n\n```python\ny\n```\n" in text
    assert files_section([]) == ""


def test_the_plan_names_files_per_workstream_and_they_come_first(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".gitignore").write_text("secret.env\n")
    (repo / "secret.env").write_text("TOKEN=do-not-send\n")
    plan = {
        "workstreams": [
            {"key": key, "chain": ["opus-5.5"], "files": files}
            for key, files in [
                ("schemas", ["app/unrelated.py", "secret.env", "../out.py", "app/unrelated.py"]),
                ("storage", []),
                ("core_logic", []),
                ("implementation", []),
                ("tests", []),
            ]
        ]
    }
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    argv = ["develop", TASK, "--simulate", "--json", "--speed", "inf", "--plan", str(plan_file),
            "--db", str(tmp_path / "db"), "--workspace", str(repo)]  # fmt: skip
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (planned,) = [e["plan"] for e in events if e["type"] == "plan"]
    schemas = next(ws for ws in planned["workstreams"] if ws["key"] == "schemas")
    assert schemas["files"] == ["app/unrelated.py", "secret.env"]  # ../out.py dropped
    messages = [f["message"] for f in planned["findings"]]
    (sent,) = [m for m in messages if m.startswith("Schemas receives")]
    assert sent.startswith("Schemas receives from the repository: app/unrelated.py (")
    assert "secret.env" not in sent  # ignored by git: never read
    (core,) = [m for m in messages if m.startswith("Core logic receives")]
    assert core.startswith("Core logic receives from the repository: app/api.py (")


async def test_a_workstream_may_ask_once_for_more_files(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mao_tui.domain import TokenTotals, WorkstreamStatus
    from mao_tui.engine.chain import Outcome

    (repo / ".gitignore").write_text("secret.env\n")
    (repo / "secret.env").write_text("TOKEN=do-not-send\n")
    asked = "I need more.\n\n```mao-read\n- `app/unrelated.py`\nsecret.env\n```\n"
    calls: list[str] = []

    async def chain(self: ChainRunner, sid: str, ws: PlannedWorkstream, prompts: Any,
                    **kw: Any) -> Any:  # fmt: skip
        _, prompt = prompts(ws.chain[0]) if callable(prompts) else prompts
        if ws.key == "core_logic":
            calls.append(prompt)
            if len(calls) == 1:
                return Outcome(
                    WorkstreamStatus.DONE, ws.chain[0], asked, TokenTotals(input_tokens=7)
                )
        return await _RUN_CHAIN(self, sid, ws, prompts, **kw)

    monkeypatch.setattr(ChainRunner, "run_chain", chain)
    sim = await start_sim()
    try:
        settings = settings_for(sim)
        pool = ProviderPool(settings, simulator_env(settings))
        engine = SessionRun(settings, pool, [Recorder()])
        req = SessionRequest(
            command="develop", playbook="develop", task=TASK, simulated=True,
            project_dir=repo, repository=repo, use_planner=False,
        )  # fmt: skip
        try:
            await engine.run(req, rule_based_plan(settings, "develop", []))
        finally:
            await pool.aclose()
    finally:
        await sim.stop()
    first, second = calls  # asked once, answered once
    assert "`mao-read`" in first
    assert second.startswith(first) and "## The files you asked for" in second
    assert "### `app/unrelated.py`" in second and "def render_page() -> str:" in second
    assert "Not files of the repository (or not readable): `secret.env`." in second
    assert "do-not-send" not in second


def test_requested_files_are_the_last_read_block_at_most_four() -> None:
    from mao_tui.engine.repo_context import requested_files

    assert requested_files("no request") == []
    text = "```mao-read\nold.py\n```\n\n````mao-read\n* a.py\n- `b.py`\n\nc.py\nd.py\ne.py\n````\n"
    assert requested_files(text) == ["a.py", "b.py", "c.py", "d.py"]


def test_qa_gives_the_orchestrator_the_map_and_the_reviewers_no_extra_files(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    argv = ["qa", "app", "--simulate", "--json", "--speed", "inf", "--db", str(tmp_path / "db")]
    assert main(argv) in (0, 1)  # the simulated review's verdict does not matter here
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (planned,) = [e["plan"] for e in events if e["type"] == "plan"]
    messages = [f["message"] for f in planned["findings"]]
    assert any(m.startswith("repository map: ") for m in messages), messages
    assert not any("receives from the repository" in m for m in messages)


def test_a_session_from_home_names_the_workspace_repository(repo: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from mao_tui.service.launch import Launch
    from mao_tui.service.live_session import AppBackend
    from mao_tui.service.ports import NewSession

    launch = Launch(project_dir=repo, config_dir=None, db_path=tmp_path / "db")
    backend = AppBackend(launch)
    session, _ = backend.start(NewSession(task=TASK, simulate=True))
    assert session._req is not None and session._req.repository == repo  # type: ignore[attr-defined]
    journal, _ = backend.start(NewSession(task=TASK, playbook="journal", simulate=True))
    assert journal._req is not None and journal._req.repository is None  # type: ignore[attr-defined]
    demo = AppBackend(replace(launch, fresh_workspace=True))
    fresh, _ = demo.start(NewSession(task=TASK, simulate=True))
    assert fresh._req is not None and fresh._req.repository is None  # type: ignore[attr-defined]
