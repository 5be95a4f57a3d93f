"""Playbooks as data: prompt variants per model family (the fallback model gets its own), user
playbooks in `.mao/playbooks/` run with `mao run`, and `mao journal` from a stored session or a
git repository, end to end on the simulator with the real SDKs, engine and store."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fixtures.engine import run_engine, settings_for, start_sim

from mao_tui.cli import main
from mao_tui.domain import EngineEvent, OutputWritten, SessionFinished
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest, SessionRun
from mao_tui.playbooks.journal_entry import JournalWriter, slugify, write_new
from mao_tui.playbooks.output_kinds import journal_output
from mao_tui.service.launch import Launch, simulator_env
from mao_tui.service.live_session import OpenSession
from mao_tui.service.session_request import journal_request
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.settings.schema import PromptChoice, Settings
from mao_tui.simulator.faults import FaultRule
from mao_tui.simulator.server import RecordedRequest
from mao_tui.tui.app import MaoApp
from mao_tui.tui.dashboard import DashboardScreen

GUARD_S = 60.0
FAST = ("--simulate", "--speed", "inf")
# A phrase from each shipped develop template, default and variants (config/prompts/develop/).
MARKS = {
    "schemas.md": "Design the data structures and schemas for this task.",
    "schemas.gemini.md": "structural pattern recognition",
    "storage.codex.md": "code completion: whole, runnable files",
    "core_logic.gpt.md": "correctness proofs",
    "implementation.claude.md": "balanced, production-quality implementation",
    "implementation.codex.md": "code generation: complete files that run as written",
    "tests.codex.md": "No sleeps, no network",
}


def _prompt_of(request: RecordedRequest) -> str:
    return json.dumps(request.body)


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


# -- prompt variants ----------------------------------------------------------------------------


def test_a_variant_is_chosen_by_model_id_then_family_then_provider_then_kind() -> None:
    settings = load_settings([shipped_config_dir()])
    choice = PromptChoice(
        prompt="default.md",
        variants={
            "gpt-5.2": "by-id.md",
            "codex": "by-family.md",
            "anthropic": "by-provider.md",
            "gemini": "by-kind.md",
        },
    )
    assert settings.variant_keys("gpt-6.2-sol") == ["gpt-6.2-sol", "codex", "openai"]
    assert settings.template_for(choice, "gpt-5.2") == "by-id.md"
    assert settings.template_for(choice, "gpt-6.2-sol") == "by-family.md"
    assert settings.template_for(choice, "opus-5.5") == "by-provider.md"
    assert settings.template_for(choice, "gemini-4-hydrogen") == "by-kind.md"  # family gemini
    plain = PromptChoice(prompt="default.md", variants={"codex": "by-family.md"})
    assert settings.template_for(plain, "sonnet-5.5") == "default.md"


async def test_each_attempt_gets_its_models_variant_and_a_fallback_model_gets_its_own() -> None:
    # Gemini fails on Schemas (falls back to Sonnet); Sonnet fails on Implementation (falls
    # back to GPT-6.2 Sol): each fallback model must get its own family's prompt.
    sim = await start_sim(
        [
            # context_length fails this request only (a 404 would rule the model out for the
            # whole session: see test_session_facts.py)
            FaultRule(kind="context_length", model="gemini-4-argon", workstream="schemas"),
            FaultRule(
                kind="context_length", model="claude-sonnet-5-5", workstream="implementation"
            ),
        ]
    )
    try:
        _, finished = await run_engine(settings_for(sim))
    finally:
        await sim.stop()
    assert finished.status == "done"
    by = {(r.workstream, r.model): _prompt_of(r) for r in sim.requests}
    schemas_gemini = by["schemas", "gemini-4-argon"]
    schemas_sonnet = by["schemas", "claude-sonnet-5-5"]
    assert MARKS["schemas.gemini.md"] in schemas_gemini
    assert MARKS["schemas.gemini.md"] not in schemas_sonnet  # Sonnet: the default template
    assert MARKS["schemas.md"] in schemas_sonnet
    assert MARKS["implementation.claude.md"] in by["implementation", "claude-sonnet-5-5"]
    codex_impl = by["implementation", "gpt-6.2-sol"]
    assert MARKS["implementation.codex.md"] in codex_impl
    assert MARKS["implementation.claude.md"] not in codex_impl
    assert MARKS["storage.codex.md"] in by["storage", "gpt-6.2-sol"]
    assert MARKS["core_logic.gpt.md"] in by["core_logic", "gpt-6.2-astra"]
    assert MARKS["tests.codex.md"] in by["tests", "gpt-6.2-sol"]


def test_variants_are_checked_when_the_configuration_loads(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "playbooks/develop.yaml": "system_prompt: develop/system.md\nworkstreams:\n"
            "  - {key: a, title: A, route: schemas, prompt: develop/schemas.md,\n"
            "     variants: {gemni: develop/schemas.md, codex: develop/nope.md}}\n"
            "synthesis: {route: synthesis, prompt: develop/synthesis.md,\n"
            "            variants: {opus-5.5: develop/missing.md}}\n",
        },
    )
    with pytest.raises(ConfigError) as info:
        load_settings([shipped_config_dir(), tmp_path])
    problems = "\n".join(info.value.problems)
    assert "develop.yaml:4: workstreams.0.variants.gemni: 'gemni' is no model id, model family" in (
        problems
    )
    assert "claude" in problems  # the message lists what a variant may be keyed by
    assert "develop.yaml:4: workstreams.0.variants.codex: prompt template 'develop/nope.md'" in (
        problems
    )
    assert "develop.yaml:6: synthesis.variants.opus-5.5: prompt template 'develop/missing.md'" in (
        problems
    )


# -- user playbooks -----------------------------------------------------------------------------

USER_PLAYBOOK = """\
# .mao/playbooks/review.yaml: two reviewers, one summary
description: Review a change from two angles.
system_prompt: review/system.md
workstreams:
  - {key: risks, title: Risks, route: security, prompt: review/risks.md}
  - {key: naming, title: Naming, route: implementation, prompt: review/naming.md,
     variants: {claude: review/naming.claude.md}, depends_on: [risks]}
synthesis: {route: synthesis, prompt: review/summary.md}
"""
USER_PROMPTS = {
    ".mao/prompts/review/system.md": "You review code; your part is $title (key: $key).\n",
    ".mao/prompts/review/risks.md": "List the risks of: $task\n",
    ".mao/prompts/review/naming.md": "Judge the names in: $task\n",
    ".mao/prompts/review/naming.claude.md": "Judge the names, carefully, in: $task\n",
    ".mao/prompts/review/summary.md": "Merge the reviews of $task:\n$outputs\n",
}


def test_a_user_playbook_in_dot_mao_runs_with_mao_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {".mao/playbooks/review.yaml": USER_PLAYBOOK, **USER_PROMPTS})
    db = tmp_path / "mao.db"
    argv = ["run", "review", "the login form", *FAST, "--no-planner", "--json", "--db", str(db)]
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    plan = next(e["plan"] for e in events if e["type"] == "plan")
    assert [w["key"] for w in plan["workstreams"]] == ["risks", "naming"]
    assert plan["workstreams"][1]["depends_on"] == ["risks"]
    finished = [(e["workstream"], e["model"]) for e in events if e["type"] == "workstream_finished"]
    # risks first: a dependency
    assert finished == [("risks", "gpt-6.2-astra"), ("naming", "sonnet-5.5")]
    assert events[-1]["type"] == "session_finished" and events[-1]["status"] == "done"
    assert _rows(db, "SELECT command, playbook, task, status FROM sessions") == [
        ("review", "review", "the login form", "done")
    ]
    assert not any(e["type"] == "output_written" for e in events)  # markdown: nothing written


def test_a_user_playbook_with_output_journal_writes_its_entry_where_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    diary = (
        "output: journal\nplanner: false\njournal: {folder: docs/diary}\n"
        "system_prompt: review/system.md\n"
        "workstreams:\n  - {key: lessons_learned, title: Lessons learned, route: creative_insights,"
        " prompt: journal/lessons_learned.md}\n"
        "synthesis: {route: synthesis, prompt: journal/synthesis.md}\n"
    )
    _write(tmp_path, {".mao/playbooks/diary.yaml": diary, **USER_PROMPTS})
    _write(tmp_path, {"notes.md": "### Work items\n\n- Ported the parser\n"})
    db = tmp_path / "mao.db"
    argv = ["run", "diary", "The parser port", "--spec", "notes.md", *FAST, "--headless"]
    assert main([*argv, "--db", str(db)]) == 0
    (entry,) = (tmp_path / "docs" / "diary").iterdir()  # the playbook's journal.folder
    assert entry.name == f"{date.today().isoformat()}-the-parser-port.md"  # titled by the task
    assert "Ported the parser" in entry.read_text(encoding="utf-8")  # the spec was its source
    assert f"journal written to {entry}" in capsys.readouterr().err
    assert _rows(db, "SELECT kind, path FROM outputs") == [("journal", str(entry))]


def test_mao_run_with_an_unknown_name_lists_the_known_playbooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, {".mao/playbooks/review.yaml": USER_PLAYBOOK, **USER_PROMPTS})
    assert main(["run", "reveiw", "x", "--headless", "--db", str(tmp_path / "mao.db")]) == 2
    err = capsys.readouterr().err
    assert "no playbook named 'reveiw'; known playbooks: develop, journal" in err
    assert "review" in err.split("known playbooks:")[1]
    assert ".mao/playbooks/NAME.yaml" in err


# -- the journal ---------------------------------------------------------------------------------


def _develop_session(db: Path, capsys: pytest.CaptureFixture[str]) -> str:
    argv = ["develop", "Build the snippet store", *FAST, "--no-planner", "--json", "--db", str(db)]
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return str(events[0]["session_id"])


def _journal_rows(db: Path) -> list[tuple[Any, ...]]:
    return _rows(
        db,
        "SELECT s.id, s.command, s.playbook, s.status, s.task, o.kind, o.path, o.error"
        " FROM sessions s JOIN outputs o ON o.session_id = s.id ORDER BY o.id",
    )


def test_journal_from_a_stored_session_writes_an_entry_and_stores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "mao.db"
    develop_id = _develop_session(db, capsys)
    argv = ["journal", "--session", develop_id[:12].lower(), *FAST, "--headless", "--db", str(db)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    (row,) = _journal_rows(db)
    journal_id, command, playbook, status, task, kind, path, error = row
    assert (command, playbook, status) == ("journal", "journal", "done")
    assert (kind, error) == ("journal", None)
    assert develop_id[:10] in task and "Build the snippet store" in task
    entry = Path(path)
    today = date.today().isoformat()
    assert entry == tmp_path / "journal" / f"{today}-build-the-snippet-store.md"
    assert f"journal written to {entry}" in err
    text = entry.read_text(encoding="utf-8")
    assert text.startswith(f"---\ndate: {today}\n")
    assert f"mao_session: {journal_id}\n" in text
    assert "\n# Build the snippet store\n" in text
    for heading in ("## What was built", "## How it went", "## Lessons", "## Next"):
        assert heading in text
    # The entry is about that session: its workstreams and models, from the stored record.
    for fact in ("Schemas — done on gemini-4-argon", "Storage — done on gpt-6.2-sol", "Tests"):
        assert fact in text
    assert text.split("---\n\n", 1)[1].strip() == out.strip()  # stdout: the entry itself
    # The three perspectives ran on the routed models, and the synthesis on Opus.
    models = _rows(
        db,
        "SELECT workstream, model FROM attempts WHERE session_id = ? ORDER BY workstream",
        journal_id,
    )
    assert models == [
        ("lessons_learned", "gpt-6.2-astra"),
        ("process_reflection", "sonnet-5.5"),
        ("synthesis", "opus-5.5"),
        ("technical_summary", "gemini-4-argon"),
    ]

    # Again, with no --session: the latest session that is not a journal (the develop one);
    # the entry's name is taken, so the new one gets a suffix and the first is left alone.
    assert main(["journal", *FAST, "--headless", "--db", str(db)]) == 0
    capsys.readouterr()
    rows = _journal_rows(db)
    assert len(rows) == 2 and develop_id[:10] in rows[1][4]
    assert Path(rows[1][6]) == entry.with_name(f"{today}-build-the-snippet-store-2.md")
    assert entry.read_text(encoding="utf-8") == text
    assert main(["sessions", "show", journal_id, "--db", str(db)]) == 0
    assert f"## Written\n\n- journal: {entry}" in capsys.readouterr().out


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def test_journal_from_a_git_repository_made_in_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "inventory"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    history = [
        ("stock.py", "STOCK = {}\n", "Add the stock table"),
        ("orders.py", "def order(item):\n    return item\n", "Orders reserve stock"),
        ("orders.py", "def order(item):\n    return [item]\n", "Fix orders returning one item"),
    ]
    for name, text, subject in history:
        (repo / name).write_text(text, encoding="utf-8")
        _git(repo, "add", name)
        _git(repo, "commit", "-q", "-m", subject, "-m", f"Why: {subject.lower()}.")
    monkeypatch.chdir(repo)
    db = tmp_path / "mao.db"
    out_dir = tmp_path / "notes"
    argv = ["journal", "--since", "2000-01-01", "--out", str(out_dir), *FAST, "--json"]
    assert main([*argv, "--db", str(db)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started = events[0]
    assert started["task"] == "git history of inventory since 2000-01-01 (3 commits)"
    material = started["spec_text"]
    for subject in ("Add the stock table", "Orders reserve stock", "Why: orders reserve stock."):
        assert subject in material
    assert "2 files changed" in material  # git diff --stat over the whole range
    assert "### Friction\n\n- " in material and "Fix orders returning one item" in material
    (written,) = [e for e in events if e["type"] == "output_written"]
    entry = Path(written["path"])
    assert entry.parent == out_dir
    assert entry.name == f"{date.today().isoformat()}-work-on-inventory-since-2000-01-01.md"
    text = entry.read_text(encoding="utf-8")
    assert "# Work on inventory since 2000-01-01" in text
    assert "Add the stock table" in text and "Fix orders returning one item" in text
    assert events[-1]["status"] == "done"
    assert not (repo / "journal").exists()


def test_an_entry_never_replaces_a_file(tmp_path: Path) -> None:
    first = write_new(tmp_path, "2026-11-26-x", "one\n")
    (tmp_path / "2026-11-26-x-2.md").write_text("someone else's\n", encoding="utf-8")
    third = write_new(tmp_path, "2026-11-26-x", "three\n")
    assert first.name == "2026-11-26-x.md" and third.name == "2026-11-26-x-3.md"
    assert first.read_text() == "one\n" and third.read_text() == "three\n"
    assert (tmp_path / "2026-11-26-x-2.md").read_text() == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-11-26-x-2.md",
        "2026-11-26-x-3.md",
        "2026-11-26-x.md",
    ]  # fmt: skip  (no temporary file left behind)
    assert slugify("Ünïcode: a/b — C++ & more!") == "unicode-a-b-c-more"
    assert slugify("!!!") == "entry"


async def test_mao_journal_in_the_dashboard_writes_the_entry_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "mao.db"
    await asyncio.to_thread(_develop_session, db, capsys)
    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=db, simulate=True, speed=math.inf,
        faults=False,
    )  # fmt: skip
    req = await journal_request(launch.settings(), db_path=db, project_dir=tmp_path, simulated=True)
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.pause()
        assert list(screen.lanes) == [
            "technical_summary", "process_reflection", "lessons_learned", "synthesis",
        ]  # fmt: skip
        notes = screen.lanes["synthesis"].notes
        (entry,) = (tmp_path / "journal").iterdir()
        assert notes == [f"✓ journal written to {entry}"]
        assert "# Build the snippet store" in screen.panels["synthesis"].answer.source
        await pilot.press("q")

    # Reviewed later: the stored entry's line is shown again, and a new synthesis (`s`)
    # writes a new entry beside the first.
    review = OpenSession(launch, review_id=req.session_id)
    app = MaoApp(review.run, control=review, simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), GUARD_S)
        await pilot.pause()
        assert screen.lanes["synthesis"].notes == [f"✓ journal written to {entry}"]
        screen.plan_table.focus()
        screen.plan_table.cursor_row = list(screen.lanes).index("synthesis")
        await pilot.pause()
        await pilot.press("s")
        await asyncio.wait_for(screen.ended(2), GUARD_S)
        await pilot.pause()
        second = entry.with_name(entry.stem + "-2.md")
        assert screen.lanes["synthesis"].notes[-1] == f"✓ journal written to {second}"
        await pilot.press("q")
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted([entry.name, second.name])


async def test_a_journal_that_cannot_be_written_fails_the_session(tmp_path: Path) -> None:
    blocker = tmp_path / "journal"
    blocker.write_text("a file where the folder should be\n", encoding="utf-8")
    sim = await start_sim()
    try:
        seen, finished = await _journal_on_engine(settings_for(sim), JournalWriter(blocker, "x"))
    finally:
        await sim.stop()
    assert finished.status == "failed"
    assert finished.error is not None and finished.error.startswith("journal not written: ")
    (written,) = seen
    assert written.path is None and written.error and str(blocker) in written.error


async def _journal_on_engine(
    settings: Settings, writer: JournalWriter
) -> tuple[list[OutputWritten], SessionFinished]:
    seen: list[OutputWritten] = []

    async def sink(event: EngineEvent) -> None:
        if isinstance(event, OutputWritten):
            seen.append(event)

    pool = ProviderPool(settings, simulator_env(settings))
    engine = SessionRun(settings, pool, [sink], output=journal_output(writer))
    req = SessionRequest(
        command="journal", playbook="journal", task="x", spec_text="### Work items\n\n- a\n",
        simulated=True,
    )  # fmt: skip
    try:
        finished = await engine.run(req, rule_based_plan(settings, "journal"))
    finally:
        await pool.aclose()
    return seen, finished


@pytest.mark.parametrize("key", ["technical_summary", "process_reflection", "lessons_learned"])
def test_simulated_perspectives_quote_their_source_and_leave_no_placeholder(key: str) -> None:
    from mao_tui.simulator.scripts import script_for

    request = (
        f"(key: {key})\n## The work\ngit history of shop since 2026-01-01 (2 commits)\n\n"
        "## Source material\n### Summary\n\n- repository: shop (/src/shop), branch main\n\n"
        "### Work items\n\n- 1a2b3c4d5e 2026-01-02 Ada: Add the cart\n"
        "- 2b3c4d5e6f 2026-01-03 Ada: Revert the cart\n\n"
        "### Friction\n\n- 2b3c4d5e6f Revert the cart\n"
    )
    script = script_for(key, request)
    assert "{{" not in script.thinking + script.answer
    assert "Work on shop since 2026-01-01" in script.answer
    assert "Revert the cart" in script.answer
    bare = script_for(key, f"(key: {key})")  # no material at all: still a whole answer
    assert "{{" not in bare.thinking + bare.answer and len(bare.answer) > 500
