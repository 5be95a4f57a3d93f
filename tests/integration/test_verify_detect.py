"""Verification that fits the repository: the checks detected from a project's own files (the
fixture projects under tests/fixtures/verify), `mao verify --detect` and `mao verify`, the order,
the stop rule, "not available", the fix round's prompt, the store, and `develop --apply` in the
Python and TypeScript fixtures."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mao_tui.checks.excerpt import around_first_errors
from mao_tui.cli import main
from mao_tui.domain import VerificationFinished
from mao_tui.domain.redaction import Redactor
from mao_tui.engine.fix_loop import format_failures

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"
TYPESCRIPT = "5.9.3"  # tests/fixtures/verify/typescript/package-lock.json's


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Detected Python checks run `python -m TOOL`: `python` must be this one (mypy, pytest)."""
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def _detect(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["verify", "--detect", "--json", "--workspace", str(root)]) == 0
    planned: dict[str, Any] = json.loads(capsys.readouterr().out)
    return planned


def _checks(planned: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["name"], " ".join(c["argv"]), c["kind"], c["source"]) for c in planned["checks"]]


def _events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# -- detection of each fixture: needs no toolchain ------------------------------------------


def test_typescript_fixture_is_detected(capsys: pytest.CaptureFixture[str]) -> None:
    planned = _detect(FIXTURES / "typescript", capsys)
    assert planned["type"] == "verification_planned" and planned["origin"] == "detected"
    assert _checks(planned) == [
        (
            "typecheck",
            "npm exec --no -- tsc --noEmit",
            "typecheck",
            "tsconfig.json + package.json devDependencies.typescript",
        ),
        ("build", "npm run build", "build", "package.json scripts.build"),
        ("test", "npm run test", "test", "package.json scripts.test"),
    ]
    assert [c["stop_on_failure"] for c in planned["checks"]] == [False, True, False]
    assert "package.json: package manager npm (package-lock.json)" in planned["notes"]


def test_python_fixture_is_detected(
    capsys: pytest.CaptureFixture[str], python_on_path: None
) -> None:
    planned = _detect(FIXTURES / "python", capsys)
    assert _checks(planned) == [
        ("mypy", "python -m mypy", "typecheck", "pyproject.toml [tool.mypy]"),
        ("pytest", "python -m pytest -q", "test", "pyproject.toml [tool.pytest.ini_options]"),
        ("ruff", "python -m ruff check .", "lint", "pyproject.toml [tool.ruff]"),
    ]


def test_rust_fixture_is_detected(capsys: pytest.CaptureFixture[str]) -> None:
    planned = _detect(FIXTURES / "rust", capsys)
    assert _checks(planned) == [
        ("cargo check", "cargo check --all-targets", "typecheck", "Cargo.toml [package]"),
        ("cargo test", "cargo test", "test", "Cargo.toml [package]"),
    ]
    assert planned["checks"][0]["stop_on_failure"] is True


def test_go_fixture_is_detected(capsys: pytest.CaptureFixture[str]) -> None:
    planned = _detect(FIXTURES / "go", capsys)
    source = "go.mod module example.com/maofixture"
    assert _checks(planned) == [
        ("go build", "go build ./...", "build", source),
        ("go test", "go test ./...", "test", source),
        ("go vet", "go vet ./...", "lint", source),
    ]


def test_detect_prints_each_check_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--detect", "--workspace", str(FIXTURES / "rust")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("verification: 2 check(s), detected:")
    assert out[1] == (
        "  1. cargo check [typecheck] `cargo check --all-targets` from Cargo.toml [package]"
        " (timeout 600s, stops the rest when it fails)"
    )


# -- the rules ------------------------------------------------------------------------------


def _package(root: Path, data: dict[str, Any], *files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps(data))
    for name in files:
        (root / name).write_text("")
    return root


@pytest.mark.parametrize(
    ("files", "field", "manager"),
    [
        ([], None, "npm"),
        (["package-lock.json"], None, "npm"),
        (["pnpm-lock.yaml"], None, "pnpm"),
        (["yarn.lock"], None, "yarn"),
        (["bun.lockb"], None, "bun"),
        (["bun.lock"], None, "bun"),
        (["package-lock.json"], "pnpm@9.1.0", "pnpm"),  # packageManager wins
    ],
)
def test_the_package_manager_comes_from_the_lockfile_or_the_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: list[str],
    field: str | None,
    manager: str,
) -> None:
    data: dict[str, Any] = {"scripts": {"test": "vitest run", "lint": "eslint ."}}
    if field:
        data["packageManager"] = field
    planned = _detect(_package(tmp_path / "p", data, *files), capsys)
    assert [c["argv"] for c in planned["checks"]] == [
        [manager, "run", "test"],
        [manager, "run", "lint"],
    ]


def test_typecheck_script_wins_over_tsc_and_npm_placeholder_test_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = {"typecheck": "tsc -b", "test": 'echo "Error: no test specified" && exit 1'}
    data = {"scripts": scripts, "devDependencies": {"typescript": "5"}}
    planned = _detect(_package(tmp_path / "p", data, "tsconfig.json"), capsys)
    assert _checks(planned) == [
        ("typecheck", "npm run typecheck", "typecheck", "package.json scripts.typecheck")
    ]
    assert any("npm's placeholder" in n for n in planned["notes"])


def test_tsconfig_without_typescript_dependency_gives_no_tsc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned = _detect(_package(tmp_path / "p", {"scripts": {}}, "tsconfig.json"), capsys)
    assert planned["origin"] == "playbook"  # nothing detected: the shipped command
    assert any("typescript is not a dependency" in n for n in planned["notes"])


def test_setup_cfg_tox_ini_and_a_tests_dir_configure_python_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], python_on_path: None
) -> None:
    root = tmp_path / "p"
    (root / "tests").mkdir(parents=True)
    (root / "setup.cfg").write_text("[metadata]\nname = p\n\n[mypy]\nstrict = True\n")
    assert [c[0] for c in _checks(_detect(root, capsys))] == ["mypy", "pytest"]
    assert _checks(_detect(root, capsys))[1][3] == "tests/ directory"
    (root / "tox.ini").write_text("[pytest]\naddopts = -q\n")
    assert _checks(_detect(root, capsys))[1][3] == "tox.ini [pytest]"


def test_a_project_venv_interpreter_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("")
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (argv,) = [c["argv"] for c in _detect(root, capsys)["checks"]]
    assert argv == [str(root / ".venv" / "bin" / "python"), "-m", "pytest", "-q"]


def test_a_makefile_target_is_the_fallback_when_no_stack_has_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], python_on_path: None
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "Makefile").write_text("CC := cc\n.PHONY: test\n\ncheck test:\n\techo ok\n")
    assert _checks(_detect(root, capsys)) == [
        ("make check", "make check", "test", "Makefile:4 target check"),
        ("make test", "make test", "test", "Makefile:4 target test"),
    ]
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    assert [c[0] for c in _checks(_detect(root, capsys))] == ["pytest"]


def test_a_verify_yaml_overrides_detection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy("rust", tmp_path)
    (root / ".mao").mkdir()
    (root / ".mao" / "verify.yaml").write_text(
        "develop:\n  - {name: quick, argv: [cargo, check], kind: typecheck}\n"
    )
    planned = _detect(root, capsys)
    assert planned["origin"] == "verify.yaml"
    assert _checks(planned) == [("quick", "cargo check", "typecheck", "verify.yaml")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "package.json",
            '{\n  "scripts": {\n    "test": "x",\n  }\n}\n',
            "package.json:4: not valid JSON",
        ),
        ("package.json", '{"scripts": ["test"]}', "package.json: scripts: expected an object"),
        ("pyproject.toml", "[tool.mypy]\nstrict = \n", "pyproject.toml:2: not valid TOML"),
        ("setup.cfg", "[mypy\nstrict = 1\n", "setup.cfg:1: not a valid INI file"),
        ("Cargo.toml", "[dependencies]\n", "Cargo.toml: neither a [package] nor a [workspace]"),
        ("go.mod", "go 1.21\n", "go.mod: no module directive"),
    ],
)
def test_a_malformed_project_file_is_exit_2_naming_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    message: str,
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / name).write_text(text)
    for extra in ([], ["--detect"]):
        assert main(["verify", *extra, "--workspace", str(root)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mao: error: {root}/{message}"), err


# -- running the checks ---------------------------------------------------------------------


def test_verify_runs_the_python_fixture_checks_and_a_failure_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], python_on_path: None
) -> None:
    root = _copy("python", tmp_path)
    assert main(["verify", "--json", "--workspace", str(root)]) == 0
    events = _events(capsys.readouterr().out)
    finished = [(e["name"], e["exit_code"]) for e in events if e["type"] == "verification_finished"]
    assert finished == [("mypy", 0), ("pytest", 0), ("ruff", 0)]
    assert events[-1]["type"] == "verification_done" and events[-1]["passed"] is True
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 2) == 5\n"
    )
    assert main(["verify", "--workspace", str(root)]) == 1
    err = capsys.readouterr().err
    assert "✗ verify pytest: failed (exit 1)" in err and "✓ verify ruff: passed" in err


def test_a_build_failure_skips_the_tests_and_a_missing_tool_is_not_available(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    (root / ".mao").mkdir(parents=True)
    py = json.dumps(sys.executable)
    (root / ".mao" / "verify.yaml").write_text(
        "develop:\n"
        "  - {name: lint, argv: [no-such-linter-xyz], hint: 'pip install it'}\n"
        f"  - {{name: build, argv: [{py}, -c, 'raise SystemExit(3)'], stop_on_failure: true}}\n"
        f"  - {{name: tests, argv: [{py}, -c, 'print(1)']}}\n"
    )
    assert main(["verify", "--json", "--workspace", str(root)]) == 1
    events = _events(capsys.readouterr().out)
    by_name = {e["name"]: e for e in events if e["type"] == "verification_finished"}
    assert by_name["lint"]["unavailable"] == "'no-such-linter-xyz' is not on PATH; pip install it"
    assert by_name["build"]["exit_code"] == 3
    assert by_name["tests"]["skipped"] == (
        "build failed (exit 3), so its result would mean nothing"
    )
    assert not [e for e in events if e["type"] == "verification_started" and e["name"] == "tests"]
    done = events[-1]
    assert (done["failed"], done["unavailable"], done["skipped"]) == (
        ["build"],
        ["lint"],
        ["tests"],
    )


def test_only_unavailable_checks_exit_0_and_say_nothing_was_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy("go", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no go, whatever the machine has
    assert main(["verify", "--workspace", str(root)]) == 0
    err = capsys.readouterr().err
    assert "– verify go build: not available: 'go' is not on PATH" in err
    assert "nothing was verified" in err


def test_a_missing_dependency_install_is_not_available(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: the not-installed typescript case needs npm itself")
    root = _copy("typescript", tmp_path)  # no node_modules
    assert main(["verify", "--json", "--workspace", str(root)]) == 0
    by_name = {
        e["name"]: e
        for e in _events(capsys.readouterr().out)
        if e["type"] == "verification_finished"
    }
    assert by_name["typecheck"]["unavailable"] == (
        "node_modules/.bin/tsc is missing; typescript is not installed: run `npm install`"
    )
    assert by_name["build"]["unavailable"].startswith("node_modules is missing")


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not on PATH: no Rust toolchain")
def test_verify_runs_the_rust_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy("rust", tmp_path)
    assert main(["verify", "--json", "--workspace", str(root)]) == 0
    events = _events(capsys.readouterr().out)
    finished = [(e["name"], e["exit_code"]) for e in events if e["type"] == "verification_finished"]
    assert finished == [("cargo check", 0), ("cargo test", 0)]


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not on PATH: no Go toolchain")
def test_verify_runs_the_go_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy("go", tmp_path)
    assert main(["verify", "--json", "--workspace", str(root)]) == 0
    events = _events(capsys.readouterr().out)
    finished = [(e["name"], e["exit_code"]) for e in events if e["type"] == "verification_finished"]
    assert finished == [("go build", 0), ("go test", 0), ("go vet", 0)]


# -- the fix round's prompt -----------------------------------------------------------------


def test_output_is_trimmed_around_the_first_error_and_ends_with_the_summary() -> None:
    lines = [f"compiling {i}" for i in range(300)]
    lines[150] = "src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'."
    lines[-1] = "Found 1 error."
    text = around_first_errors("\n".join(lines))
    kept = text.splitlines()
    assert kept[0] == "[… 145 earlier lines cut]"
    assert kept[6].startswith("src/a.ts(3,5): error TS2322")
    assert kept[-1] == "Found 1 error." and len(kept) < 80


def test_the_fix_prompt_puts_failures_first_and_lists_what_did_not_run() -> None:
    def result(name: str, **kw: Any) -> VerificationFinished:
        base: dict[str, Any] = {"session_id": "s", "round": 0, "argv": [name], "elapsed_s": 1.0}
        return VerificationFinished(name=name, **{**base, **kw})

    results = [
        result("lint", exit_code=None, unavailable="'eslint' is not on PATH"),
        result("types", exit_code=0),
        result(
            "build",
            exit_code=2,
            excerpt="error: it broke; token sk-test-0123456789abcdef",
            source="package.json scripts.build",
        ),
        result("test", exit_code=None, skipped="build failed (exit 2), so ..."),
    ]
    redactor = Redactor.of({"OPENAI_API_KEY": "sk-test-0123456789abcdef"})
    prompt = format_failures(results, redactor)
    assert prompt.index("### build") < prompt.index("### Not run")
    assert "(from package.json scripts.build)" in prompt and "error: it broke" in prompt
    assert "sk-test" not in prompt and "[redacted $OPENAI_API_KEY]" in prompt
    assert "- lint: `lint` not available: 'eslint' is not on PATH" in prompt
    assert "- test: `test` skipped: build failed" in prompt
    assert "types" not in prompt


# -- develop --apply in the fixtures (simulated models) -------------------------------------


def _develop(root: Path, db: Path) -> list[str]:
    return ["develop", "Build the snippet store", "--simulate", "--speed", "inf", "--no-planner",
            "--apply", "--yes", "--in-place", "--json", "--workspace", str(root),
            "--db", str(db)]  # fmt: skip


def test_develop_apply_in_the_python_fixture_runs_its_detected_checks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    python_on_path: None,
) -> None:
    root = _copy("python", tmp_path)
    monkeypatch.chdir(root)
    db = tmp_path / "mao.db"
    code = main(_develop(root, db))
    events = _events(capsys.readouterr().out)
    (planned,) = [e for e in events if e["type"] == "verification_planned"]
    assert [c["name"] for c in planned["checks"]] == ["mypy", "pytest", "ruff"]
    first_apply = next(i for i, e in enumerate(events) if e["type"] == "files_applied")
    assert events.index(planned) < first_apply  # shown before anything is written
    finished = [e for e in events if e["type"] == "verification_finished" and e["round"] == 0]
    assert [(e["name"], e["source"]) for e in finished] == [
        ("mypy", "pyproject.toml [tool.mypy]"),
        ("pytest", "pyproject.toml [tool.pytest.ini_options]"),
        ("ruff", "pyproject.toml [tool.ruff]"),
    ]
    assert code == 0, [e.get("output_tail") for e in finished]
    with sqlite3.connect(db) as conn:
        ((origin, checks),) = conn.execute("SELECT origin, checks_json FROM verification_plans")
        rows = list(conn.execute("SELECT name, kind, source FROM verifications ORDER BY id"))
    assert origin == "detected" and len(json.loads(checks)) == 3
    assert rows[0] == ("mypy", "typecheck", "pyproject.toml [tool.mypy]")


def _npm_install(root: Path) -> None:
    """The fixture's locked typescript from npm's cache only (``--offline``: tests never touch
    the network); .ci/run puts it there. Skips when node/npm or the cached package is absent."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not on PATH: no TypeScript toolchain")
    try:
        done = subprocess.run(
            ["npm", "ci", "--offline", "--no-audit", "--no-fund"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm ci --offline did not finish in 180s")
    if done.returncode != 0 or not (root / "node_modules" / ".bin" / "tsc").exists():
        pytest.skip(
            f"typescript {TYPESCRIPT} is not in npm's cache (.ci/run puts it there with"
            f" `npm cache add typescript@{TYPESCRIPT}`): {done.stderr.strip()[-200:]}"
        )


def test_develop_apply_in_the_typescript_fixture_runs_tsc_build_and_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy("typescript", tmp_path)
    _npm_install(root)
    monkeypatch.chdir(root)
    assert main(_develop(root, tmp_path / "mao.db")) == 0
    events = _events(capsys.readouterr().out)
    finished = [
        (e["name"], " ".join(e["argv"]), e["exit_code"])
        for e in events
        if e["type"] == "verification_finished"
    ]
    assert finished == [
        ("typecheck", "npm exec --no -- tsc --noEmit", 0),
        ("build", "npm run build", 0),
        ("test", "npm run test", 0),
    ]
    assert (root / "dist" / "sum.js").is_file()  # the build really ran


def test_a_type_error_in_the_typescript_fixture_fails_typecheck_and_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy("typescript", tmp_path)
    _npm_install(root)
    (root / "src" / "sum.ts").write_text("export const sum = (v: number[]): number => 'x';\n")
    assert main(["verify", "--json", "--workspace", str(root)]) == 1
    events = _events(capsys.readouterr().out)
    by_name = {e["name"]: e for e in events if e["type"] == "verification_finished"}
    assert "error TS2322" in by_name["typecheck"]["excerpt"]
    assert by_name["build"]["exit_code"] != 0
    assert by_name["test"]["skipped"].startswith("build failed")


# -- the Verification pane --------------------------------------------------------------------


async def test_the_pane_shows_the_plan_and_each_check_state() -> None:
    from textual.app import App, ComposeResult

    from mao_tui.domain import PlannedCheck, VerificationDone, VerificationPlanned
    from mao_tui.tui.widgets.verification import VerificationPane

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield VerificationPane()

    plan = VerificationPlanned(
        session_id="s",
        origin="detected",
        why="detected from the project's files in /p",
        checks=[
            PlannedCheck(name="build", argv=["npm", "run", "build"], kind="build",
                         source="package.json scripts.build", timeout_s=900,
                         stop_on_failure=True),
            PlannedCheck(name="test", argv=["npm", "run", "test"], kind="test",
                         source="package.json scripts.test", timeout_s=1200),
        ],
    )  # fmt: skip
    common: dict[str, Any] = {"session_id": "s", "round": 0, "elapsed_s": 0.5}
    events = [
        plan,
        VerificationFinished(name="build", argv=["npm"], exit_code=None, unavailable="x", **common),
        VerificationFinished(name="test", argv=["npm"], exit_code=None, skipped="y", **common),
        VerificationDone(session_id="s", round=0, passed=True, unavailable=["build"]),
    ]
    app = PaneApp()
    async with app.run_test() as pilot:
        pane = app.query_one(VerificationPane)
        for event in events:
            pane.show_event(event)
        await pilot.pause()
        assert pane.plain_lines[:3] == [
            "verification: 2 check(s), detected: detected from the project's files in /p",
            "  1. build [build] `npm run build` from package.json scripts.build"
            " (timeout 900s, stops the rest when it fails)",
            "  2. test [test] `npm run test` from package.json scripts.test (timeout 1200s)",
        ]
        assert pane.plain_lines[3:5] == ["– build: not available: x", "○ test: skipped: y"]


async def test_the_plan_and_check_states_are_stored_and_replayed(tmp_path: Path) -> None:
    from mao_tui.domain import PlannedCheck, SessionStarted, VerificationPlanned
    from mao_tui.store import Store
    from mao_tui.store.workspace import workspace_events

    store = await Store.open(tmp_path / "mao.db")
    sink = store.sink()
    try:
        await sink(
            SessionStarted(
                session_id="s1",
                command="develop",
                playbook="develop",
                task="t",
                simulated=True,
                project_dir=str(tmp_path),
            )
        )
        plan = VerificationPlanned(
            session_id="s1",
            origin="detected",
            why="w",
            checks=[PlannedCheck(name="go test", argv=["go", "test"], kind="test", timeout_s=9)],
            notes=["n"],
        )
        gone = VerificationFinished(
            session_id="s1", round=0, name="go test", argv=["go", "test"], exit_code=None,
            elapsed_s=0.0, kind="test", source="go.mod module m", unavailable="'go' is not on PATH",
        )  # fmt: skip
        await sink(plan)
        await sink(gone)
        await sink.aclose()
        async with store.transaction(write=False) as conn:
            replayed = await workspace_events(conn, "s1")
    finally:
        await store.close()
    assert replayed[0] == plan.model_copy(update={"at": replayed[0].at})
    assert isinstance(replayed[1], VerificationFinished)
    assert (
        replayed[1].unavailable == "'go' is not on PATH" and replayed[1].source == "go.mod module m"
    )


def test_develop_apply_refuses_a_malformed_project_file_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "Cargo.toml").write_text("[package]\nname = \n")
    monkeypatch.chdir(root)
    db = tmp_path / "mao.db"
    assert main(_develop(root, db)) == 2
    out, err = capsys.readouterr()
    assert f"mao: error: cannot tell how to verify: {root}/Cargo.toml:2: not valid TOML" in err
    assert out == ""  # not one event: no session started
    assert not db.exists() or not list(sqlite3.connect(db).execute("SELECT id FROM sessions"))


@pytest.mark.parametrize(
    ("lockfile", "argv"),
    [
        ("package-lock.json", ["npm", "exec", "--no", "--", "tsc", "--noEmit"]),
        ("pnpm-lock.yaml", ["pnpm", "exec", "tsc", "--noEmit"]),
        ("yarn.lock", ["yarn", "run", "tsc", "--noEmit"]),
        ("bun.lock", ["bun", "run", "tsc", "--noEmit"]),
    ],
)
def test_tsc_runs_through_the_package_manager_without_installing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lockfile: str, argv: list[str]
) -> None:
    data = {"dependencies": {"typescript": "^5"}}
    planned = _detect(_package(tmp_path / "p", data, "tsconfig.json", lockfile), capsys)
    (tsc,) = planned["checks"]
    assert tsc["argv"] == argv and tsc["kind"] == "typecheck"


def test_without_typescript_in_npms_cache_the_typescript_tests_skip_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH")
    root = _copy("typescript", tmp_path)
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))
    with pytest.raises(pytest.skip.Exception, match="is not in npm's cache"):
        _npm_install(root)


def test_a_failed_probe_or_a_missing_required_path_is_not_available(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    (root / ".mao").mkdir(parents=True)
    py = json.dumps(sys.executable)
    (root / ".mao" / "verify.yaml").write_text(
        "develop:\n"
        f"  - {{name: types, argv: [{py}, -m, nope], probe: [{py}, -c, 'import no_such_mod_xyz'],"
        " hint: nope is not installed}\n"
        f"  - {{name: unit, argv: [{py}, -c, 'pass'], requires: [node_modules]}}\n"
        f"  - {{name: ok, argv: [{py}, -c, 'pass']}}\n"
    )
    assert main(["verify", "--json", "--workspace", str(root)]) == 0
    by_name = {
        e["name"]: e
        for e in _events(capsys.readouterr().out)
        if e["type"] == "verification_finished"
    }
    assert by_name["types"]["unavailable"].endswith("failed; nope is not installed")
    assert by_name["unit"]["unavailable"] == "node_modules is missing"
    assert by_name["ok"]["exit_code"] == 0
