"""`mao qa`: the score arithmetic, review validation and repair, de-duplication, targets (files,
directories, git diffs), storage, export, headless output and the TUI, end to end on the
simulator with the real SDKs."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fixtures.git_repo import committed_repo
from fixtures.pilots import until
from fixtures.qa_project import FAST, UTIL, project, qa_launch, qa_request

from mao_tui.cli import main
from mao_tui.domain import EngineEvent, FallbackEvent, QaReportReady, SessionFinished
from mao_tui.domain.qa_records import QaReport, ReportFinding, ReviewFinding
from mao_tui.domain.stored import SessionDetail
from mao_tui.playbooks import qa_review
from mao_tui.playbooks.qa_targets import collect, collect_diff
from mao_tui.render.export import render
from mao_tui.service.launch import run_session
from mao_tui.settings.schema import QaConfig
from mao_tui.simulator.faults import FaultRule
from mao_tui.store import Store

WEIGHTS = {
    "prd_compliance": 30.0,
    "error_handling": 25.0,
    "type_safety": 20.0,
    "architecture": 15.0,
    "security": 10.0,
}
QA = QaConfig(weights=WEIGHTS, fixes={k: f"fix_{k}" for k in WEIGHTS})

# -- the weighted score, by hand ---------------------------------------------------------------


def test_the_weighted_score_over_all_five_reviewers() -> None:
    scores = {
        "prd_compliance": 80.0,
        "error_handling": 70.0,
        "type_safety": 90.0,
        "architecture": 60.0,
        "security": 50.0,
    }
    score = qa_review.weighted_score(WEIGHTS, scores, min_coverage=50)
    # 0.30·80 + 0.25·70 + 0.20·90 + 0.15·60 + 0.10·50 = 24 + 17.5 + 18 + 9 + 5
    assert score.value == 73.5
    assert (score.coverage, score.missing, score.renormalized) == (100, [], False)
    assert score.note == "weighted over all 5 reviewers"


def test_a_missing_reviewer_renormalizes_over_the_rest_and_says_which() -> None:
    scores: dict[str, float | None] = {
        "prd_compliance": 80.0,
        "error_handling": 70.0,
        "type_safety": 90.0,
        "architecture": 60.0,
        "security": None,
    }
    score = qa_review.weighted_score(
        WEIGHTS, scores, min_coverage=50, titles={"security": "Security"}
    )
    # (24 + 17.5 + 18 + 9) / 0.90 = 68.5 / 0.9 = 76.11…
    assert score.value == 76.1
    assert (score.coverage, score.missing, score.renormalized) == (90, ["security"], True)
    assert "renormalized over 4 of 5 reviewers (90% of the weight); missing: Security" in (
        score.note
    )


def test_exactly_the_minimum_coverage_still_scores_and_below_it_refuses() -> None:
    half = {"prd_compliance": 80.0, "type_safety": 90.0}  # 30 + 20 = 50 % of the weight
    score = qa_review.weighted_score(WEIGHTS, half, min_coverage=50)
    assert score.value == 84.0  # (30·80 + 20·90) / 50 = (2400 + 1800) / 50
    too_little = {"prd_compliance": 80.0, "architecture": 60.0}  # 45 %
    refused = qa_review.weighted_score(WEIGHTS, too_little, min_coverage=50)
    assert refused.value is None and refused.coverage == 45
    assert refused.note.startswith("no score: only 45% of the weight was reviewed, 50% needed")
    none = qa_review.weighted_score(WEIGHTS, {}, min_coverage=50)
    assert none.value is None and none.missing == list(WEIGHTS)


# -- a reviewer's JSON ------------------------------------------------------------------------

FILES = {"src/app.py": 20, "src/util.py": 8}


def _review(**finding: Any) -> str:
    base = {"severity": "high", "file": "src/app.py", "line": 7, "title": "eval", "detail": "d"}
    body = {"score": 61, "summary": "s", "findings": [{**base, **finding}]}
    return f"Here it is:\n```json\n{json.dumps(body)}\n```\n"


def test_a_valid_review_parses_and_paths_are_normalized() -> None:
    review, problems = qa_review.parse_review(_review(file="./src/app.py"), FILES)
    assert problems == [] and review is not None
    assert review.score == 61 and review.findings[0].file == "src/app.py"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_review(severity="severe"), "findings.0.severity: Input should be 'critical'"),
        (_review(file="src/other.py"), "findings.0.file: 'src/other.py' is not a reviewed file"),
        (_review(line=99), "findings.0.line: 99 is past the end of src/app.py (20 lines)"),
        (_review(line=0), "findings.0.line: Input should be greater than or equal to 1"),
        ('```json\n{"score": 70, "findings": [}\n```', "the JSON does not parse"),
        ("I found nothing worth reporting.", "no JSON object in the reply"),
        ('```json\n{"score": 170}\n```', "score: Input should be less than or equal to 100"),
        ('```json\n{"findings": []}\n```', "score: Field required"),
    ],
)
def test_an_invalid_review_names_the_field_and_the_problem(text: str, problem: str) -> None:
    review, problems = qa_review.parse_review(text, FILES)
    assert review is None
    assert any(problem in p for p in problems), problems


# -- de-duplication and categories ------------------------------------------------------------


def _finding(title: str, line: int | None = 14, severity: str = "high") -> ReviewFinding:
    return ReviewFinding.model_validate(
        {"severity": severity, "file": "src/app.py", "line": line, "title": title}
    )


def test_same_place_and_similar_title_merge_keeping_the_worst_severity() -> None:
    merged = qa_review.dedupe(
        [
            ("error_handling", _finding("Exception swallowed by a bare except", severity="high")),
            ("security", _finding("Bare except swallows the exception", severity="critical")),
            ("type_safety", _finding("Return type is Any")),  # same place, another problem
            ("architecture", _finding("Exception swallowed by a bare except", line=30)),
        ],
        fix_kind_of=lambda reviewer: reviewer,
    )
    assert [(f.id, f.line, f.severity, f.reviewers) for f in merged] == [
        ("F1", 14, "critical", ["error_handling", "security"]),
        ("F2", 14, "high", ["type_safety"]),
        ("F3", 30, "high", ["architecture"]),
    ]
    assert merged[0].title == "Bare except swallows the exception"  # the critical one's words
    assert merged[0].fix_kind == "security"


def test_titles_similar_or_not() -> None:
    assert qa_review.similar_titles("SQL built by string formatting", "SQL built with formatting")
    assert qa_review.similar_titles("Missing error handling", "missing error-handling")
    assert not qa_review.similar_titles("SQL injection", "Unused import")


def _merged() -> list[ReportFinding]:
    return qa_review.dedupe(
        [
            ("security", _finding("eval on input", severity="critical")),
            ("type_safety", _finding("Any", line=2)),
        ],
        fix_kind_of=lambda reviewer: reviewer,
    )


def test_the_synthesis_categories_decide_the_fix_kind_and_routing_the_model() -> None:
    text = (
        "Verdict.\n\n```json qa-categories\n"
        + json.dumps(
            {
                "categories": [
                    {"name": "Injection", "fix_kind": "architecture", "findings": ["F1"]},
                    {"name": "Typing", "fix_kind": "no-such-kind", "findings": ["F2", "F9"]},
                ]
            }
        )
        + "\n```\n"
    )
    routes = {"fix_architecture": "opus-5.5", "fix_type_safety": "gpt-6.2-sol"}
    report = qa_review.build_report(
        "t", [], _merged(), qa_review.weighted_score(WEIGHTS, {}, min_coverage=50), QA,
        text, "opus-5.5", routes.get,
    )  # fmt: skip
    f1, f2 = report.findings
    assert (f1.category, f1.fix_kind, f1.fix_route, f1.assigned_model) == (
        "Injection", "architecture", "fix_architecture", "opus-5.5",
    )  # fmt: skip
    # an unknown fix kind falls back to the reviewer's own
    assert (f2.category, f2.fix_kind, f2.assigned_model) == (
        "Typing",
        "type_safety",
        "gpt-6.2-sol",
    )
    assert report.categorized_by == "model" and report.synthesis_note == "Verdict."


def test_unusable_categories_leave_the_reviewers_dimensions_and_say_so() -> None:
    report = qa_review.build_report(
        "t", [], _merged(), qa_review.weighted_score(WEIGHTS, {}, min_coverage=50), QA,
        "Verdict.\n```json qa-categories\n{not json}\n```", "opus-5.5", lambda route: None,
    )  # fmt: skip
    assert report.categorized_by == "code"
    assert [f.category for f in report.findings] == ["security", "type_safety"]
    assert "Categorized by code (the synthesis categories were unusable" in report.synthesis_note


# -- targets ----------------------------------------------------------------------------------


def test_directories_skip_binaries_huge_files_and_tool_folders_and_say_so(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "src" / "logo.png").write_bytes(b"\x89PNG\x00\x01")
    (tmp_path / "src" / "big.py").write_text("x = 1\n" * 60_000)
    (tmp_path / "src" / "__pycache__").mkdir()
    (tmp_path / "src" / "__pycache__" / "app.py").write_text("x = 1\n")
    found = collect(["src"], tmp_path)
    assert [p for p, _ in found.files] == ["src/app.py", "src/util.py"]
    assert dict(found.skipped) == {
        "src/big.py": "351 KB, over the 256 KB limit",
        "src/logo.png": "binary",
    }
    assert "skipped 2: src/big.py (351 KB, over the 256 KB limit); src/logo.png (binary)" in (
        found.summary()
    )


git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _repo(root: Path) -> Path:
    """The project as a repository whose ignored folder holds a file."""
    project(root)
    return committed_repo(root, {".gitignore": "generated/\n", "generated/out.py": "x = 1\n"})


@git
def test_gitignored_files_in_a_directory_are_skipped(tmp_path: Path) -> None:
    found = collect(["."], _repo(tmp_path))
    assert "generated/out.py" in dict(found.skipped)
    assert dict(found.skipped)["generated/out.py"] == "ignored by .gitignore"
    assert {p for p, _ in found.files} == {".gitignore", "src/app.py", "src/util.py"}


@git
def test_a_git_diff_reviews_the_changed_files_and_shows_the_diff(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "src" / "util.py").write_text(UTIL + "\n\ndef reset():\n    eval('1')\n")
    found = collect_diff("HEAD", root)
    assert [p for p, _ in found.files] == ["src/util.py"]
    assert "+    eval('1')" in found.diff and found.diff_rev == "HEAD"
    with pytest.raises(Exception, match="git diff nope: fatal: ambiguous argument 'nope'"):
        collect_diff("nope", root)


# -- end to end on the simulator ----------------------------------------------------------------


async def _run(
    tmp_path: Path, db: Path, faults: tuple[FaultRule, ...] = ()
) -> tuple[SessionFinished, list[EngineEvent], SessionDetail]:
    project(tmp_path)
    launch = qa_launch(tmp_path, db, faults)
    req = qa_request(launch, ["src"])
    events: list[EngineEvent] = []

    async def sink(event: EngineEvent) -> None:
        events.append(event)

    finished = await run_session(launch, req, [sink])
    store = await Store.open(db)
    try:
        detail = await store.get_session(req.session_id)
    finally:
        await store.close()
    assert detail is not None
    return finished, events, detail


def _report(events: list[EngineEvent]) -> QaReport:
    (event,) = [e for e in events if isinstance(e, QaReportReady)]
    return event.report


async def test_qa_end_to_end_scores_merges_assigns_and_stores(
    db_path: Path, tmp_path: Path
) -> None:
    finished, events, detail = await _run(tmp_path, db_path)
    assert finished.status == "done"
    report = _report(events)
    scores = {r.key: r.score for r in report.reviewers}
    assert all(r.status == "ok" and r.model for r in report.reviewers)
    expected = round(sum(WEIGHTS[k] * s for k, s in scores.items() if s is not None) / 100, 1)
    assert report.score.value == expected
    # the simulated error-handling and security reviewers both flag the swallowed exception
    swallowed = [f for f in report.findings if f.title.startswith("Exception swallowed")]
    assert len(swallowed) == 1 and swallowed[0].reviewers == ["error_handling", "security"]
    assert report.raw_findings == len(report.findings) + 1
    assert report.categorized_by == "model"
    by_title = {f.title: f for f in report.findings}
    assert by_title["eval() on data that can come from outside"].assigned_model == "gpt-6.2-astra"
    assert by_title["Any defeats type checking here"].assigned_model == "gpt-6.2-sol"
    assert [f.id for f in report.findings] == [f"F{i}" for i in range(1, len(report.findings) + 1)]
    assert report.findings[0].severity == "critical"
    assert report.markdown.startswith("# QA report: QA review of src\n")
    assert f"**Weighted score: {expected:g} / 100** (weighted over all 5 reviewers)" in (
        report.markdown
    )
    assert detail.qa_report == report
    with sqlite3.connect(db_path) as conn:
        (score,) = conn.execute("SELECT score FROM qa_reports").fetchone()
        rows = conn.execute(
            "SELECT finding_id, severity, location, assigned_model FROM qa_findings ORDER BY seq"
        ).fetchall()
        stored_scores = dict(conn.execute("SELECT reviewer, score FROM qa_scores").fetchall())
    assert score == expected and stored_scores == scores
    assert rows == [(f.id, f.severity, f.location, f.assigned_model) for f in report.findings]


@pytest.mark.parametrize("reviewer", ["security", "error_handling", "prd_compliance"])
async def test_an_invalid_review_is_repaired_by_the_same_model(
    reviewer: str, db_path: Path, tmp_path: Path
) -> None:
    # security on OpenAI's Responses API, error handling on Anthropic, PRD on Gemini
    rule = FaultRule(kind="bad_json", workstream=reviewer, times=1)
    finished, events, detail = await _run(tmp_path, db_path, (rule,))
    assert finished.status == "done"
    repair = [e for e in events if isinstance(e, FallbackEvent) and e.workstream == reviewer]
    assert [(e.to_model, e.reason) for e in repair] == [("repair round", "invalid review")]
    assert "findings.0.severity: Input should be 'critical'" in repair[0].detail
    attempts = detail.attempts_for(reviewer)
    assert len(attempts) == 2 and attempts[0].model == attempts[1].model
    assert "Your review could not be used" not in attempts[0].output_text
    report = _report(events)
    (result,) = [r for r in report.reviewers if r.key == reviewer]
    assert result.status == "repaired" and result.score is not None
    assert report.score.missing == [] and not report.score.renormalized


async def test_a_review_still_invalid_after_repair_is_a_clear_failure(
    db_path: Path, tmp_path: Path
) -> None:
    rule = FaultRule(kind="bad_json", workstream="security", times=2)
    finished, events, detail = await _run(tmp_path, db_path, (rule,))
    assert finished.status == "failed"
    assert finished.error == "1 workstream(s) did not finish: security"
    lines = [e.line for e in events if isinstance(e, FallbackEvent)]
    assert lines == [
        "Security: fallback from gpt-6.2-astra to repair round (invalid review)",
        "Security: fallback from gpt-6.2-astra to no review (invalid review)",
    ]
    (ws,) = [w for w in detail.workstreams if w.key == "security"]
    assert ws.status == "failed"
    report = _report(events)
    (security,) = [r for r in report.reviewers if r.key == "security"]
    assert security.status == "invalid" and security.score is None
    assert security.error.startswith("invalid review after one repair round: findings.0.severity")
    others = {r.key: r.score for r in report.reviewers if r.key != "security"}
    expected = round(sum(WEIGHTS[k] * s for k, s in others.items() if s is not None) / 90, 1)
    assert report.score.value == expected and report.score.missing == ["security"]
    assert "renormalized over 4 of 5 reviewers (90% of the weight); missing: Security" in (
        report.markdown
    )
    assert "| Security | gpt-6.2-astra | 10% | — | invalid: invalid review after one repair" in (
        report.markdown
    )


async def test_export_carries_the_report_in_markdown_and_json(
    db_path: Path, tmp_path: Path
) -> None:
    _, events, detail = await _run(tmp_path, db_path)
    report = _report(events)
    markdown = render(detail, "markdown")
    assert "## QA report: QA review of src" in markdown
    assert "### Findings (" in markdown and "| F1 | critical | src/app.py:7 |" in markdown
    data = json.loads(render(detail, "json"))
    assert data["qa_report"]["score"]["value"] == report.score.value
    assert [f["id"] for f in data["qa_report"]["findings"]] == [f.id for f in report.findings]


def test_headless_prints_the_score_and_report_and_json_has_the_report_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project(tmp_path))
    db = str(tmp_path / "mao.db")
    common = ["--simulate", "--speed", str(FAST), "--db", db, "--no-planner"]
    assert main(["qa", "src", "--headless", *common]) == 0
    out, err = capsys.readouterr()
    assert "mao qa: 2 files to review" in err and "✓ QA: " in err
    assert out.startswith("# QA report: QA review of src\n\n**Weighted score: ")
    assert main(["qa", "src/app.py", "--json", *common]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (qa_event,) = [e for e in events if e["type"] == "qa_report"]
    assert qa_event["report"]["score"]["value"] is not None
    assert {f["file"] for f in qa_event["report"]["findings"]} == {"src/app.py"}
    assert events[-1]["type"] == "session_finished" and events[-1]["status"] == "done"


@git
def test_qa_of_a_git_diff_in_a_fresh_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    (root / "src" / "util.py").write_text(UTIL + "\n\ndef reset():\n    eval('1')\n")
    monkeypatch.chdir(root)
    argv = ["qa", "--diff", "HEAD", "--headless", "--simulate", "--no-planner", "--speed",
            str(FAST), "--db", str(tmp_path / "mao.db")]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "mao qa: 1 file to review (changed since HEAD)" in err
    assert out.startswith("# QA report: QA review of the changes since HEAD\n")
    assert "src/util.py:12" in out  # the eval the change added
    assert "src/app.py" not in out  # unchanged, so not reviewed
    with sqlite3.connect(tmp_path / "mao.db") as conn:
        (spec,) = conn.execute("SELECT spec_text FROM sessions").fetchone()
    assert "## Changes under review (git diff HEAD)" in spec and "+    eval('1')" in spec


# -- the dashboard -----------------------------------------------------------------------------


async def test_the_dashboard_shows_the_findings_table_and_the_report(
    db_path: Path, tmp_path: Path
) -> None:
    from textual.widgets import Markdown

    from mao_tui.service.live_session import AppBackend, OpenSession
    from mao_tui.tui import MaoApp
    from mao_tui.tui.dashboard import DashboardScreen
    from mao_tui.tui.qa_report import QaReportScreen

    project(tmp_path)
    launch = qa_launch(tmp_path, db_path)
    session = OpenSession(launch, qa_request(launch, ["src"]))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    async with app.run_test(size=(160, 48)) as pilot:

        async def report_shown() -> None:
            while not isinstance(app.screen, QaReportScreen):
                await pilot.pause()

        await asyncio.wait_for(report_shown(), 60)  # it opens by itself when the report comes
        screen = app.screen
        assert isinstance(screen, QaReportScreen)
        report = screen.report
        table = screen.findings
        assert [str(c.label) for c in table.columns.values()] == [
            "id", "severity", "file:line", "title", "reviewer", "assigned model",
        ]  # fmt: skip
        assert table.row_count == len(report.findings) > 0
        first = table.get_row_at(0)
        assert [str(c) for c in first] == [
            "F1", "critical", "src/app.py:7", "eval() on data that can come from outside",
            "security", "gpt-6.2-astra",
        ]  # fmt: skip
        assert screen.query_one("#qa-report", Markdown).source == report.markdown
        await pilot.press("down")
        detail = str(screen.query_one("#qa-detail").render())
        assert report.findings[1].detail.strip()[:30] in detail
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.qa_report == report
        await pilot.press("g")
        assert isinstance(app.screen, QaReportScreen)
        await pilot.press("escape")
        await asyncio.wait_for(app.screen.ended(1), 60)  # type: ignore[attr-defined]
        await pilot.press("q")


async def test_a_stored_qa_session_reviewed_has_its_report_on_g(
    db_path: Path, tmp_path: Path
) -> None:
    from mao_tui.service.live_session import AppBackend
    from mao_tui.tui import MaoApp
    from mao_tui.tui.dashboard import DashboardScreen
    from mao_tui.tui.qa_report import QaReportScreen

    _, events, detail = await _run(tmp_path, db_path)
    app = MaoApp(backend=AppBackend(qa_launch(tmp_path, db_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_review(detail.id)

        async def reviewed() -> None:
            while not (isinstance(app.screen, DashboardScreen) and app.screen.qa_report):
                await pilot.pause()

        await asyncio.wait_for(reviewed(), 30)
        assert isinstance(app.screen, DashboardScreen)  # not opened by itself in review
        assert app.screen.qa_report == _report(events)
        await pilot.press("g")
        assert isinstance(app.screen, QaReportScreen)
        assert app.screen.findings.row_count == len(_report(events).findings)
        await pilot.press("escape", "q")


async def test_home_starts_a_qa_session_that_reviews_its_context_files(
    db_path: Path, tmp_path: Path
) -> None:
    from textual.widgets import Input, Select

    from mao_tui.service.live_session import AppBackend
    from mao_tui.tui import MaoApp
    from mao_tui.tui.home import HomeScreen
    from mao_tui.tui.qa_report import QaReportScreen

    project(tmp_path)
    app = MaoApp(backend=AppBackend(qa_launch(tmp_path, db_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        home = app.screen
        assert isinstance(home, HomeScreen)
        await until(pilot, lambda: any(home.query("#playbook").results(Select)))  # after 1st frame
        home.query_one("#playbook", Select).value = "qa"
        home.query_one("#task", Input).value = "Review the app"
        await pilot.press("f5")
        assert isinstance(app.screen, HomeScreen)  # nothing to review yet: said so
        assert "Context files" in str(home.query_one("#form-error").content)

        home.query_one("#context", Input).value = "src"
        await pilot.press("f5")

        async def report_shown() -> None:
            while not isinstance(app.screen, QaReportScreen):
                await pilot.pause()

        await asyncio.wait_for(report_shown(), 60)
        screen = app.screen
        assert isinstance(screen, QaReportScreen)
        files = {finding.file for finding in screen.report.findings}
        assert files and files <= {"src/app.py", "src/util.py"}
        await pilot.press("escape")
        await asyncio.wait_for(app.screen.ended(1), 60)  # type: ignore[attr-defined]
        await pilot.press("q")
