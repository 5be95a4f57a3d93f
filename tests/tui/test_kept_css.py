"""Parsed stylesheets kept between starts (mao_tui/tui/kept_css.py): a second start parses no
CSS and paints the same cells; anything that does not match is parsed as Textual always does."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import textual.css.stylesheet as textual_stylesheet
from fixtures.launches import fast_launch
from textual.widgets import Input

from mao_tui.service.live_session import AppBackend
from mao_tui.tui import kept_css
from mao_tui.tui.app import MaoApp
from mao_tui.tui.kept_css import KeptRules, KeptStylesheet

SIZE = (120, 40)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    return kept_css.cache_path()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The sources Textual's parser was given, by where they were read from."""
    seen: list[str] = []
    parse = textual_stylesheet.parse

    def counted(scope: str, css: str, path: tuple[str, str], **kw: object) -> object:
        seen.append(f"{Path(path[0]).name}:{path[1]}")
        return parse(scope, css, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(textual_stylesheet, "parse", counted)
    yield seen


def _home(tmp_path: Path) -> MaoApp:
    return MaoApp(backend=AppBackend(fast_launch(tmp_path)))


async def _paint(app: MaoApp) -> str:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        return app.export_screenshot()


async def test_a_second_start_parses_no_css_and_paints_the_same_cells(
    tmp_path: Path, cache: Path, parses: list[str]
) -> None:
    first = await _paint(_home(tmp_path))
    assert any("home.tcss" in source for source in parses)
    assert cache.exists()

    parses.clear()
    app = _home(tmp_path)
    second = await _paint(app)
    assert parses == []
    assert isinstance(app.stylesheet, KeptStylesheet)
    assert app.stylesheet.kept.reused > 10
    assert second == first


async def test_a_file_for_other_variables_damaged_or_from_another_textual_is_parsed_again(
    tmp_path: Path, cache: Path, parses: list[str]
) -> None:
    expected = await _paint(_home(tmp_path))
    stored = pickle.loads(cache.read_bytes())
    for content in (
        b"not a pickle",
        b"\x80\x09",  # another Python's protocol: ValueError, not UnpicklingError
        pickle.dumps({"stamp": "another Textual", "sources": stored["sources"]}),
        pickle.dumps({"stamp": stored["stamp"], "sources": {k: b"x" for k in stored["sources"]}}),
    ):
        cache.write_bytes(content)
        parses.clear()
        assert await _paint(_home(tmp_path)) == expected
        assert any("home.tcss" in source for source in parses)
    assert pickle.loads(cache.read_bytes())["stamp"] == stored["stamp"]  # written again


async def test_a_theme_change_parses_with_the_new_variables(
    tmp_path: Path, cache: Path, parses: list[str]
) -> None:
    await _paint(_home(tmp_path))
    app = _home(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dark = app.screen.styles.background
        parses.clear()
        app.theme = "textual-light"
        await pilot.pause()
        assert parses  # the kept rules were parsed with the dark theme's variables
        assert app.screen.styles.background != dark


def test_the_file_keeps_the_sources_used_last_and_never_those_without_a_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / kept_css.FILE_NAME
    sheet = textual_stylesheet.Stylesheet()

    def key(name: str) -> kept_css.Key:
        return (f"#{name} {{ width: 1; }}", (f"/{name}.tcss", ""), False, 0, "")

    def rules(k: kept_css.Key) -> list[object]:
        return sheet._parse_rules(*k)  # type: ignore[return-value]

    kept = KeptRules(path, "stamp")
    for name in ("a", "b", "c"):
        kept.add(key(name), rules(key(name)))  # type: ignore[arg-type]
    kept.add(key("lock"), [threading.Lock()])  # type: ignore[list-item]  # cannot be pickled
    nameless = (key("d")[0], ("", "123"), False, 0, "")
    kept.add(nameless, rules(nameless))  # type: ignore[arg-type]
    kept.save()

    monkeypatch.setattr(kept_css, "MAX_SOURCES", 2)
    again = KeptRules.load(path, "stamp")
    assert again.get(nameless) is None
    assert again.get(key("lock")) is None  # left out, the others written
    assert again.get(key("c")) is not None
    again.add(key("e"), rules(key("e")))  # type: ignore[arg-type]
    again.save()
    last = KeptRules.load(path, "stamp")
    assert {k for k in (key(n) for n in "abce") if last.get(k) is not None} == {key("c"), key("e")}
    assert KeptRules.load(path, "another stamp").get(key("c")) is None
