"""The cost budget (issue 22) end to end on the simulator with the real SDKs: the estimate shown
before the run against the simulator's known token counts, a headless stop at the limit with the
finished outputs stored, the dashboard's question (continue, raise, stop), the configuration's
check and `mao sessions`.

The simulator's scripted answers have fixed usage (4 characters a token), so a second run of the
same task is estimated from the first one's answers: docs/cost-budget.md documents the error.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from mao_tui.cli import main
from mao_tui.engine.request import SessionRequest
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import OpenSession
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.tui import MaoApp
from mao_tui.tui.budget_screen import BudgetScreen
from mao_tui.tui.dashboard import DashboardScreen

TASK = "Build the snippet store"
WORKSTREAMS = ["schemas", "storage", "core_logic", "implementation", "tests"]
DOCUMENTED_ERROR = 0.05  # docs/cost-budget.md: with history of the same workstream and model
GUARD_S = 60.0


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _develop(db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict]]:
    argv = ["develop", TASK, "--simulate", "--json", "--speed", "inf", "--db", str(db), *extra]
    code = main(argv)
    return code, _events(capsys.readouterr().out)


def _one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["type"] == kind]
    return event


def _actual_by_workstream(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    usage = {e["workstream"]: e["usage"] for e in events if e["type"] == "workstream_finished"}
    usage["synthesis"] = _one(events, "synthesis_finished")["usage"]
    return usage


def test_the_estimate_before_the_run_is_within_the_documented_error(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = _develop(db_path, capsys)
    assert code == 0
    # No history yet: each answer is taken at the model's max output, an upper bound.
    for row in _one(first, "cost_estimate")["rows"]:
        assert row["output_source"] == "max_output"
        actual = _actual_by_workstream(first)[row["workstream"]]
        assert row["cost_usd"] >= actual["cost_usd"], row["workstream"]

    code, second = _develop(db_path, capsys)
    assert code == 0
    estimate = _one(second, "cost_estimate")
    actual = _actual_by_workstream(second)
    assert [r["workstream"] for r in estimate["rows"]] == [*WORKSTREAMS, "synthesis"]
    for row in estimate["rows"]:
        used = actual[row["workstream"]]
        assert row["output_source"] == "history" and row["same_workstream"]
        for mine, theirs in (
            (row["input_tokens"], used["input_tokens"]),
            (row["output_tokens"], used["output_tokens"]),
            (row["cost_usd"], used["cost_usd"]),
        ):
            assert abs(mine - theirs) <= DOCUMENTED_ERROR * theirs, (row, used)
    spent = _one(second, "session_finished")["totals"]["cost_usd"]
    assert estimate["complete"] is True
    assert abs(estimate["total_usd"] - spent) <= DOCUMENTED_ERROR * spent
    # Stored with the session, beside what it cost: the estimate's error is visible.
    assert main(["sessions", "show", estimate["session_id"], "--db", str(db_path)]) == 0
    shown = capsys.readouterr().out
    assert "## Cost: estimate and actual" in shown
    assert "- Synthesis on opus-5.5: estimated $" in shown


def test_headless_stops_at_the_budget_and_keeps_the_finished_outputs(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, warm = _develop(db_path, capsys)  # the history the estimates come from
    assert code == 0
    total = _one(warm, "session_finished")["totals"]["cost_usd"]
    synthesis = _one(warm, "synthesis_finished")["usage"]["cost_usd"]
    budget = round(total - synthesis / 2, 4)  # room for every workstream, not the synthesis

    code, events = _develop(db_path, capsys, "--budget", str(budget))
    assert code == 1
    assert _one(events, "cost_estimate")["budget_usd"] == budget
    exceeded = _one(events, "budget_exceeded")
    assert (exceeded["workstream"], exceeded["model"], exceeded["budget_usd"]) == (
        "synthesis", "opus-5.5", budget,
    )  # fmt: skip
    assert exceeded["spent_usd"] + exceeded["next_usd"] > budget
    finished = {e["workstream"]: e["status"] for e in events if e["type"] == "workstream_finished"}
    assert finished == dict.fromkeys(WORKSTREAMS, "done")
    assert _one(events, "synthesis_finished")["status"] == "cancelled"
    end = events[-1]
    assert end["type"] == "session_finished" and end["status"] == "failed"
    assert end["error"].startswith(f"budget ${budget:.4f} reached")
    assert end["totals"]["cost_usd"] <= budget
    assert not [
        e for e in events if e["type"] == "attempt_started" and e["workstream"] == "synthesis"
    ]
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute(
            "SELECT workstream, length(output_text) FROM attempts"
            " WHERE session_id = ? AND status = 'ok'",
            (end["session_id"],),
        ).fetchall()
        (row,) = conn.execute(
            "SELECT status, budget_usd FROM sessions WHERE id = ?", (end["session_id"],)
        ).fetchall()
    outputs = {ws: chars for ws, chars in stored if ws in WORKSTREAMS}
    assert set(outputs) == set(WORKSTREAMS) and min(outputs.values()) > 200
    assert row == ("failed", budget)
    # `mao sessions` shows what it cost against its budget.
    assert main(["sessions", "--db", str(db_path)]) == 0
    listing = capsys.readouterr().out
    assert "COST / BUDGET" in listing
    assert f" / ${budget:,.2f}" in listing


def test_headless_progress_shows_the_estimate_with_the_plan(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["develop", TASK, "--simulate", "--headless", "--speed", "inf", "--db", str(db_path)]
    assert main([*argv, "--budget", "$0.001"]) == 1
    err = capsys.readouterr().err
    assert "estimate: $" in err and "budget $0.0010 — over budget" in err
    assert "  Synthesis on opus-5.5: $" in err and "max output, no history" in err
    assert "✗ budget $0.0010 reached" in err


async def _dashboard_at_the_limit(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Launch, SessionRequest, float]:
    """A warm-up run for the history, then a request whose budget leaves the synthesis out."""
    code, warm = await asyncio.to_thread(_develop, db, capsys)
    assert code == 0
    total = _one(warm, "session_finished")["totals"]["cost_usd"]
    budget = round(total - _one(warm, "synthesis_finished")["usage"]["cost_usd"] / 2, 4)
    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=db, simulate=True, speed=math.inf,
        faults=False,
    )  # fmt: skip
    req = SessionRequest(
        command="develop", playbook="develop", task=TASK, simulated=True, project_dir=tmp_path,
        budget_usd=budget,
    )  # fmt: skip
    return launch, req, budget


async def _question(app: MaoApp, pilot: Pilot[int]) -> BudgetScreen:
    """The budget question, once the dashboard has asked it."""

    async def asked() -> BudgetScreen:
        while not isinstance(app.screen, BudgetScreen):
            await pilot.pause()  # until the messages posted so far are handled
        return app.screen

    return await asyncio.wait_for(asked(), GUARD_S)


async def test_the_dashboard_asks_and_continue_runs_the_rest(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    launch, req, budget = await _dashboard_at_the_limit(db_path, tmp_path, capsys)
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        question = await _question(app, pilot)
        assert f"would pass the budget of ${budget:.4f}" in str(
            question.query_one("#question").content
        )
        await pilot.click("#continue")
        await asyncio.wait_for(dashboard.ended(1), GUARD_S)
        await pilot.pause()
        assert dashboard.session_result is not None
        assert dashboard.session_result.status == "done"
        assert dashboard.session.budget_usd is None  # continued without a limit
        await pilot.press("q")


async def test_the_dashboard_asks_and_stop_keeps_the_outputs_then_raise_synthesizes(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    launch, req, budget = await _dashboard_at_the_limit(db_path, tmp_path, capsys)
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True)
    async with app.run_test(size=(160, 48)) as pilot:
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        await _question(app, pilot)
        status = str(dashboard.status_bar.content)
        assert f" / ${budget:.4f} budget" in status
        await pilot.click("#stop")
        await asyncio.wait_for(dashboard.ended(1), GUARD_S)
        await pilot.pause()
        result = dashboard.session_result
        assert result is not None and result.status == "failed"
        assert result.error is not None and "remaining work stopped" in result.error
        for key in WORKSTREAMS:
            assert dashboard.lanes[key].status == "done", key
            assert len(dashboard.panels[key].answer.source) > 200, key
        assert dashboard.lanes["synthesis"].status != "done"
        # The finished outputs are synthesizable: `s` asks again; a raised budget lets it run.
        await pilot.press("s")
        question = await _question(app, pilot)
        suggested = float(question.query_one("#new-budget", Input).value)
        assert suggested > budget
        await pilot.click("#raise")
        await asyncio.wait_for(dashboard.ended(2), GUARD_S)
        await pilot.pause()
        assert dashboard.lanes["synthesis"].status == "done"
        assert dashboard.session.budget_usd == suggested
        assert f" / ${suggested:.4f} budget" in str(dashboard.status_bar.content)
        await pilot.press("q")


def test_a_budget_that_is_not_a_positive_amount_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.yaml").write_text("global:\n  budget: -2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings([shipped_config_dir(), tmp_path])
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 'models.yaml'}:2: global.budget:")
    assert "greater than 0" in problem
    (tmp_path / "models.yaml").write_text("global:\n  budget: 2.5\n", encoding="utf-8")
    assert load_settings([shipped_config_dir(), tmp_path]).registry.global_.budget == 2.5
    with pytest.raises(SystemExit) as exit_info:
        main(["develop", "x", "--simulate", "--headless", "--budget", "0"])
    assert exit_info.value.code == 2
    assert "--budget: expects an amount in US dollars above 0" in capsys.readouterr().err


async def test_plan_review_shows_the_estimate_against_the_budget(tmp_path: Path) -> None:
    from dataclasses import replace

    from mao_tui.cli.running import _plan_reviewer
    from mao_tui.domain import Plan
    from mao_tui.tui.plan_review import PlanReviewScreen

    launch = Launch(
        project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db", simulate=True,
        speed=math.inf, faults=False,
    )  # fmt: skip
    req = SessionRequest(
        command="develop", playbook="develop", task=TASK, simulated=True, project_dir=tmp_path,
        budget_usd=3.0,
    )  # fmt: skip
    app_ref: list[MaoApp] = []
    reviewer = _plan_reviewer(launch, app_ref)
    shown = asyncio.Event()

    async def review(plan: Plan) -> Plan | None:
        shown.set()
        return await reviewer(plan)

    session = OpenSession(launch, replace(req, review=review))
    app = MaoApp(session.run, control=session, simulated=True)
    app_ref.append(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(shown.wait(), GUARD_S)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanReviewScreen)
        text = str(screen.query_one("#review-estimate", Static).render())
        assert "estimate: $" in text and "budget $3.00" in text
        assert "Synthesis on opus-5.5:" in text and "max output, no history" in text
        await pilot.press("escape")
