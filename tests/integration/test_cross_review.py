"""Blind cross-review end to end on the simulator, through the real SDKs (issue 19's Done-when:
"Cross-review requests carry no model names, and no reviewer ranks its own output (checked
from the stored prompts)"): `mao develop --simulate --candidates N --cross-review --json`.

On the simulator (simulator/candidates.py) opus-5.5's candidate fails the tests and the
others pass; each reviewer puts the failing answer last and orders the rest by its own taste,
so on three candidates sonnet-5.5 and gpt-6.2-sol tie on verification and the reviews pick
gpt-6.2-sol, where without them the earlier one (sonnet-5.5) is kept.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import develop_argv, put_python_on_path, rows

from mao_tui.cli import main
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.simulator import candidates as simulated

_SHOWN = re.compile(
    r"^### Answer (?P<label>[A-Z])\n\n(?P<fence>`{3,})markdown\n(?P<body>.*?)\n(?P=fence)$",
    re.M | re.S,
)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    put_python_on_path(monkeypatch)
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _events(text: str, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [e for e in found if e["type"] == kind]


def _names(models: list[str]) -> list[str]:
    """Every name that could tell one of ``models``, and every model's id and API name (from
    config/models.yaml)."""
    settings = load_settings([shipped_config_dir()])
    names = [n for m, spec in settings.registry.models.items() for n in (m, spec.api_model)]
    for model in models:
        spec = settings.model(model)
        names += [model, spec.api_model, spec.provider, spec.display_name or model]
        names += [n for n in (spec.family, spec.series) if n]
    return names


def _borda(reviews: list[dict[str, Any]]) -> dict[int, float]:
    """The hand computation: a reviewer ranking k answers gives the i-th (from 0)
    (k - 1 - i) / (k - 1); a candidate's score is the mean over the valid reviews that saw it."""
    points: dict[int, list[float]] = {}
    for review in reviews:
        ranking, labels = review["ranking"], review["labels"]
        for i, label in enumerate(ranking):
            points.setdefault(labels[label], []).append((len(ranking) - 1 - i) / (len(ranking) - 1))
    return {n: sum(p) / len(p) for n, p in points.items()}


def _run(db: Path, count: int, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = develop_argv("--candidates", str(count), "--cross-review", "--json", "--db", str(db))
    assert main([*argv, *extra]) == 0
    return capsys.readouterr().out


def test_reviews_are_blind_aggregated_by_borda_and_decide_a_verification_tie(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    out = _run(db, 3, capsys, "--apply", "--yes")
    models = [e["model"] for e in _events(out, "candidate_started")]
    assert models == ["sonnet-5.5", "gpt-6.2-sol", "opus-5.5"]
    number = {m: n for n, m in enumerate(models, 1)}

    # (a) from the stored prompts: no name that tells a candidate's model; never its own answer
    stored = rows(db, "SELECT reviewer, model, labels, prompt, answer FROM candidate_reviews")
    assert sorted(r[0] for r in stored) == [1, 2, 3]
    answers = dict(
        rows(
            db,
            "SELECT model, output_text FROM attempts WHERE workstream = 'implementation' "
            "AND status = 'ok' ORDER BY seq LIMIT 3",
        )
    )
    assert "Drafted by claude-sonnet-5-5" in answers["sonnet-5.5"]  # the candidates name themselves
    for reviewer, model, labels_json, prompt, _ in stored:
        labels = json.loads(labels_json)
        lowered = prompt.lower()
        for name in _names(models):
            assert name.lower() not in lowered, (model, name)
        assert number[model] == reviewer and reviewer not in labels.values()
        shown = {m["label"]: m["body"] for m in _SHOWN.finditer(prompt)}
        assert sorted(shown) == sorted(labels) == ["A", "B"]
        own = simulated.approach_for(_api(model))
        assert f"Approach: {own}" not in prompt  # its own answer is not among those shown
        for label, candidate in labels.items():
            theirs = simulated.approach_for(_api(models[candidate - 1]))
            assert f"Approach: {theirs}" in shown[label]
            assert "Drafted by [model]." in shown[label]

    # (b) the aggregate is the hand computation over the reviews' rankings
    reviewed = _events(out, "candidate_reviewed")
    assert len(reviewed) == 3 and all(not e["review"]["error"] for e in reviewed)
    [selected] = _events(out, "candidate_selected")
    cross = selected["cross_review"]
    expected = _borda([e["review"] for e in reviewed])
    assert {int(n): s for n, s in cross["scores"].items()} == pytest.approx(expected)
    assert expected == pytest.approx({1: 0.5, 2: 1.0, 3: 0.0})
    assert cross["order"] == [2, 1, 3] and cross["excluded"] == [] and cross["dissenters"] == []
    assert cross["between_reviewers"] is None  # with three, no two reviewers share a pair
    assert cross["disagreement"] == 0.0

    # (c) sonnet-5.5 and gpt-6.2-sol tie on verification; the cross-review decides
    assert selected["model"] == "gpt-6.2-sol"
    assert selected["reason"].startswith("verification: 1 passed, 0 failed; same verification")
    assert "cross-review decided" in selected["reason"]
    assert [c["review_score"] for c in selected["candidates"]] == [0.5, 1.0, 0.0]
    [finished] = [
        e for e in _events(out, "workstream_finished") if e["workstream"] == "implementation"
    ]
    assert finished["model"] == "gpt-6.2-sol"

    # the reviews are the workstream's attempts: they cost, and the session's cost counts them
    attempts = rows(db, "SELECT count(*) FROM attempts WHERE workstream = 'implementation'")
    assert attempts == [(6,)]
    review_cost = sum(e["review"]["cost_usd"] for e in reviewed)
    assert review_cost > 0 and cross["cost_usd"] == pytest.approx(review_cost)
    [(spent,)] = rows(db, "SELECT sum(cost_usd) FROM attempts")
    [session_done] = _events(out, "session_finished")
    assert session_done["totals"]["cost_usd"] == pytest.approx(spent)

    session = _events(out, "session_started")[0]["session_id"]
    assert main(["sessions", "--db", str(db), "show", session[:12]]) == 0
    shown_text = capsys.readouterr().out
    assert "#### Blind cross-review" in shown_text
    assert "#2 gpt-6.2-sol 1.00, #1 sonnet-5.5 0.50, #3 opus-5.5 0.00" in shown_text
    assert "#### Candidate #1: sonnet-5.5 (not selected)" in shown_text
    assert "Drafted by claude-sonnet-5-5" in shown_text  # its answer, not its review


def test_a_malformed_review_is_excluded_and_reported(
    tmp_path: Path,
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulated, "MALFORMED_REVIEWERS", frozenset({"gemini-4-argon"}))
    db = tmp_path / "m.db"
    out = _run(db, 4, capsys)
    models = [e["model"] for e in _events(out, "candidate_started")]
    assert models[3] == "gemini-4-argon"
    reviewed = {e["review"]["model"]: e["review"] for e in _events(out, "candidate_reviewed")}
    bad = reviewed["gemini-4-argon"]
    assert bad["ranking"] == [] and bad["error"] == "no RANKING line"
    [selected] = _events(out, "candidate_selected")
    cross = selected["cross_review"]
    assert cross["excluded"] == [4]
    valid = [r for m, r in reviewed.items() if m != "gemini-4-argon"]
    assert {int(n): s for n, s in cross["scores"].items()} == pytest.approx(_borda(valid))
    assert cross["between_reviewers"] is not None and cross["disagreement"] is not None
    assert rows(db, "SELECT error FROM candidate_reviews WHERE model = 'gemini-4-argon'") == [
        ("no RANKING line",)
    ]
    # the stored ledger says it too
    stored = json.loads(rows(db, "SELECT cross_review FROM candidate_races")[0][0])
    assert stored["excluded"] == [4]
    assert "1 review(s) excluded" in _ledger_text(stored)


def _ledger_text(cross: dict[str, Any]) -> str:
    from mao_tui.domain.cross_review import CrossReview

    return CrossReview.model_validate(cross).disagreement_text


def _api(model: str) -> str:
    return load_settings([shipped_config_dir()]).model(model).api_model


def test_qa_races_a_reviewer_and_cross_review_picks_among_unverifiable_answers(
    tmp_path: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "app.py").write_text(
        "import json\n\n\ndef load(p):\n    try:\n        return json.loads(open(p).read())\n"
        "    except:\n        pass\n"
    )
    db = tmp_path / "m.db"
    argv = ["qa", "app.py", "--simulate", "--speed", "inf", "--no-planner", "--json"]
    assert main([*argv, "--candidates", "3", "--cross-review", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    started = _events(out, "candidate_started")
    models = [e["model"] for e in started]
    assert len(models) == 3 and {e["workstream"] for e in started} == {"prd_compliance"}
    verified = _events(out, "candidate_verified")
    assert all(not e["candidate"]["check"]["verified"] for e in verified)  # nothing to verify
    reviewed = _events(out, "candidate_reviewed")
    assert len(reviewed) == 3 and all(e["review"]["ranking"] for e in reviewed)
    for model, prompt in rows(db, "SELECT model, prompt FROM candidate_reviews"):
        for name in _names(models):
            assert name.lower() not in prompt.lower(), (model, name)
        assert f"Approach: {simulated.approach_for(_api(model))}" not in prompt
    [selected] = _events(out, "candidate_selected")
    cross = selected["cross_review"]
    assert {int(n): s for n, s in cross["scores"].items()} == pytest.approx(
        _borda([e["review"] for e in reviewed])
    )
    assert selected["number"] == cross["order"][0]
    assert "cross-review decided" in selected["reason"]
    assert _events(out, "qa_report")  # the selected review feeds the report as any other


def test_cross_review_without_a_race_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = develop_argv("--cross-review", "--headless", "--db", str(tmp_path / "m.db"))
    assert main(argv) == 2
    assert "--cross-review ranks a race's candidates" in capsys.readouterr().err
