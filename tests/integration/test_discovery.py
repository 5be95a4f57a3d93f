"""Live discovery end to end: the simulator's discovery endpoints through the real SDKs,
`mao models --refresh` storing each provider's list, and sessions skipping what a provider
does not offer, before any request."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx2
import pytest
from fixtures.market import market_config, point_at, threaded_simulator

from mao_tui.cli import main
from mao_tui.discovery.compare import compare, family_key, unavailable
from mao_tui.discovery.fetch import fetch
from mao_tui.discovery.lists import ListsError, StoredLists, lists_path, load_lists
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import ProviderConfig
from mao_tui.simulator import Simulator
from mao_tui.simulator.catalog import TODAYS_MARKET, Catalog, MarketModel


def _ids(vendor: str) -> list[str]:
    return sorted(m.id for m in TODAYS_MARKET if m.vendor == vendor)


# --- the simulator's endpoints, through the SDKs -------------------------------------------------


async def test_each_sdk_pages_through_the_simulators_list() -> None:
    catalog = Catalog(page_size=4)
    async with Simulator(speed=math.inf, catalog=catalog) as sim:
        url = sim.base_url
        configs = {
            "anthropic": ProviderConfig(kind="anthropic", api_key_env=["K"], base_url=url),
            "openai": ProviderConfig(kind="openai", api_key_env=["K"], base_url=url + "/v1"),
            "google": ProviderConfig(
                kind="gemini", api_key_env=["K"], base_url=url, api_version="v1beta"
            ),
        }
        got = {pid: await fetch(pid, cfg, "sim-key", {}) for pid, cfg in configs.items()}
        queries = [r.query for r in sim.requests if r.api == "discovery"]
    for fetched in got.values():
        assert fetched.error is None and fetched.listing is not None
    lists = {pid: f.listing for pid, f in got.items() if f.listing is not None}
    assert sorted(m.id for m in lists["anthropic"].models) == _ids("anthropic")
    assert sorted(m.id for m in lists["openai"].models) == _ids("openai")
    assert sorted(m.id for m in lists["google"].models) == _ids("gemini")
    # 13 Claude models, newest first, at 4 a page: 4 requests, each after the page before's last
    newest_first = sorted(
        (m for m in TODAYS_MARKET if m.vendor == "anthropic"),
        key=lambda m: (m.released, m.id),
        reverse=True,
    )
    cursors = [None, *([newest_first[i].id] for i in (3, 7, 11))]
    assert [q.get("after_id") for q in queries[:4]] == cursors
    assert any("pageToken" in q for q in queries), "Gemini's nextPageToken was followed"
    carbon = next(m for m in lists["google"].models if m.id == "gemini-4-carbon")
    assert (carbon.input_token_limit, carbon.output_token_limit) == (1_048_576, 65_536)
    sonnet45 = next(m for m in lists["anthropic"].models if m.id == "claude-sonnet-4-5")
    assert sonnet45.lifecycle == "retired"  # still listed, as Anthropic keeps the record
    codex = next(m for m in lists["openai"].models if m.id == "gpt-5.3-codex")
    assert codex.retires is not None and codex.retires.isoformat() == "2027-04-01"


async def test_the_wire_shapes_are_the_providers() -> None:
    async with (
        Simulator(speed=math.inf, catalog=Catalog(page_size=2)) as sim,
        httpx2.AsyncClient(base_url=sim.base_url) as http,
    ):
        claude = (await http.get("/v1/models", headers={"anthropic-version": "x"})).json()
        gpt = (await http.get("/v1/models")).json()
        gemini = (await http.get("/v1beta/models", params={"pageSize": 3})).json()
        last = (
            await http.get(
                "/v1/models",
                params={"before_id": "claude-sonnet-4-5", "limit": 1},
                headers={"anthropic-version": "x"},
            )
        ).json()
    assert set(claude) == {"data", "has_more", "first_id", "last_id"} and claude["has_more"]
    assert [m["id"] for m in claude["data"]] == [claude["first_id"], claude["last_id"]]
    assert claude["data"][0]["type"] == "model" and claude["data"][0]["created_at"].endswith("Z")
    assert gpt["object"] == "list" and gpt["data"][0]["object"] == "model"
    assert gemini["models"][0]["name"].startswith("models/") and "nextPageToken" in gemini
    assert [m["id"] for m in last["data"]] == ["claude-haiku-4-5"]


# --- mao models --refresh, then a session --------------------------------------------------------


def test_refresh_flags_a_routed_model_the_server_does_not_list_and_sessions_never_call_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = market_config(tmp_path)
    catalog = Catalog().without("gpt-6.2-sol")  # the storage and tests primary
    with threaded_simulator(catalog) as sim:
        point_at(monkeypatch, sim)
        assert main(["models", "--refresh", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "t-sol: gpt-6.2-sol is not in openai's model list of" in out
        used = "used by storage, implementation, tests: sessions replace it before any request"
        assert used in out
        stored = load_lists()
        assert stored is not None and set(stored.providers) == {"anthropic", "openai", "google"}
        assert stored.providers["openai"].endpoint == sim.base_url + "/v1"

        listed = len(sim.requests)
        db = tmp_path / "m.db"
        argv = ["develop", "Add search", "--headless", "--json", "--no-planner"]
        code = main([*argv, "--config", str(config), "--db", str(db)])
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        session_requests = sim.requests[listed:]
    assert code == 0
    assert session_requests, "the session made its requests to the simulator"
    assert all(r.api != "discovery" for r in session_requests), "no network call for the list"
    assert "gpt-6.2-sol" not in {r.model for r in session_requests}
    skipped = [e for e in events if e.get("type") == "fallback" and e["from_model"] == "t-sol"]
    assert {e["workstream"] for e in skipped} >= {"storage", "tests"}
    assert all(e["reason"] == "unavailable" for e in skipped)  # resolved before any request
    assert "is not in openai's model list of" in skipped[0]["detail"]
    assert "gpt-6.2-astra" in {r.model for r in session_requests}  # the rest of OpenAI is used


def test_mao_models_shows_what_the_stored_lists_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = market_config(tmp_path)
    with threaded_simulator(Catalog().without("claude-sonnet-5-5")) as sim:
        point_at(monkeypatch, sim)
        assert main(["models", "--refresh", "--config", str(config)]) == 0
        capsys.readouterr()
        assert main(["models", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Model lists (stored in {lists_path()}):" in out
    assert "not offered: t-sonnet: claude-sonnet-5-5 is not in anthropic's model list" in out


def test_without_keys_refresh_asks_nobody_says_so_per_provider_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "--refresh"]) == 1
    out = capsys.readouterr().out
    assert "anthropic    no key (set ANTHROPIC_API_KEY): not asked; sessions use the shipped" in out
    assert "google       no key (set GEMINI_API_KEY or GOOGLE_API_KEY): not asked" in out
    assert "claude-cli   not asked: kind cli has no model list" in out
    assert "No provider could be asked: sessions go on with the shipped registry" in out
    assert not lists_path().exists()


def test_offline_or_a_refused_key_is_named_per_provider_and_the_old_list_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = market_config(tmp_path)
    with threaded_simulator() as sim:
        point_at(monkeypatch, sim)
        assert main(["models", "--refresh", "--config", str(config)]) == 0
    before = load_lists()
    assert before is not None
    capsys.readouterr()
    with threaded_simulator(Catalog(unauthorized=frozenset({"anthropic", "gemini"}))) as sim:
        point_at(monkeypatch, sim)
        # OpenAI now points at a port nobody listens on: offline, as far as mao can tell
        closed = f"http://127.0.0.1:{_closed_port()}/v1"
        monkeypatch.setenv("OPENAI_BASE_URL", closed)
        assert main(["models", "--refresh", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "anthropic    its key was refused at" in out and "HTTP 401" in out
    assert "google       its key was refused at" in out  # Gemini: 400 "API key not valid"
    assert f"openai       could not connect (offline?) at {closed}" in out
    assert "sk-ant-sim-test" not in out and "sim-gemini-test" not in out
    assert out.count("sessions keep its list of") == 3
    assert load_lists() == before  # nothing fetched, nothing replaced


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_limits_and_new_family_members_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    models = (
        "models:\n"
        "  t-carbon: {provider: google, api_model: gemini-4-carbon, context_window: 2000000,\n"
        "             max_output_tokens: 65536, thinking: {level: HIGH}}\n"
        "  t-opus: {provider: anthropic, api_model: claude-opus-5, context_window: 1000000,\n"
        "           max_output_tokens: 128000, thinking: {effort: max}}\n"
        "  t-sonnet: {provider: anthropic, api_model: claude-sonnet-5-5, context_window: 1000000,\n"
        "             max_output_tokens: 128000, thinking: {effort: max}}\n"
        "  t-sol: {provider: openai, api_model: gpt-6.2-sol, context_window: 1050000,\n"
        "          max_output_tokens: 128000}\n"
        "  t-astra: {provider: openai, api_model: gpt-6.2-astra, context_window: 1050000,\n"
        "            max_output_tokens: 128000}\n"
    )
    config = market_config(tmp_path, models)
    newcomer = MarketModel(
        "anthropic", "claude-opus-5-6", "Claude Opus 5.6", "2026-12-01", 1_000_000, 128_000
    )
    with threaded_simulator(Catalog().adding([newcomer])) as sim:
        point_at(monkeypatch, sim)
        assert main(["models", "--refresh", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert (
        "t-carbon (gemini-4-carbon): context_window is 2,000,000 in the registry, 1,048,576 "
        "in google's list" in out
    )
    new = out.split("New models of a routed family:")[1].split("\n\n")[0]
    # newer than the routed Opus 5, in its family, not in the registry; older Opus models
    # are not news
    assert "claude-opus-5-6 (Claude Opus 5.6), released 2026-12-01: same family as routed" in new
    assert "claude-opus-4-8" not in new and "claude-sonnet-5 " not in new


# --- units ---------------------------------------------------------------------------------------


def test_family_keys() -> None:
    assert family_key("claude-opus-4-5") == family_key("claude-opus-5-5") == "claude-opus"
    assert family_key("gemini-3-pro-preview") == family_key("gemini-3.1-pro-preview")
    assert family_key("gpt-5.2-codex") == family_key("gpt-5.3-codex") == "gpt-codex"
    assert family_key("models/gemini-3.8-flash") == "gemini-flash"
    assert family_key("claude-haiku-4-5-20251001") == "claude-haiku"


def test_a_list_speaks_only_for_the_endpoint_it_came_from(tmp_path: Path) -> None:
    settings = load_settings([shipped_config_dir()])
    stored = StoredLists.model_validate(
        {
            "providers": {
                "anthropic": {
                    "provider": "anthropic",
                    "kind": "anthropic",
                    "endpoint": "http://127.0.0.1:9",
                    "fetched_at": "2026-12-04T12:00:00Z",
                    "models": [{"id": "claude-haiku-4-5-20251001"}],
                }
            }
        }
    )
    here = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/"}
    gone = unavailable(settings, stored, here)
    assert "haiku-4.5" not in gone, "a dated snapshot offers its alias"
    assert "opus-4.5" in gone and "sonnet-4.5" in gone
    assert unavailable(settings, stored, {}) == {}, "the real API's list was never fetched"
    assert compare(settings, stored, {}) == []


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text('{"format": 1, "providers": {"x": {"provider": 3}}}', encoding="utf-8")
    with pytest.raises(ListsError, match=r"models\.json: not a model list mao wrote \(providers"):
        load_lists(path)


def test_sessions_read_the_file_again_only_when_it_changed_and_survive_a_damaged_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mao_tui.discovery.compare import stored_unavailable
    from mao_tui.discovery.lists import load_lists_cached, save_lists

    settings = load_settings([shipped_config_dir()])
    listing = {
        "provider": "anthropic",
        "kind": "anthropic",
        "endpoint": "https://api.anthropic.com",
        "fetched_at": "2026-12-04T12:00:00Z",
        "models": [{"id": "claude-haiku-4-5"}],
    }
    path = save_lists(StoredLists.model_validate({"providers": {"anthropic": listing}}))
    first = load_lists_cached()
    assert first is not None and load_lists_cached() is first  # not read again
    assert "opus-4.5" in stored_unavailable(settings)
    path.write_text("{not json", encoding="utf-8")
    assert stored_unavailable(settings) == {}  # the registry stands as it is
    assert "model lists ignored" in caplog.text and "run `mao models --refresh`" in caplog.text
