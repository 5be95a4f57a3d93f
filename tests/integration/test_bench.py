"""`mao bench` end to end on the simulator (issue 19's bench Done-when): the shipped task set's
per-arm table printed and stored, `--resume` skipping finished task×arm pairs (after a finished
run and after an interrupted one), clear errors with exit 2 for bad task files, and the aider
polyglot / Exercism reader on a fixture tree. Subsets and N=2 keep it short."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fixtures.polyglot import EXAMPLE, write_polyglot

from mao_tui.cli import main
from mao_tui.service import bench_run
from mao_tui.service.bench_tasks import load_task_set, shipped_task_set
from mao_tui.settings.loader import config_layers, load_settings
from mao_tui.simulator.bench import correct_for

# single fails and mao passes roman_numerals; slugify the other way round (simulator/bench.py)
TASKS = "roman_numerals,slugify"


def _bench(db: Path, *extra: str) -> list[str]:
    return [
        "bench",
        "--simulate",
        "--tasks",
        TASKS,
        "--n",
        "2",
        "--fix-rounds",
        "1",
        "--db",
        str(db),
        *extra,
    ]


def _rows(db: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _api(model: str, project: Path) -> str:
    return load_settings(config_layers(project, None)).registry.models[model].api_model


def _expected(project: Path) -> dict[tuple[str, str], bool]:
    single, mao = _api("sonnet-5.5", project), _api("opus-5.5", project)  # routes' first models
    expected = {}
    for task in TASKS.split(","):
        expected[(task, "single")] = correct_for(single, task, 0)
        expected[(task, "mao")] = correct_for(mao, task, 0)
        expected[(task, "best-of-n")] = any(correct_for(single, task, k) for k in (1, 2))
    return expected


def test_simulated_bench_prints_the_table_and_stores_every_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "m.db"
    assert main(_bench(db)) == 0
    out = capsys.readouterr().out
    assert "[SIMULATED]" in out and "SIMULATED: the built-in simulator answered" in out
    for arm in ("single", "best-of-n", "mao"):
        assert any(line.startswith(arm) for line in out.splitlines())

    runs = _rows(db, "SELECT * FROM bench_runs")
    assert len(runs) == 1 and runs[0]["finished"] == 1 and runs[0]["simulated"] == 1
    results = _rows(db, "SELECT * FROM bench_results WHERE run_id = ?", runs[0]["id"])
    got = {(r["task"], r["arm"]): bool(r["passed"]) for r in results}
    assert got == _expected(tmp_path)
    assert set(got.values()) == {True, False}  # the scripted answers pass some and fail some
    assert got[("roman_numerals", "mao")] and not got[("roman_numerals", "single")]
    [failed] = [r for r in results if r["arm"] == "mao" and not r["passed"]]
    assert "verification failed (tests) after 1 fix round(s) of 1" in failed["detail"]

    sessions = {r["id"]: r for r in _rows(db, "SELECT * FROM sessions")}
    for r in results:
        ids = json.loads(r["session_ids"])
        assert len(ids) == (2 if r["arm"] == "best-of-n" else 1)
        for sid in ids:  # each arm's run a real stored session, its cost from its usage
            assert sessions[sid]["command"] == "bench" and sessions[sid]["simulated"] == 1
        assert r["cost_usd"] == pytest.approx(sum(sessions[s]["cost_usd"] for s in ids))
        assert r["cost_usd"] > 0 and r["wall_s"] > 0
    assert len(sessions) == 2 * (1 + 1 + 2)

    assert main([*_bench(db, "--resume"), "--json"]) == 0  # finished: nothing runs again
    report = json.loads(capsys.readouterr().out)
    assert len(_rows(db, "SELECT id FROM sessions")) == len(sessions)
    assert report["run"]["id"] == runs[0]["id"]
    assert {(r["task"], r["arm"]): r["passed"] for r in report["results"]} == got
    arms = {a["arm"]: a for a in report["arms"]}
    assert arms["single"]["passed"] == sum(v for (_, a), v in got.items() if a == "single")
    assert 0 <= arms["mao"]["low"] <= arms["mao"]["rate"] <= arms["mao"]["high"] <= 1


def test_an_interrupted_run_keeps_its_results_and_resume_runs_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "m.db"
    argv = _bench(db, "--arms", "single,mao", "--fix-rounds", "0")
    shown = bench_run._line

    def interrupt_after_two(result: Any) -> str:
        if len(_rows(db, "SELECT * FROM bench_results")) >= 2:
            raise KeyboardInterrupt  # as Ctrl+C between two task×arm pairs
        return shown(result)

    monkeypatch.setattr(bench_run, "_line", interrupt_after_two)
    assert main(argv) == 130
    assert "finished results are stored" in capsys.readouterr().err
    kept = {(r["task"], r["arm"]) for r in _rows(db, "SELECT * FROM bench_results")}
    assert kept == {("roman_numerals", "single"), ("roman_numerals", "mao")}
    assert _rows(db, "SELECT finished FROM bench_runs")[0]["finished"] == 0
    before = len(_rows(db, "SELECT id FROM sessions"))
    assert before == 2

    run_id = _rows(db, "SELECT id FROM bench_runs")[0]["id"]
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(name, "not-a-real-key")  # past the key check, to the run's own
    real = [a for a in argv if a != "--simulate"]
    assert main([*real, "--resume", run_id[:12]]) == 2  # a simulated run stays simulated
    assert "was simulated: add --simulate" in capsys.readouterr().err
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name)

    monkeypatch.setattr(bench_run, "_line", shown)
    assert main([*argv, "--resume"]) == 0
    err = capsys.readouterr().err
    assert "2 of 4 task×arm pairs already done" in err
    assert "roman_numerals" not in err.split("already done", 1)[1]  # skipped, not rerun
    assert len(_rows(db, "SELECT id FROM sessions")) == before + 2
    assert len(_rows(db, "SELECT * FROM bench_results")) == 4
    assert _rows(db, "SELECT finished FROM bench_runs")[0]["finished"] == 1


def _task(root: Path, name: str, toml: str, files: dict[str, str] | None = None) -> Path:
    folder = root / name
    (folder / "repo").mkdir(parents=True)
    (folder / "task.toml").write_text(toml)
    for path, text in (files or {"test_x.py": "def test_x() -> None:\n    assert False\n"}).items():
        (folder / "repo" / path).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ('tests = ["test_x.py"]\n', "task.toml: task: Field required"),
        ('task = "do it"\ntests = []\n', "task.toml: tests: List should have at least 1 item"),
        ('task = "do it"\ntests = ["test_y.py"]\n', "task.toml: tests.0: expected a file of repo/"),
        ('task = "do it"\ntests = ["test_x.py"]\ntimeout = 5\n', "task.toml: timeout: Extra"),
        ('task = "do it\n', "task.toml: not valid TOML"),
    ],
)
def test_a_bad_task_file_is_named_with_its_field_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, said: str
) -> None:
    _task(tmp_path / "set", "broken", toml)
    assert main(["bench", "--simulate", str(tmp_path / "set"), "--db", str(tmp_path / "m.db")]) == 2
    err = capsys.readouterr().err
    assert said in err and str(tmp_path / "set" / "broken") in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--arms", "single,council"], "--arms: expected a comma-separated list"),
        (["--tasks", "nope"], "--tasks: no task 'nope'"),
        (["--resume", "01NOSUCHRUN"], "--resume: no bench run '01NOSUCHRUN'"),
        (["--model", "gpt-0"], "--model: unknown model 'gpt-0'"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(["bench", "--simulate", "--db", str(tmp_path / "m.db"), *argv]) == 2
    assert said in capsys.readouterr().err


def test_the_shipped_tasks_fail_untouched_and_pass_with_their_correct_answer(
    tmp_path: Path,
) -> None:
    tasks = load_task_set(shipped_task_set())
    assert len(tasks) == 10
    expected = {"stub": False, "wrong": False, "right": True}
    for variant, passes in expected.items():  # one pytest run per variant over all ten tasks
        root = tmp_path / variant
        for task in tasks:
            answers = task.simulated_answers()
            assert answers is not None
            task.materialize(root / task.name)
            files = {"stub": {}, "wrong": answers[1], "right": answers[0]}[variant]
            for path, text in files.items():
                (root / task.name / path).write_text(text)
        report = tmp_path / f"{variant}.xml"
        tests = [str(root / t.name / test) for t in tasks for test in t.tests]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                f"--rootdir={root}",
                *tests,
            ],
            cwd=root,
            capture_output=True,
            check=False,
        )
        outcome: dict[str, bool] = {t.name: True for t in tasks}
        cases = ElementTree.parse(report).getroot().iter("testcase")
        seen = set()
        for case in cases:
            name = case.get("classname", "").split(".")[0]
            seen.add(name)
            if case.find("failure") is not None or case.find("error") is not None:
                outcome[name] = False
        assert seen == set(outcome)  # every task's tests ran
        assert outcome == dict.fromkeys(outcome, passes), variant


def test_the_polyglot_reader_takes_instructions_and_tests_never_the_example(
    tmp_path: Path,
) -> None:
    write_polyglot(tmp_path / "polyglot")
    [task] = load_task_set(tmp_path / "polyglot")
    assert task.name == "two-fer" and task.tests == ["two_fer_test.py"]
    assert "One for X, one for me." in task.text and "X is `you`" in task.text
    copy = tmp_path / "copy"
    task.materialize(copy)
    assert sorted(p.name for p in copy.rglob("*") if p.is_file()) == [
        "two_fer.py",
        "two_fer_test.py",
    ]
    assert all(EXAMPLE not in text for _, text in task.context())
    test = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *task.tests]
    assert subprocess.run(test, cwd=copy, capture_output=True, check=False).returncode != 0
    (copy / "two_fer.py").write_text(EXAMPLE)  # the example does solve it: the command is right
    assert subprocess.run(test, cwd=copy, capture_output=True, check=False).returncode == 0


def test_a_polyglot_set_runs_on_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_polyglot(tmp_path / "polyglot")
    db = tmp_path / "m.db"
    argv = ["bench", "--simulate", str(tmp_path / "polyglot"), "--arms", "single", "--db", str(db)]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [result] = report["results"]
    # the simulator has no answer for an exercise: its files are not two_fer.py's
    assert result["task"] == "two-fer" and result["passed"] is False


def test_a_bad_polyglot_config_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_polyglot(tmp_path / "polyglot", config={"files": {"solution": ["two_fer.py"]}})
    assert main(["bench", str(tmp_path / "polyglot"), "--db", str(tmp_path / "m.db")]) == 2
    assert ".meta/config.json: files.test: Field required" in capsys.readouterr().err


def test_without_keys_a_real_run_stops_before_any_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    assert main(["bench", "--tasks", "fizzbuzz", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "the single model sonnet-5.5 cannot run here" in err and "--simulate" in err
    assert not db.exists() or not _rows(db, "SELECT * FROM bench_runs")


def test_the_whole_shipped_set_runs_and_a_resume_runs_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "m.db"
    argv = ["bench", "--simulate", "--arms", "single", "--db", str(db)]  # one arm: CI time
    assert main(argv) == 0
    table = capsys.readouterr().out
    single = _api("sonnet-5.5", tmp_path)
    names = [t.name for t in load_task_set(shipped_task_set())]
    passed = sum(correct_for(single, name, 0) for name in names)
    assert any(line.split()[:2] == ["single", f"{passed}/10"] for line in table.splitlines())
    stored = _rows(db, "SELECT task, passed FROM bench_results")
    assert {r["task"]: bool(r["passed"]) for r in stored} == {
        name: correct_for(single, name, 0) for name in names
    }
    sessions = len(_rows(db, "SELECT id FROM sessions"))
    assert sessions == 10
    assert main([*argv, "--resume"]) == 0
    assert capsys.readouterr().out == table  # the same run's table, nothing run again
    assert len(_rows(db, "SELECT id FROM sessions")) == sessions
