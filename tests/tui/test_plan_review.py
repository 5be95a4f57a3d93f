"""--review-plan through the dashboard: change a model, drop a workstream, accept; or stop."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from mao_tui.cli.running import plan_reviewer
from mao_tui.domain import Plan
from mao_tui.engine.session import SessionRequest
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.store import Store
from mao_tui.tui import MaoApp
from mao_tui.tui.dialogs import ModelPicker
from mao_tui.tui.plan_review import PlanReviewScreen

GUARD_S = 60.0


def _app(tmp_path: Path) -> tuple[MaoApp, asyncio.Event, Launch]:
    launch = Launch(project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db",
                    simulate=True, speed=1000.0, faults=False)  # fmt: skip
    req = SessionRequest(command="develop", playbook="develop", task=DEMO_TASK,
                         spec_text=demo_spec(), simulated=True, project_dir=tmp_path)  # fmt: skip
    shown = asyncio.Event()
    app_ref: list[MaoApp] = []
    reviewer = plan_reviewer(launch, app_ref)

    async def review(plan: Plan) -> Plan | None:
        shown.set()
        return await reviewer(plan)

    session = OpenSession(launch, replace(req, review=review))
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    app_ref.append(app)
    return app, shown, launch


async def test_review_changes_a_model_drops_a_workstream_and_runs_the_result(
    tmp_path: Path,
) -> None:
    app, shown, launch = _app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(shown.wait(), GUARD_S)
        await pilot.pause()
        review = app.screen
        assert isinstance(review, PlanReviewScreen)
        assert review.plan.source == "orchestrator"
        summary = str(review.query_one("#review-summary").render())
        assert "plan by orchestrator · diversity 0.90" in summary
        await pilot.press("down", "d")  # drop Storage
        await pilot.press("up", "m")  # Schemas: pick another model
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        ids = [choice.id for choice in picker._choices]
        # today's models only: retired history (Sonnet 4.5, Gemini 3 Pro, ...) is no choice
        assert {"sonnet-4.5", "gemini-3-pro", "gpt-5.2-codex"}.isdisjoint(ids)
        assert {"opus-5.5", "gpt-6.2-astra", "gemini-4-argon", "opus-4.5"} <= set(ids)
        options = picker.query_one("#model-options")
        options.highlighted = ids.index("gemini-4-hydrogen")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is review and review.models == {"schemas": "gemini-4-hydrogen"}
        await pilot.press("enter")  # accept
        await asyncio.wait_for(app.session_done.wait(), GUARD_S)
        await pilot.pause()
    store = await Store.open(launch.db_path)
    try:
        (summary_row,) = await store.list_sessions()
        detail = await store.get_session(summary_row.id)
    finally:
        await store.close()
    assert detail is not None and detail.plan is not None
    keys = [ws.key for ws in detail.plan.workstreams]
    assert keys == ["schemas", "core_logic", "implementation", "tests"]
    assert detail.plan.workstreams[0].chain[0] == "gemini-4-hydrogen"
    ran = {a.workstream: a.model for a in detail.attempts}
    assert ran["schemas"] == "gemini-4-hydrogen" and "storage" not in ran


async def test_escape_in_review_stops_before_any_work(tmp_path: Path) -> None:
    app, shown, launch = _app(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await asyncio.wait_for(shown.wait(), GUARD_S)
        await pilot.pause()
        assert isinstance(app.screen, PlanReviewScreen)
        await pilot.press("escape")
        await asyncio.wait_for(app.session_done.wait(), GUARD_S)
    store = await Store.open(launch.db_path)
    try:
        (row,) = await store.list_sessions()
        detail = await store.get_session(row.id)
    finally:
        await store.close()
    assert detail is not None and detail.status == "cancelled"
    assert {a.workstream for a in detail.attempts} <= {"dependency_check", "orchestrator"}
