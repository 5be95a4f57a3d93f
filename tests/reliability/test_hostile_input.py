"""Bad input of every kind: a clear message naming the file, line or field, exit 2, never a
traceback, and nothing created or lost. Each case is a directory of files plus a command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mao_tui.cli import main

PLAYBOOK_HEAD = "name: develop\nsystem_prompt: develop/system.md\n"
SYNTH = "synthesis: {route: synthesis, prompt: develop/synthesis.md}\n"
QA_PLAYBOOK = """name: qa
system_prompt: qa/system.md
output: qa_report
workstreams:
  - {key: prd_compliance, title: PRD, route: prd_compliance, prompt: qa/prd_compliance.md}
  - {key: error_handling, title: Errors, route: error_handling, prompt: qa/error_handling.md}
  - {key: type_safety, title: Types, route: type_safety, prompt: qa/type_safety.md}
  - {key: architecture, title: Architecture, route: architecture, prompt: qa/architecture.md}
  - {key: security, title: Security, route: security, prompt: qa/security.md}
synthesis: {route: synthesis, prompt: qa/synthesis.md}
qa:
  weights: {prd_compliance: 30, error_handling: 25, type_safety: 20, architecture: 15, security: 10}
  fixes: {prd_compliance: fix_requirements, error_handling: fix_error_handling,
          type_safety: fix_types, architecture: fix_architecture, security: fix_security}
"""


def _ws(
    key: str, route: str = "schemas", prompt: str = "develop/schemas.md", deps: str = ""
) -> str:
    depends = f", depends_on: [{deps}]" if deps else ""
    return f"  - {{key: {key}, title: {key.title()}, route: {route}, prompt: {prompt}{depends}}}\n"


@dataclass(frozen=True)
class Case:
    name: str
    message: str  # a part of the error that says where and what
    files: dict[str, str | bytes] = field(default_factory=dict)  # under the --config dir
    cwd_files: dict[str, str | bytes] = field(default_factory=dict)
    argv: tuple[str, ...] = ("develop", "Add search", "--headless")
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "yaml syntax in models",
        "cfg/models.yaml:3:1: YAML syntax error",
        {"models.yaml": "models:\n  x: [1,\n"},
    ),
    Case(
        "yaml syntax in routing",
        "cfg/routing.yaml:2:1: YAML syntax error",
        {"routing.yaml": "routes: {a: b\n"},
    ),
    Case("yaml tab indentation", "YAML syntax error", {"models.yaml": "models:\n\topus: 1\n"}),
    Case(
        "top level is a list",
        "expected a mapping at the top level, got list",
        {"models.yaml": "- a\n- b\n"},
    ),
    Case(
        "unknown provider key",
        "providers.anthropic.timeout: unknown key",
        {"models.yaml": "providers:\n  anthropic:\n    timeout: 5\n"},
    ),
    Case(
        "unknown model key",
        "models.opus-5.5.colour: unknown key",
        {"models.yaml": "models:\n  opus-5.5:\n    colour: red\n"},
    ),
    Case(
        "wrong type",
        "models.opus-5.5.context_window: Input should be a valid integer",
        {"models.yaml": "models:\n  opus-5.5:\n    context_window: big\n"},
    ),
    Case(
        "negative price",
        "models.opus-5.5.prices.input: Input should be greater than or equal",
        {"models.yaml": "models:\n  opus-5.5:\n    prices: {input: -1, output: 1}\n"},
    ),
    Case(
        "budget over max output",
        "must be below max_output_tokens",
        {"models.yaml": "models:\n  haiku-4.5:\n    max_output_tokens: 1000\n"},
    ),
    Case(
        "unknown provider kind",
        "providers.anthropic.kind: Input should be",
        {"models.yaml": "providers:\n  anthropic:\n    kind: telepathy\n"},
    ),
    Case(
        "model on unknown provider",
        "models.opus-5.5.provider: unknown provider 'acme'",
        {"models.yaml": "models:\n  opus-5.5:\n    provider: acme\n"},
    ),
    Case(
        "unknown primary model",
        "routes.schemas.primary: unknown model 'gemini-9'",
        {"routing.yaml": "routes:\n  schemas: {primary: gemini-9}\n"},
    ),
    Case(
        "unknown fallback model",
        "routes.schemas.fallbacks.0: unknown model 'nope'",
        {"routing.yaml": "routes:\n  schemas: {primary: opus-5.5, fallbacks: [nope]}\n"},
    ),
    Case(
        "unknown universal fallback",
        "universal_fallback: unknown model 'gpt-1'",
        {"routing.yaml": "universal_fallback: gpt-1\n"},
    ),
    Case(
        "route not a mapping",
        "routes.schemas: Input should be a valid dictionary",
        {"routing.yaml": "routes:\n  schemas: opus-5.5\n"},
    ),
    Case(
        "cyclic depends_on",
        "depends_on has a cycle: a → b → a",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", deps="b")
            + _ws("b", deps="a")
            + SYNTH
        },
    ),
    Case(
        "unknown depends_on",
        "depends on unknown workstream(s): ghost",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", deps="ghost")
            + SYNTH
        },
    ),
    Case(
        "duplicate workstream keys",
        "duplicate workstream keys: a",
        {"playbooks/develop.yaml": PLAYBOOK_HEAD + "workstreams:\n" + _ws("a") + _ws("a") + SYNTH},
    ),
    Case(
        "missing prompt template",
        "workstreams.0.prompt: prompt template 'develop/nope.md'",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", prompt="develop/nope.md")
            + SYNTH
        },
    ),
    Case(
        "unknown route in playbook",
        "workstreams.0.route: unknown route 'dreams'",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", route="dreams")
            + SYNTH
        },
    ),
    Case(
        "playbook name and file differ",
        "name: 'other' must match the file name 'develop'",
        {
            "playbooks/develop.yaml": "name: other\nsystem_prompt: develop/system.md\n"
            "workstreams:\n" + _ws("a") + SYNTH
        },
    ),
    Case(
        "empty workstreams",
        "workstreams: List should have at least 1 item",
        {"playbooks/develop.yaml": PLAYBOOK_HEAD + "workstreams: []\n" + SYNTH},
    ),
    Case(
        "api_key_env not a variable name",
        "providers.openai.api_key_env.0: 'sk-abc' is not",
        {"models.yaml": "providers:\n  openai:\n    api_key_env: [sk-abc]\n"},
    ),
    Case(
        "env var referenced but unset",
        "providers.openai.base_url: environment variable MAO_TEST_UNSET_HOST is not set",
        {"models.yaml": "providers:\n  openai:\n    base_url: http://${MAO_TEST_UNSET_HOST}/v1\n"},
    ),
    Case(
        "non-UTF-8 config",
        "cfg/models.yaml: not UTF-8 text",
        {"models.yaml": "models: {}\n# caf\xe9\n".encode("latin-1")},
    ),
    Case(
        "missing spec",
        "missing.md: spec file not found",
        argv=("develop", "x", "--spec", "missing.md", "--headless"),
    ),
    Case(
        "binary spec",
        "blob.md: looks binary",
        cwd_files={"blob.md": b"\x89PNG\x00\x01"},
        argv=("develop", "x", "--spec", "blob.md", "--headless"),
    ),
    Case(
        "non-UTF-8 spec",
        "latin.md: not UTF-8 text",
        cwd_files={"latin.md": b"caf\xe9\n"},
        argv=("develop", "x", "--spec", "latin.md", "--headless"),
    ),
    Case(
        "spec is a directory",
        "folder: is a directory",
        cwd_files={"folder/a.md": "x"},
        argv=("develop", "x", "--spec", "folder", "--headless"),
    ),
    Case(
        "missing section",
        "PRD.md: no section 7; numbered sections found: 1 One; 2 Two",
        cwd_files={"PRD.md": "## 1. One\na\n## 2. Two\nb\n"},
        argv=("develop", "x", "--spec", "PRD.md", "--sections", "2,7", "--headless"),
    ),
    Case(
        "bad section list",
        "--sections expects section numbers separated by commas",
        cwd_files={"PRD.md": "## 1. One\n"},
        argv=("develop", "x", "--spec", "PRD.md", "--sections", "two", "--headless"),
    ),
    Case(
        "sections without a spec",
        "--sections needs --spec FILE",
        argv=("develop", "x", "--sections", "2", "--headless"),
    ),
    Case("empty task", "the task is empty", argv=("develop", "  \n ", "--headless")),
    Case(
        "config is not a directory",
        "nowhere: --config expects a directory",
        argv=("develop", "x", "--config", "nowhere", "--headless"),
    ),
    Case(
        "plan file not JSON",
        "plan.json:1: not JSON",
        cwd_files={"plan.json": "{oops"},
        argv=("develop", "x", "--plan", "plan.json", "--headless"),
    ),
    Case(
        "plan file with unknown model",
        "schemas: unknown model(s) gpt-0",
        cwd_files={"plan.json": '{"workstreams": [{"key": "schemas", "chain": ["gpt-0"]}]}'},
        argv=("develop", "x", "--plan", "plan.json", "--headless"),
    ),
    Case(
        "plan file missing",
        "gone.json: plan file not found",
        argv=("develop", "x", "--plan", "gone.json", "--headless"),
    ),
    # bounded input (issue 15): a file over limits.max_input_bytes is refused, never read whole
    Case(
        "spec over the input limit",
        "big.md: the spec file is 200 bytes, over the limit of 100 (limits.max_input_bytes",
        {"models.yaml": "global:\n  limits: {max_input_bytes: 100}\n"},
        cwd_files={"big.md": "x" * 200},
        argv=("develop", "x", "--spec", "big.md", "--headless"),
    ),
    Case(
        "spec that never ends",
        "/dev/zero: the spec file is more than 10,000,000 bytes, over",
        argv=("develop", "x", "--spec", "/dev/zero", "--headless"),
    ),
    Case(
        "plan over the input limit",
        "plan.json: the plan file is 300 bytes, over the limit of",
        {"models.yaml": "global:\n  limits: {max_input_bytes: 100}\n"},
        cwd_files={"plan.json": " " * 300},
        argv=("develop", "x", "--plan", "plan.json"),
    ),
    Case(
        "PRD over the input limit",
        "prd.md: the PRD file is 300 bytes, over the limit of 100",
        {"models.yaml": "global:\n  limits: {max_input_bytes: 100}\n"},
        cwd_files={"a.py": "x = 1\n", "prd.md": "p" * 300},
        argv=("qa", "a.py", "--spec", "prd.md", "--headless"),
    ),
    Case(
        "a limit of zero",
        "global.limits.max_files: Input should be greater than or equal to 1",
        {"models.yaml": "global:\n  limits: {max_files: 0}\n"},
    ),
    Case(
        "an answer limit of zero",
        "global.limits.max_answer_chars: Input should be greater than or equal to 1",
        {"models.yaml": "global:\n  limits: {max_answer_chars: 0}\n"},
    ),
    Case(
        "a negative thinking limit",
        "global.limits.max_thinking_chars: Input should be greater than or equal to 1",
        {"models.yaml": "global:\n  limits: {max_thinking_chars: -1}\n"},
    ),
    Case(
        "input larger than the smallest context window",
        "over 800,000: 80% of opus-5.5's 1,000,000-token context window",
        cwd_files={"huge.md": "word " * 680_000},
        argv=("develop", "x", "--spec", "huge.md", "--headless"),
    ),
    Case(
        "unknown session",
        "no database yet, so no session 'NOPE'",
        argv=("sessions", "show", "NOPE"),
    ),
    # playbooks: prompt variants, user playbooks (.mao/playbooks/) and `mao run`, the journal
    Case(
        "unknown prompt variant key",
        "workstreams.0.variants.gemni: 'gemni' is no model id, model family, provider",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", prompt="develop/schemas.md, variants: {gemni: develop/schemas.md}")
            + SYNTH
        },
    ),
    Case(
        "missing prompt variant template",
        "develop.yaml:4: workstreams.0.variants.gemini: prompt template 'develop/nope.md' not",
        {
            "playbooks/develop.yaml": PLAYBOOK_HEAD
            + "workstreams:\n"
            + _ws("a", prompt="develop/schemas.md, variants: {gemini: develop/nope.md}")
            + SYNTH
        },
    ),
    Case(
        "user playbook with an unknown route",
        ".mao/playbooks/mine.yaml:2: workstreams.0.route: unknown route 'dreams'",
        cwd_files={
            ".mao/playbooks/mine.yaml": "workstreams:\n"
            + _ws("a", route="dreams")
            + "system_prompt: develop/system.md\n"
            + SYNTH
        },
        argv=("run", "mine", "x", "--headless"),
    ),
    Case(
        "user playbook with an unknown key",
        ".mao/playbooks/mine.yaml:1: colour: unknown key",
        cwd_files={
            ".mao/playbooks/mine.yaml": "colour: red\nsystem_prompt: develop/system.md\n"
            "workstreams:\n" + _ws("a") + SYNTH
        },
        argv=("run", "mine", "x", "--headless"),
    ),
    Case(
        "user playbook without a synthesis",
        "mine.yaml:1: synthesis: required field is missing",
        cwd_files={
            ".mao/playbooks/mine.yaml": "system_prompt: develop/system.md\n"
            "workstreams:\n" + _ws("a")
        },
        argv=("run", "mine", "x", "--headless"),
    ),
    Case(
        "user playbook naming a prompt nobody wrote",
        "mine.yaml:3: workstreams.0.prompt: prompt template 'mine/a.md' not found",
        cwd_files={
            ".mao/playbooks/mine.yaml": "system_prompt: develop/system.md\n"
            "workstreams:\n" + _ws("a", prompt="mine/a.md") + SYNTH,
            ".mao/prompts/mine/b.md": "a prompt under another name\n",
        },
        argv=("run", "mine", "x", "--headless"),
    ),
    Case(
        "user playbook that is not a mapping",
        "mine.yaml:1: expected a mapping at the top level",
        cwd_files={".mao/playbooks/mine.yaml": "- develop\n"},
        argv=("run", "mine", "x", "--headless"),
    ),
    Case(
        "mao run with an unknown playbook",
        "no playbook named 'nope'; known playbooks: develop",
        argv=("run", "nope", "x", "--headless"),
    ),
    Case("mao run with an empty task", "the task is empty", argv=("run", "develop", " ", "--json")),
    Case(
        "journal folder empty",
        "journal.folder: String should have at least 1 character",
        {
            "playbooks/journal.yaml": "journal: {folder: ''}\nsystem_prompt: develop/system.md\n"
            "workstreams:\n" + _ws("a") + SYNTH
        },
        argv=("journal", "--headless"),
    ),
    Case(
        "journal with no stored session",
        "no database yet, so no session to write about",
        argv=("journal", "--headless"),
    ),
    Case(
        "journal --since outside a git repository",
        "not inside a git repository",
        argv=("journal", "--since", "2026-01-01", "--headless"),
    ),
    Case(
        "journal --since with an empty date",
        "--since expects a date",
        argv=("journal", "--since", " ", "--headless"),
    ),
    Case(
        "journal with a playbook that is no journal",
        "not 'journal'; journal playbooks: journal",
        argv=("journal", "--playbook", "develop", "--headless"),
    ),
    Case(
        "qa weights not summing to 100",
        "qa: Value error, weights must sum to 100, got 95 (prd_compliance 30 + error_handling 25",
        {"playbooks/qa.yaml": QA_PLAYBOOK.replace("security: 10", "security: 5")},
        cwd_files={"a.py": "x = 1\n"},
        argv=("qa", "a.py", "--headless"),
    ),
    Case(
        "qa weight for no reviewer",
        "weights name unknown workstream(s): style",
        {"playbooks/qa.yaml": QA_PLAYBOOK.replace("security: 10", "security: 5, style: 5")},
        cwd_files={"a.py": "x = 1\n"},
        argv=("qa", "a.py", "--headless"),
    ),
    Case(
        "qa fix route unknown",
        "qa.fixes.security: unknown route 'fix_nothing'",
        {
            "playbooks/qa.yaml": QA_PLAYBOOK.replace(
                "security: fix_security", "security: fix_nothing"
            )
        },
        cwd_files={"a.py": "x = 1\n"},
        argv=("qa", "a.py", "--headless"),
    ),
    Case(
        "qa target missing",
        "gone.py: no such file or directory",
        argv=("qa", "gone.py", "--headless"),
    ),
    Case(
        "qa glob matching nothing",
        "*.rs: the pattern matches no file",
        argv=("qa", "*.rs", "--headless"),
    ),
    Case(
        "qa without targets",
        "nothing to review: name files, globs or directories",
        argv=("qa", "--headless"),
    ),
    Case(
        "qa with --truncate",
        "--truncate does not apply to mao qa",
        cwd_files={"a.py": "x = 1\n"},
        argv=("qa", "a.py", "--truncate", "--headless"),
    ),
    Case(
        "qa of binary files only",
        "every target was skipped",
        cwd_files={"b.bin": b"\0\1"},
        argv=("qa", "b.bin", "--headless"),
    ),
    Case(
        "qa --diff outside a git repository",
        "is not inside a git work tree",
        argv=("qa", "--diff", "HEAD", "--headless"),
    ),
    Case(
        "qa with a playbook of another output",
        "mao qa needs qa_report",
        cwd_files={"a.py": "x = 1\n"},
        argv=("qa", "a.py", "--playbook", "develop"),
    ),
    # verification (issue 15): what it may see, how it is confined, how much output is kept
    Case(
        "verify env_pass not a variable name",
        ".mao/verify.yaml:2: develop.0.env_pass.0: String should match pattern",
        cwd_files={".mao/verify.yaml": "develop:\n  - {name: t, argv: [x], env_pass: [A-B]}\n"},
    ),
    Case(
        "verify output cap too small",
        ".mao/verify.yaml:2: develop.0.max_output_chars: Input should be greater than or equal",
        cwd_files={".mao/verify.yaml": "develop:\n  - {name: t, argv: [x], max_output_chars: 9}"},
    ),
    Case(
        "verify sandbox not a boolean",
        "develop.0.sandbox: Input should be a valid boolean",
        cwd_files={".mao/verify.yaml": "develop:\n  - {name: t, argv: [x], sandbox: maybe}\n"},
    ),
    Case(
        "qa input larger than the smallest context window",
        "the code to review is about 89",  # 17 files of 210 KB, each under the file limit
        cwd_files={f"big/{n}.py": "word " * 42_000 for n in "abcdefghijklmnopq"},
        argv=("qa", "big", "--headless"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_a_clear_error_and_exit_2(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "cfg"
    config.mkdir()
    for root, files in ((config, case.files), (tmp_path, case.cwd_files)):
        for name, content in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
    db = tmp_path / "data" / "mao.db"
    argv = [*case.argv, "--db", str(db)]
    if case.files:
        argv += ["--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mao: error: ")
    assert case.message in err, err
    assert "Traceback" not in err
    assert not db.exists(), "nothing is created for input that was refused"


def test_the_corpus_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["develop"])
    assert info.value.code == 2
    assert "the following arguments are required: task" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sessions", "--limit", "-1"], "argument --limit: expects 1 or more (got -1)"),
        (["sessions", "--limit", "ten"], "argument --limit: expects a whole number, 1 or more"),
        (["develop", "x", "--speed", "0"], "argument --speed: expects a number above 0, e.g. 2"),
        (["develop", "x", "--speed", "-3"], "argument --speed: expects a number above 0"),
        (["develop", "x", "--speed", "nan"], "argument --speed: expects a number above 0"),
        (["demo", "--speed", "fast"], "argument --speed: expects a number above 0"),
        (["develop", "x", "--max-parallel", "0"], "argument --max-parallel: expects 1 or more"),
        (
            ["develop", "x", "--apply", "--fix-rounds", "-1"],
            "argument --fix-rounds: expects 0 or more (got -1)",
        ),
        (["mcp", "serve", "--speed", "-1"], "argument --speed: expects a number 0 or more"),
    ],
)
def test_numeric_options_are_checked_by_the_parser(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_truncate_cuts_an_oversized_spec_to_fit_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "huge.md").write_text("word " * 680_000, encoding="utf-8")
    argv = ["develop", "x", "--spec", "huge.md", "--truncate", "--simulate", "--no-planner",
            "--json", "--speed", "1000", "--db", str(tmp_path / "mao.db")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "--truncate: cutting the spec to fit" in err
