"""Home's first frame from a remembered configuration (settings/digest.py): only the exact
configuration that validated before is remembered; any change validates before any screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from mao_tui.domain.errors import UsageError
from mao_tui.service.launch import Launch
from mao_tui.service.live_session import AppBackend
from mao_tui.settings.digest import Preview, fingerprint, remember, remembered
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir


def _layers(tmp_path: Path) -> list[Path]:
    return [shipped_config_dir(), tmp_path]


def test_a_validated_configuration_is_remembered_until_a_file_changes(tmp_path: Path) -> None:
    layers = _layers(tmp_path)
    key, preview = remembered(layers)
    assert key is not None and preview is None  # never validated: validate now
    settings = load_settings(layers)
    remember(key, Preview.of(settings))
    assert remembered(layers) == (key, Preview.of(settings))
    assert ("develop", settings.playbooks["develop"].description) in Preview.of(settings).playbooks

    (tmp_path / "keys.yaml").write_text("keybindings:\n  rerun: ctrl+r\n", encoding="utf-8")
    changed, preview = remembered(layers)
    assert changed != key and preview is None


def test_the_environment_variables_a_file_names_are_part_of_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys.yaml").write_text("# ${MAO_DIGEST_PROBE}\nkeybindings: {}\n")
    layers = _layers(tmp_path)
    unset = fingerprint(layers)
    monkeypatch.setenv("MAO_DIGEST_PROBE", "a")
    set_a = fingerprint(layers)
    monkeypatch.setenv("MAO_DIGEST_PROBE", "b")
    assert len({unset, set_a, fingerprint(layers)}) == 3
    monkeypatch.delenv("MAO_DIGEST_PROBE")
    assert fingerprint(layers) == unset


def test_a_secret_variables_value_never_reaches_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys.yaml").write_text("# ${MAO_PROBE_API_KEY}\nkeybindings: {}\n")
    layers = _layers(tmp_path)
    unset = fingerprint(layers)
    monkeypatch.setenv("MAO_PROBE_API_KEY", "sk-first")
    first = fingerprint(layers)
    monkeypatch.setenv("MAO_PROBE_API_KEY", "sk-second")
    assert first == fingerprint(layers) != unset  # whether it is set counts, not what it holds


def test_a_configuration_broken_after_it_was_remembered_fails_before_any_screen(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    launch = Launch(project_dir=tmp_path, config_dir=config, db_path=tmp_path / "mao.db")
    first = launch.preview()  # validated, then remembered
    again = Launch(project_dir=tmp_path, config_dir=config, db_path=tmp_path / "mao.db")
    assert again.preview() == first
    assert "settings" not in again._cache  # painted from the digest: validated after the frame
    (config / "routing.yaml").write_text("routes:\n  schemas: [not, a, route]\n")
    broken = Launch(project_dir=tmp_path, config_dir=config, db_path=tmp_path / "mao.db")
    with pytest.raises(ConfigError, match=r"routing\.yaml:2: routes\.schemas"):
        broken.preview()


def test_home_shows_the_remembered_values_then_loads_the_configuration(tmp_path: Path) -> None:
    launch = Launch(project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db")
    settings = launch.settings()
    preview = Preview.of(settings)
    backend = AppBackend(
        Launch(project_dir=tmp_path, config_dir=None, db_path=tmp_path / "mao.db"), preview
    )
    shown = [(name, pb.description) for name, pb in sorted(settings.playbooks.items())]
    assert backend.playbooks() == shown
    assert backend.simulate_by_default  # no provider key in the test environment
    assert backend._settings is None
    backend.prepare()  # what Home runs in a thread after its first frame
    assert backend._settings is not None
    assert backend.playbooks() == preview.playbooks


def test_a_configuration_broken_after_the_first_frame_is_a_usage_error(tmp_path: Path) -> None:
    """Edited between Home's digest check and its load: the form shows the problems (Home
    reports a UsageError there) instead of an exception in the app."""
    config = tmp_path / "config"
    config.mkdir()
    Launch(project_dir=tmp_path, config_dir=config, db_path=tmp_path / "mao.db").preview()
    launch = Launch(project_dir=tmp_path, config_dir=config, db_path=tmp_path / "mao.db")
    backend = AppBackend(launch, launch.preview())  # from the digest: nothing validated yet
    (config / "routing.yaml").write_text("routes:\n  schemas: [not, a, route]\n")
    with pytest.raises(UsageError, match=r"routes\.schemas"):
        backend.settings()
