"""Prices from the genai-prices database with the registry's own prices as overrides; cache
writes and prompt-length tiers billed as the providers bill them; refused and failed attempts
record the tokens the provider reported; the source of each price shown to the user."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures.chains import KINDS, PRIMARY, Harness

from mao_tui.cli import main
from mao_tui.domain import AttemptFinished
from mao_tui.engine.price_sources import PriceBook, PriceQuote, database_label, database_version
from mao_tui.engine.pricing import totals_for
from mao_tui.providers.base import Usage
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import ProviderKind, Settings
from mao_tui.simulator.faults import FaultRule

DEC_4 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def settings_with(models: dict[str, Any]) -> Settings:
    """The shipped configuration with these models added (no prices unless given)."""
    base = {"context_window": 1_000_000, "max_output_tokens": 128_000}
    return load_settings(
        [shipped_config_dir()], {"models": {k: {**base, **v} for k, v in models.items()}}
    )


SETTINGS = settings_with(
    {
        "opus-5.5": {"provider": "anthropic", "api_model": "claude-opus-5-5"},
        "haiku-5.5": {"provider": "anthropic", "api_model": "claude-haiku-5-5"},
        "gpt-6-astra": {"provider": "openai", "api_model": "gpt-6-astra"},
        "flash-3.8": {"provider": "google", "api_model": "gemini-3.8-flash"},
        # not in genai-prices 0.2.3: priced by the registry, or not at all
        "sol-6.2": {
            "provider": "openai",
            "api_model": "gpt-6.2-sol",
            "prices": {
                "input": 2.0,
                "cached_input": 0.1,
                "output": 10.0,
                "long_context": {
                    "above_input_tokens": 272_000,
                    "input": 4.0,
                    "cached_input": 0.2,
                    "output": 15.0,
                },
            },
        },
        # a name no price database can know (gemini-4-carbon was unknown until genai-prices 0.2.5)
        "unpriced": {"provider": "google", "api_model": "gemini-0-mao-unpriced"},
        # known to the database, but the registry's own price wins
        "opus-5.5-contract": {
            "provider": "anthropic",
            "api_model": "claude-opus-5-5",
            "prices": {"input": 3.0, "cached_input": 0.15, "output": 15.0},
        },
    }
)


def cost_of(model_id: str, **usage: int) -> tuple[float, bool]:
    totals = totals_for(Usage(**usage), PriceBook(SETTINGS).quote(model_id), DEC_4)
    return totals.cost_usd, totals.cost_complete


def test_the_database_prices_a_model_the_registry_does_not() -> None:
    book = PriceBook(SETTINGS)
    assert book.quote("opus-5.5").kind == "database"
    assert book.quote("opus-5.5").label == f"genai-prices {database_version()}"
    # Opus 5.5: $4 in, $20 out per million
    assert cost_of("opus-5.5", input_tokens=100_000, output_tokens=10_000) == (
        pytest.approx(0.4 + 0.2),
        True,
    )


def test_cache_reads_and_writes_bill_at_their_own_prices() -> None:
    # Opus 5.5: cache reads $0.20, cache writes $5 per million; the rest of the input $4
    dollars, known = cost_of(
        "opus-5.5",
        input_tokens=300_000,
        cached_input_tokens=100_000,
        cache_write_tokens=100_000,
        output_tokens=0,
    )
    assert known and dollars == pytest.approx(0.4 + 0.02 + 0.5)


def test_haikus_whole_request_tier_above_100k_prompt_tokens() -> None:
    at, _ = cost_of("haiku-5.5", input_tokens=100_000, output_tokens=100_000)
    above, _ = cost_of("haiku-5.5", input_tokens=100_001, output_tokens=100_000)
    assert at == pytest.approx(100_000 * 0.10 / 1e6 + 100_000 * 0.50 / 1e6)
    # one token more and the whole request bills at 0.50 / 2.50
    assert above == pytest.approx(100_001 * 0.50 / 1e6 + 100_000 * 2.50 / 1e6)


def test_gpt_6_astra_above_272k_input_tokens() -> None:
    at, _ = cost_of("gpt-6-astra", input_tokens=272_000, output_tokens=1_000)
    above, _ = cost_of("gpt-6-astra", input_tokens=272_001, output_tokens=1_000)
    assert at == pytest.approx((272_000 * 10 + 1_000 * 50) / 1e6)
    assert above == pytest.approx((272_001 * 20 + 1_000 * 75) / 1e6)


def test_a_dated_price_change_applies_from_its_day() -> None:
    quote = PriceBook(SETTINGS).quote("flash-3.8")
    usage = Usage(input_tokens=1_000_000)
    before = totals_for(usage, quote, datetime(2026, 12, 31, 12, tzinfo=UTC))
    after = totals_for(usage, quote, datetime(2027, 1, 1, 12, tzinfo=UTC))
    assert (before.cost_usd, after.cost_usd) == (pytest.approx(0.75), pytest.approx(1.5))


def test_the_registry_overrides_the_database() -> None:
    book = PriceBook(SETTINGS)
    assert book.quote("opus-5.5-contract").label == "registry override"
    assert cost_of("opus-5.5-contract", input_tokens=1_000_000, output_tokens=0)[0] == 3.0
    # and prices a model the database does not know, with its own long-context tier
    assert book.quote("sol-6.2").kind == "registry"
    above, known = cost_of("sol-6.2", input_tokens=300_000, output_tokens=1_000)
    assert known and above == pytest.approx((300_000 * 4 + 1_000 * 15) / 1e6)


def test_a_model_neither_knows_costs_unknown_never_zero() -> None:
    book = PriceBook(SETTINGS)
    assert book.quote("unpriced").kind == "unknown" and book.sheet("unpriced") is None
    dollars, known = cost_of("unpriced", input_tokens=1_000, output_tokens=1_000)
    assert not known and dollars == 0.0


def test_a_local_server_is_not_looked_up_in_the_database() -> None:
    settings = load_settings(
        [shipped_config_dir()],
        {
            "providers": {"local": {"kind": "openai_chat", "base_url": "http://127.0.0.1:1/v1"}},
            "models": {
                # the database prices this name, but not as served by the user's own server
                "llama": {"provider": "local", "api_model": "gpt-5.2",
                          "context_window": 1000, "max_output_tokens": 100},
                "routed": {"provider": "local", "api_model": "x", "price_model": "gpt-5.2",
                           "context_window": 1000, "max_output_tokens": 100},
            },
        },
    )  # fmt: skip
    book = PriceBook(settings)
    assert book.quote("llama") == PriceQuote("unknown")
    assert book.quote("routed").kind == "database"  # price_model names it on purpose


def test_every_shipped_model_has_a_price_source() -> None:
    settings = load_settings([shipped_config_dir()])
    book = PriceBook(settings)
    for model_id in settings.registry.models:
        assert book.quote(model_id).kind != "unknown", model_id


@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_attempt_records_the_tokens_the_provider_reported(
    kind: ProviderKind, tmp_path: Path
) -> None:
    """Anthropic stop_reason refusal, OpenAI response.incomplete (content_filter), Chat
    finish_reason content_filter, Gemini finishReason SAFETY: all billed, all recorded."""
    extra = {"models": {"qwen3-local": {"prices": {"input": 1.0, "output": 2.0}}}}
    faults = [FaultRule(kind="refusal")]
    async with Harness(tmp_path / "mao.db", faults, extra=extra) as h:
        ws = h.workstream("schemas", [PRIMARY[kind]])
        await h.plan(ws)
        outcome = await h.run(ws)
        detail = await h.detail()
    (finished,) = h.rec.of(AttemptFinished)
    assert finished.error_kind == "content_policy"
    assert finished.usage.input_tokens > 0 and finished.usage.output_tokens > 0
    assert finished.usage.cost_usd > 0 and finished.usage.cost_complete
    assert outcome.usage.output_tokens == finished.usage.output_tokens
    (attempt,) = detail.attempts
    assert attempt.status == "failed" and attempt.output_tokens == finished.usage.output_tokens
    assert attempt.cost_usd == pytest.approx(finished.usage.cost_usd)


def test_mao_models_and_config_check_show_each_prices_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.yaml").write_text(
        "models:\n"
        "  gpt-5.2: {prices: {input: 1.0, cached_input: 0.1, output: 8.0}}\n"
        "  unpriced: {provider: google, api_model: gemini-0-mao-unpriced,\n"
        "           context_window: 1048576, max_output_tokens: 65536}\n",
        encoding="utf-8",
    )
    assert main(["models", "--config", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "PRICE SOURCE" in rows["MODEL"]
    assert re.search(r"1\.00\s+0\.10\s+8\.00\s+registry override", rows["gpt-5.2"])
    assert re.search(r"5\.00\s+0\.50\s+25\.00\s+genai-prices 0\.2\.\d+", rows["opus-4.5"])
    assert re.search(r"unknown\s+unknown\s+unknown\s+unknown", rows["unpriced"])
    assert main(["config", "check", "--config", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    sources = dict(
        line.strip().split(": ", 1)
        for line in out.split("prices (")[1].split("\n\n")[0].splitlines()[1:]
    )
    assert "gpt-5.2" in sources["registry override"].split(", ")
    assert sources["unknown"] == "unpriced"
    assert "opus-4.5" in sources[database_label()].split(", ")


def test_the_price_database_is_not_imported_at_start_up() -> None:
    code = (
        "import sys, mao_tui.cli, mao_tui.engine.chain, mao_tui.engine.pricing, "
        "mao_tui.tui.app; print('genai_prices' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
