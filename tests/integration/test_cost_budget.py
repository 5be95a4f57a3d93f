"""The cost budget (issue 22) headless, on the simulator with the real SDKs: the estimate shown
before the run against the simulator's known token counts, a stop at the limit with the finished
outputs stored, the configuration's check and `mao sessions`. The dashboard's side is in
tests/tui/test_cost_budget_tui.py.

The simulator's scripted answers have fixed usage (4 characters a token), so a second run of the
same task is estimated from the first one's answers: docs/cost-budget.md documents the error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mao_tui.cli import main
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir

TASK = "Build the snippet store"
WORKSTREAMS = ["schemas", "storage", "core_logic", "implementation", "tests"]
DOCUMENTED_ERROR = 0.05  # docs/cost-budget.md: with history of the same workstream and model


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _develop(
    db: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, list[dict[str, Any]]]:
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
