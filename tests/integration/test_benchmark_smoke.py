"""Smoke runs of every benchmark (tiny sizes, goals not judged, no timing asserted), so that none
of them rots, and the results file: written, read back, compared, tabulated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.__main__ import NAMES, main, run_one
from benchmarks.figures import (
    README_END,
    README_START,
    BenchResult,
    Figure,
    Goal,
    Status,
    compare,
    markdown_table,
    read_results,
    readme_table,
    replace_readme_block,
    to_json,
)

EXPECTED = {
    "startup": {
        "startup.help_ms",
        "startup.first_paint_inside_ms",
        "startup.first_paint_outside_ms",
        "startup.sdks_before_paint",
        "startup.paint_imports_ms",
        "startup.sdk_import_ms",
    },
    "keys": {
        "keys.first_paint_home_ms",
        "keys.first_paint_demo_ms",
        "keys.bare_first_paint_ms",
        "keys.bare_p99_ms",
        "keys.bare_escape_p50_ms",
        "keys.streaming_p99_ms",
        "keys.streaming_lost",
        "keys.finished_p99_ms",
        "keys.finished_lost",
        "keys.misapplied",
    }
    if shutil.which("tmux")
    else set(),  # needs tmux: without it, a note and no figure
    "responsiveness": {
        "responsiveness.7x100.key_p99_ms",
        "responsiveness.7x100.stall_p99_ms",
        "responsiveness.7x100.cpu_pct",
        "responsiveness.7x100.backlog_chars",
    },
    "throughput": {"throughput.chars_per_s"},
    "orchestration": {"orchestration.overhead_ms"},
    "history": {
        "history.sessions_command_ms",
        "history.list_query_ms",
        "history.search_ms",
        "history.screen_open_ms",
        "history.persist_cpu_pct",
    },
    "memory": {"memory.rss_growth_mb"},
}


@pytest.mark.parametrize("name", NAMES)
def test_smoke_run(name: str) -> None:
    result = run_one(name, smoke=True)
    assert result.name == name and result.smoke
    assert len(result.load_at_start) == 3
    assert {f.id for f in result.figures} == EXPECTED[name], result.notes
    for figure in result.figures:
        assert figure.status in ("smoke", "info", "not built"), figure
        if figure.status != "not built":
            assert figure.value is not None, figure


def test_startup_hook_reports_the_first_paint() -> None:
    result = run_one("startup", smoke=True)
    inside = result.figure("startup.first_paint_inside_ms")
    assert inside.value is not None and inside.value > 0
    assert "DashboardScreen" in inside.detail


def test_orchestration_ideal_path_follows_the_plan() -> None:
    from benchmarks.orchestration import LATENCY_S

    result = run_one("orchestration", smoke=True)
    detail = result.figure("orchestration.overhead_ms").detail
    # planning, then core_logic → tests (the simulated orchestrator's dependency), then synthesis
    ideal = 0.05 * (
        LATENCY_S["dependency_check"]
        + LATENCY_S["orchestrator"]
        + max(LATENCY_S["core_logic"] + LATENCY_S["tests"], LATENCY_S["implementation"])
        + LATENCY_S["synthesis"]
    )
    assert f"ideal critical path {ideal:.2f} s" in detail
    assert "core_logic end → tests start" in detail


def _result(value: float, status: Status = "met") -> BenchResult:
    figure = Figure("x.ms", "x", value, "ms", Goal("<=", 10, "≤ 10 ms"), status=status)
    return BenchResult("x", "2026-01-01T00:00:00+00:00", [0.1, 0.2, 0.3], figures=[figure])


def test_results_file_round_trip_compare_and_table(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    machine = {"cpu": "test cpu", "cores": 2, "packages": {"textual": "8"}}
    path.write_text(to_json([_result(8.0)], machine, ["x"]))
    read_machine, results = read_results(path)
    assert read_machine == machine
    assert results[0].figures[0].goal == Goal("<=", 10, "≤ 10 ms")
    later = _result(12.0, "missed")
    text = compare(results, [later])
    assert "x.ms: 8 ms → 12 ms (+50%)  worse  [met → missed]" in text
    table = markdown_table(read_machine, results)
    assert "| x | 8 ms | — | ≤ 10 ms | MET | 0.10 |" in table
    assert "test cpu, 2 cores" in table


def test_missed_goal_says_by_how_much() -> None:
    figure = Figure("x", "x", 340.0, "ms", Goal("<=", 250, "≤ 250 ms"))
    figure.judge(smoke=False)
    assert figure.status == "missed"
    assert figure.goal is not None and figure.goal.miss_by(340.0) == "+90 (1.4x the goal)"


def test_cli_json_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["orchestration", "--smoke", "--json", str(first)]) == 0
    data = json.loads(first.read_text())
    assert data["machine"]["cores"] and "load_at_start" in data["machine"]
    assert data["benchmarks"]["orchestration"]["figures"][0]["id"] == "orchestration.overhead_ms"
    assert main(["orchestration", "--smoke", "--json", str(second), "--compare", str(first)]) == 0
    assert "orchestration.overhead_ms:" in capsys.readouterr().out
    assert main(["--table", str(second)]) == 0
    assert "| figure | result | × bare app | goal | verdict | load |" in capsys.readouterr().out


def test_cli_rejects_unknown_names_and_bad_files(tmp_path: Path) -> None:
    assert main(["nonsense"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match=r"bad\.json:1: not JSON"):
        main(["--table", str(bad)])


def test_throughput_search_brackets_the_limit() -> None:
    from benchmarks.throughput import CLOSE_ENOUGH, next_rate

    assert next_rate(700.0, None, 700.0) == 1400.0  # passing: double
    assert next_rate(None, 700.0, 700.0) == 350.0  # failing: halve
    assert next_rate(700.0, 1400.0, 1400.0) == pytest.approx(989.95, abs=0.01)
    assert next_rate(1000.0, 1000.0 * CLOSE_ENOUGH, 1000.0) is None  # close enough: done


def test_keys_reads_the_plan_cursor_from_the_screen_colours() -> None:
    from benchmarks.keys import plan_rows

    def row(name: str, style: str) -> str:
        return f"│{style} {name:<14} gpt-5.2   running \x1b[0m│"

    zebra = ["\x1b[38;5;253m", "\x1b[38;5;253m\x1b[48;5;234m"]
    names = ["Schemas", "Storage", "Core", "Tests", "Docs", "Synthesis"]
    for cursor in range(len(names)):
        rows = [
            row(n, "\x1b[1m\x1b[38;5;195m\x1b[48;5;32m" if i == cursor else zebra[i % 2])
            for i, n in enumerate(names)
        ]
        screen = "\n".join(["╭─ Plan ──╮", "│ Workstream │", *rows, "╰──────╯", "footer"])
        assert plan_rows(screen) == (names, cursor)
    assert plan_rows("no plan here") == ([], None)


@pytest.mark.parametrize("command", [["demo"], []], ids=["demo", "home"])
def test_first_paint_comes_before_the_store_and_the_simulator(
    tmp_path: Path, command: list[str]
) -> None:
    """What the first frame does not need waits for it: the modules loaded at the first paint
    (the app's own MAO_STARTUP_LOG record) hold neither the store nor the simulator. The CLI
    reads the database's header before any screen (a bad --db is exit 2): only that check and
    the schema version it compares with are loaded, never the store itself."""
    from benchmarks.startup import _isolated_env, mao_command, paint_once

    log = tmp_path / "startup.jsonl"
    env = {**_isolated_env(tmp_path), "MAO_STARTUP_LOG": str(log)}
    paint_once(env, tmp_path, log, [*mao_command(), *command])
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    loaded = set(record["mao_modules"])
    header_check = {
        "mao_tui.store",
        "mao_tui.store.check",
        "mao_tui.store.migrations",
        "mao_tui.store.migrations_later",
    }
    store = {m for m in loaded if m == "mao_tui.store" or m.startswith("mao_tui.store.")}
    assert store <= header_check, f"{sorted(store - header_check)} imported before the first paint"
    assert "mao_tui.simulator" not in loaded, "the simulator imported before the first paint"
    assert not record["heavy_modules"], f"{record['heavy_modules']} before the first paint"
    assert record["sdk_modules"] == []
    if command == ["demo"]:  # the session's machinery is loaded by its worker, after the paint
        assert not loaded & {
            "mao_tui.engine.controller",
            "mao_tui.engine.chain",
            "mao_tui.engine.pool",
            "mao_tui.engine.orchestrator_plan",  # --plan's parser, only with --plan
        }, "the session's engine imported before the demo's first paint"
        # started again on the same configuration, whose checks passed: painted first, the
        # request built and checked (settings, sample repository, fit) by the session's worker
        paint_once(env, tmp_path, log, [*mao_command(), *command])
        again = json.loads(log.read_text().splitlines()[-1])
        assert "yaml" not in again["packages"], "config validated before paint"
        # the dashboard's first frame is plain data: the events' pydantic models load with the
        # first event (mao_tui.domain), RichLog (rich.pretty, attrs) with the first verification
        assert not {"pydantic", "attr"} & set(again["packages"]), "models loaded before paint"
        assert not set(again["mao_modules"]) & {
            "mao_tui.settings.loader",
            "mao_tui.settings.schema",
            "mao_tui.service.session_request",
            "mao_tui.samples.sample_repo",
            "mao_tui.repo.git",
            "mao_tui.engine.budget",
            "mao_tui.engine.rule_plan",
            "mao_tui.playbooks.runner",
        }, "the demo's request built before its first paint"
    if not command:  # Home: the dashboard (panels, reducer) is imported when one opens
        # started again on the same configuration: painted from its digest (settings/digest.py),
        # validated after the first frame, so neither YAML nor pydantic is loaded before it
        paint_once(env, tmp_path, log, [*mao_command(), *command])
        again = json.loads(log.read_text().splitlines()[-1])
        assert not {"pydantic", "yaml"} & set(again["packages"]), "config validated before paint"
        assert "mao_tui.settings.loader" not in again["mao_modules"]
        assert "mao_tui.tui.dashboard" not in loaded, "the dashboard imported before Home's paint"
        assert "mao_tui.tui.widgets.panel" not in loaded
        # each command's module is imported by that command only (mao_tui/cli/__init__.py)
        assert not loaded & {
            "mao_tui.cli.land",
            "mao_tui.repo.worktree",
            "mao_tui.cli.verify_command",
        }


def test_readme_table_is_generated_from_the_results_file() -> None:
    root = Path(__file__).resolve().parents[2]
    machine_info, results = read_results(root / "benchmarks" / "results.json")
    table = readme_table(machine_info, results)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"{README_START}\n{table}\n{README_END}" in readme, (
        "README's benchmark table differs from benchmarks/results.json: "
        "python -m benchmarks --readme benchmarks/results.json"
    )
    goals = sum(1 for r in results for f in r.figures if f.goal is not None)
    assert table.count("\n| `") == goals


def test_readme_block_is_replaced_and_a_missing_block_is_an_error() -> None:
    text = f"a\n{README_START}\nold\n{README_END}\nb"
    assert replace_readme_block(text, "new") == f"a\n{README_START}\nnew\n{README_END}\nb"
    with pytest.raises(ValueError, match="no"):
        replace_readme_block("a\nb", "new")
