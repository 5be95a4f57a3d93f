"""Configuration: the shipped defaults are sound; broken files fail with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from mao_tui.cli import main
from mao_tui.engine.price_sources import PriceBook
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir


def _load_with(tmp_path: Path, files: dict[str, str]) -> ConfigError:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings([shipped_config_dir(), tmp_path])
    return info.value


def test_shipped_defaults_have_the_spec_roster_and_routing() -> None:
    s = load_settings([shipped_config_dir()])
    assert set(s.registry.models) == {
        # today's roster (models-2026-12)
        "opus-5.5", "sonnet-5.5", "haiku-5.5", "opus-5", "sonnet-5", "haiku-4.5",
        "gpt-6.2-astra", "gpt-6.2-sol", "gpt-6-astra", "gpt-6.1-sol", "gpt-5.6-sol", "gpt-5.2",
        "gemini-4-argon", "gemini-4-carbon", "gemini-4-neon", "gemini-4-hydrogen",
        "gemini-3.8-flash", "gemini-3.1-pro",
        # history: gone or going, kept for their successors
        "opus-4.5", "sonnet-4.5", "gpt-5.2-codex", "gpt-5.3-codex", "gemini-3-pro",
        "gemini-3-flash",
        "claude-cli-sonnet", "codex-cli", "gemini-cli-pro",  # through the CLI tools
    }  # fmt: skip
    assert s.chain("schemas") == ["gemini-4-argon", "sonnet-5.5", "latest:opus"]
    assert s.chain("storage") == ["gpt-6.2-sol", "sonnet-5.5", "latest:opus"]
    assert s.chain("core_logic") == ["gpt-6.2-astra", "opus-5.5", "latest:opus"]
    assert s.chain("implementation") == ["sonnet-5.5", "gpt-6.2-sol", "latest:opus"]
    assert s.chain("tests") == ["gpt-6.2-sol", "sonnet-5.5", "latest:opus"]
    assert s.routing.universal_fallback == "latest:opus"
    for model_id, model in s.registry.models.items():
        assert model.thinking is not None, f"{model_id} must think at its maximum"
        # priced by its registry override or the price database, never unknown
        assert PriceBook(s).quote(model_id).kind != "unknown", model_id
    for model_id in ("sonnet-4.5", "opus-4.5", "gpt-5.2-codex", "gemini-3-pro"):
        model = s.model(model_id)
        assert model.retires is not None and model.successor in s.registry.models, model_id
    assert [w.key for w in s.playbooks["develop"].workstreams] == [
        "schemas", "storage", "core_logic", "implementation", "tests",
    ]  # fmt: skip


def test_a_later_layer_overrides_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(
        "providers:\n  anthropic:\n    base_url: http://proxy.invalid\n", encoding="utf-8"
    )
    (tmp_path / "routing.yaml").write_text(
        "routes:\n  schemas: {primary: gemini-3.8-flash}\n", encoding="utf-8"
    )
    s = load_settings([shipped_config_dir(), tmp_path])
    anthropic = s.registry.providers["anthropic"]
    assert anthropic.base_url == "http://proxy.invalid"
    assert anthropic.api_key_env == ["ANTHROPIC_API_KEY"]  # kept from the shipped layer
    assert s.chain("schemas") == ["gemini-3.8-flash", "latest:opus"]  # replaced whole
    assert s.chain("storage")[0] == "gpt-6.2-sol"


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    err = _load_with(tmp_path, {"models.yaml": "models:\n  opus-4.5:\n    prices: {input: 1\n"})
    (problem,) = err.problems
    assert problem.startswith(f"{tmp_path / 'models.yaml'}:4:")
    assert "YAML syntax error" in problem


def test_unknown_model_in_routing_names_the_route_and_the_known_models(tmp_path: Path) -> None:
    err = _load_with(
        tmp_path, {"routing.yaml": "routes:\n  schemas:\n    primary: gemini-9-ultra\n"}
    )
    (problem,) = err.problems
    assert problem.startswith(f"{tmp_path / 'routing.yaml'}:3: routes.schemas.primary:")
    assert "unknown model 'gemini-9-ultra'" in problem
    assert "opus-4.5" in problem


def test_wrong_type_names_the_field_and_the_value(tmp_path: Path) -> None:
    err = _load_with(
        tmp_path, {"models.yaml": "models:\n  opus-4.5:\n    prices: {input: cheap, output: 3}\n"}
    )
    (problem,) = err.problems
    assert problem.startswith(f"{tmp_path / 'models.yaml'}:3: models.opus-4.5.prices.input:")
    assert "valid number" in problem and "'cheap'" in problem


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    err = _load_with(tmp_path, {"models.yaml": "models:\n  opus-4.5:\n    colour: red\n"})
    (problem,) = err.problems
    assert problem == f"{tmp_path / 'models.yaml'}:3: models.opus-4.5.colour: unknown key"


def test_cyclic_playbook_is_refused(tmp_path: Path) -> None:
    playbook = (
        "name: develop\nsystem_prompt: develop/system.md\nworkstreams:\n"
        "  - {key: a, title: A, route: schemas, prompt: develop/schemas.md, depends_on: [b]}\n"
        "  - {key: b, title: B, route: storage, prompt: develop/storage.md, depends_on: [a]}\n"
        "synthesis: {route: synthesis, prompt: develop/synthesis.md}\n"
    )
    err = _load_with(tmp_path, {"playbooks/develop.yaml": playbook})
    (problem,) = err.problems
    assert "playbooks/develop.yaml" in problem
    assert "cycle: a → b → a" in problem


def test_config_check_exits_2_with_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "routing.yaml").write_text("routes:\n  schemas: [not, a, route]\n")
    assert main(["config", "check", "--config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'routing.yaml'}:2: routes.schemas:" in err
    assert "Traceback" not in err


def test_config_check_reports_keys_by_name_never_by_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "key from $OPENAI_API_KEY" in out
    assert "no key (set ANTHROPIC_API_KEY)" in out
    assert "no key (set GEMINI_API_KEY or GOOGLE_API_KEY)" in out
    assert "sk-test-secret-value" not in out
    assert "configuration OK" in out
