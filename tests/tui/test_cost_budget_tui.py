"""The cost budget in the dashboard (issue 22): the question at the limit (continue; stop, then
raise and synthesize the kept outputs) and the estimate in the plan review. Simulator, real SDKs,
Pilot."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from fixtures.launches import fast_launch
from textual.pilot import Pilot
from textual.widgets import Input, Static

from mao_tui.cli import main
from mao_tui.engine.request import SessionRequest
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import OpenSession
from mao_tui.tui import MaoApp
from mao_tui.tui.budget_screen import BudgetScreen
from mao_tui.tui.dashboard import DashboardScreen

TASK = "Build the snippet store"
WORKSTREAMS = ["schemas", "storage", "core_logic", "implementation", "tests"]
GUARD_S = 60.0


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _develop(
    db: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]]]:
    """A headless run in ``workspace``: the dashboard's session runs there too, so both see the
    same (no) repository and their prompts are the same size."""
    argv = ["develop", TASK, "--simulate", "--json", "--speed", "inf", "--db", str(db)]
    argv += ["--workspace", str(workspace)]
    code = main(argv)
    return code, _events(capsys.readouterr().out)


def _one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (event,) = [e for e in events if e["type"] == kind]
    return event


async def _dashboard_at_the_limit(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Launch, SessionRequest, float]:
    """A warm-up run for the history, then a request whose budget leaves the synthesis out."""
    code, warm = await asyncio.to_thread(_develop, db, tmp_path, capsys)
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
    """The budget question, once the dashboard has asked it and the dialog is mounted whole
    (its on_mount focuses Stop; under load the screen was seen before its buttons)."""

    async def asked() -> BudgetScreen:
        while not (
            isinstance(app.screen, BudgetScreen)
            and app.focused is not None
            and app.focused.id == "stop"
        ):
            await pilot.pause()  # until the messages posted so far are handled
        assert isinstance(app.screen, BudgetScreen)
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


async def test_plan_review_shows_the_estimate_against_the_budget(tmp_path: Path) -> None:
    from dataclasses import replace

    from mao_tui.cli.running import plan_reviewer
    from mao_tui.domain import Plan
    from mao_tui.tui.plan_review import PlanReviewScreen

    launch = fast_launch(tmp_path)
    req = SessionRequest(
        command="develop", playbook="develop", task=TASK, simulated=True, project_dir=tmp_path,
        budget_usd=3.0,
    )  # fmt: skip
    app_ref: list[MaoApp] = []
    reviewer = plan_reviewer(launch, app_ref)
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
