"""Key bindings: every one has an id, a description and a palette command; keys.yaml remaps them
by id (layered like the rest of the configuration, with file:line errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.develop_session import replay_runner

from mao_tui.settings.keys import DEFAULT_KEYS
from mao_tui.settings.loader import ConfigError, load_settings, shipped_config_dir
from mao_tui.tui import MaoApp
from mao_tui.tui.bindings import SPECS, all_specs
from mao_tui.tui.dashboard import DashboardScreen
from mao_tui.tui.history import HistoryScreen
from mao_tui.tui.home import HomeScreen


def _layer(tmp_path: Path, name: str, text: str) -> Path:
    layer = tmp_path / name
    layer.mkdir()
    (layer / "keys.yaml").write_text(text, encoding="utf-8")
    return layer


def test_every_binding_has_an_id_a_description_and_is_remappable() -> None:
    ids = [spec.id for _, spec in all_specs()]
    assert set(ids) == set(DEFAULT_KEYS)  # one table of ids, the one keys.yaml is checked against
    for screen in (MaoApp, DashboardScreen, HomeScreen, HistoryScreen):
        for binding in screen.BINDINGS:
            assert not isinstance(binding, tuple)
            assert binding.id in DEFAULT_KEYS and binding.description and binding.tooltip
    for _, spec in all_specs():
        assert "ctrl+enter" not in DEFAULT_KEYS[spec.id] and "ctrl+s" not in DEFAULT_KEYS[spec.id]


def test_every_action_is_in_the_command_palette() -> None:
    app = MaoApp(replay_runner(), simulated=True)
    titles = {command.title for command in app.get_system_commands(app.dashboard)}
    assert {"Quit", "Toggle thinking", "Maximize panel", "Help"} <= titles
    expected = {
        "Rerun workstream", "Rerun on another model", "Cancel workstream", "Synthesize again",
        "Attempts of workstream", "Export session", "History", "New session",
    }  # fmt: skip
    assert expected <= titles
    dashboard_actions = {spec.action for spec in SPECS["dashboard"] if spec.id != "back"}
    assert all(hasattr(DashboardScreen, f"action_{action}") for action in dashboard_actions)


async def test_the_palette_lists_each_command_once_with_a_clear_name() -> None:
    """No second Quit (Textual's, which does not ask), no Keys beside Help, no Maximize beside
    Maximize panel: every title once."""
    app = MaoApp(replay_runner(), simulated=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.dashboard.plan_table.focus()  # a focused widget: Textual would offer Maximize
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.dashboard)]
        assert len(titles) == len(set(titles)), titles
        assert titles.count("Quit") == 1
        assert not {"Keys", "Maximize", "Minimize"} & set(titles)
        assert {"Quit now (cancel all work)", "Help", "Maximize panel"} <= set(titles)
        await pilot.press("ctrl+c")


def test_keys_yaml_layers_override_by_id(tmp_path: Path) -> None:
    user = _layer(tmp_path, "user", "keybindings:\n  rerun: ctrl+r\n  export: E\n")
    project = _layer(tmp_path, "project", "keybindings:\n  rerun: f6, ctrl+r\n")
    settings = load_settings([shipped_config_dir(), user, project])
    assert settings.keybindings == {"rerun": "f6, ctrl+r", "export": "E"}
    assert load_settings([shipped_config_dir()]).keybindings == {}


BAD_KEYS = [
    (
        "keybindings:\n  rerun: r\n  reruns: x\n",
        "keys.yaml:3: keybindings.reruns: unknown binding id",
    ),
    ("keybindings:\n  cancel: ''\n", "keys.yaml:2: keybindings.cancel: expected one key or"),
    ("keybindings:\n  cancel: ctrl r\n", "keys.yaml:2: keybindings.cancel: not a key name"),
    ("keybindings:\n  cancel: [x]\n", "keys.yaml:2: keybindings.cancel: Input should be a valid"),
    ("keybinding:\n  cancel: x\n", "keys.yaml:2: keybinding: unknown key"),
]


@pytest.mark.parametrize(("text", "message"), BAD_KEYS)
def test_a_bad_keys_yaml_names_the_file_line_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    layer = _layer(tmp_path, "layer", text)
    with pytest.raises(ConfigError) as caught:
        load_settings([shipped_config_dir(), layer])
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


async def test_a_remapped_key_runs_its_action_and_the_old_key_does_not() -> None:
    app = MaoApp(replay_runner(), simulated=True, keymap={"toggle-thinking": "y"})
    async with app.run_test(size=(160, 48)) as pilot:
        await app.session_done.wait()
        screen = app.dashboard
        screen.plan_table.focus()
        await pilot.press("t")
        assert screen.thinking_visible
        await pilot.press("y")
        assert not screen.thinking_visible
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-keys").content)
        assert "y Thinking Show or hide all thinking" in " ".join(text.split())
