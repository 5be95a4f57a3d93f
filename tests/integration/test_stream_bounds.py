"""A model's streamed answer and thinking are bounded (issue 15, item 13).

A model that loops, or a server that streams without end, must not cost memory or database
space beyond ``limits.max_answer_chars`` / ``limits.max_thinking_chars``. Through the real SDKs
against the simulator's ``flood`` fault: past the answer's bound the stream is closed (the
simulator stops being read), the attempt ends ``truncated`` with the numbers, what came before
the bound is stored and visible, and the chain falls back, offering the next model the partial
answer. Past the thinking's bound the rest of the thinking is dropped behind a visible marker and
the answer goes on. And through ``mao develop --headless --json`` with the limit set in a config
layer: the session finishes and the database stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.chains import API_MODEL, FALLBACK, KINDS, PRIMARY, run_chain
from fixtures.sim_thread import FAKE_KEYS, ThreadedSimulator, write_sim_config
from pydantic import ValidationError
from test_providers import make_provider, make_request

from mao_tui import cli
from mao_tui.domain import AttemptStatus, FallbackEvent, WorkstreamStatus
from mao_tui.engine import continuity
from mao_tui.engine.stream_bounds import StreamBounds, answer_over, thinking_marker
from mao_tui.providers.base import TextDelta
from mao_tui.settings.schema import Limits, ProviderKind
from mao_tui.simulator import FaultRule, Simulator
from mao_tui.simulator.pacing import FLOOD_LINE

LIMIT = 20_000  # a small answer bound, set in a configuration layer
FLOOD = 50_000_000  # what the flood would stream if it were read to the end
# The simulator writes on until the loopback socket buffers are full (a few MB, more when the
# client's loop is busy elsewhere), whatever the client reads; a stream read to its end would be
# the whole FLOOD. Whether the connection is freed at once is checked with the garbage collector
# off, below (the Gemini SDK left it to the collector).
NOT_READ_ON = FLOOD // 4


def _limits(**limits: int) -> dict[str, Any]:
    return {"global": {"limits": limits}}


# --- the bound itself ------------------------------------------------------------------------


def test_the_answer_is_cut_at_its_bound_and_says_so_with_the_numbers() -> None:
    bounds = StreamBounds(Limits(max_answer_chars=10))
    assert bounds.take("text", "abcdef") == ("abcdef", None)
    piece, over = bounds.take("text", "gh\x1bijKLMNOP")
    assert piece == "gh\u241bi" and over == answer_over(10)
    assert over == "the answer passed the limit of 10 characters (limits.max_answer_chars)"


def test_an_answer_of_exactly_its_bound_is_whole() -> None:
    bounds = StreamBounds(Limits(max_answer_chars=6))
    assert bounds.take("text", "abc") == ("abc", None)
    assert bounds.take("text", "def") == ("def", None)
    assert bounds.take("text", "") == ("", None)


def test_thinking_past_its_bound_is_dropped_behind_one_marker_and_the_answer_goes_on() -> None:
    bounds = StreamBounds(Limits(max_thinking_chars=5, max_answer_chars=100))
    assert bounds.take("thinking", "abc") == ("abc", None)
    assert bounds.take("thinking", "defgh") == ("de" + thinking_marker(5), None)
    assert bounds.take("thinking", "x" * 1000) == ("", None)
    assert bounds.thinking_dropped == 1003
    assert bounds.take("text", "the answer") == ("the answer", None)
    assert "limits.max_thinking_chars" in thinking_marker(5)


@pytest.mark.parametrize("field", ["max_answer_chars", "max_thinking_chars"])
@pytest.mark.parametrize("value", [0, -1])
def test_a_bound_below_one_is_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        Limits.model_validate({field: value})


# --- through the SDKs against the simulator --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_flooding_answer_is_cut_at_its_bound_and_the_chain_falls_back(
    kind: ProviderKind, tmp_path: Path
) -> None:
    primary, fallback = PRIMARY[kind], FALLBACK[kind]
    rule = FaultRule(kind="flood", model=API_MODEL[kind], flood_chars=FLOOD)
    run = await run_chain(
        tmp_path / "mao.db", [primary, fallback], [rule], extra=_limits(max_answer_chars=LIMIT)
    )

    assert run.outcome.status is WorkstreamStatus.DONE and run.outcome.model == fallback
    (fb,) = run.rec.of(FallbackEvent)
    assert fb.reason == "truncated" and answer_over(LIMIT) in fb.detail
    cut, ok = run.detail.attempts
    assert (cut.status, cut.error_kind) == (AttemptStatus.FAILED, "truncated")
    assert cut.error_message == answer_over(LIMIT)
    # Kept up to the bound, stored and visible; never the workstream's output.
    assert len(cut.output_text) == LIMIT and FLOOD_LINE in cut.output_text
    assert ok.status is AttemptStatus.OK and run.outcome.text == ok.output_text
    # The stream was closed: the simulator was not read to the end of its flood.
    flooded = next(n for n, r in enumerate(run.sim.requests, 1) if r.fault == "flood")
    assert run.sim.sent_chars[flooded] < NOT_READ_ON
    # The next model is offered the partial answer (bounded by the continuity code).
    offered = json.dumps(run.sim.requests[flooded].body)
    assert continuity.HEADING in offered and "(truncated)" in offered
    assert len(offered) < LIMIT + 3 * continuity.MAX_CHARS


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_flooding_thinking_is_dropped_past_its_bound_and_the_answer_is_kept(
    kind: ProviderKind, tmp_path: Path
) -> None:
    thinking_limit = 30_000
    rule = FaultRule(
        kind="flood", model=API_MODEL[kind], flood_chars=300_000, flood_channel="thinking"
    )
    run = await run_chain(
        tmp_path / "mao.db",
        [PRIMARY[kind], FALLBACK[kind]],
        [rule],
        extra=_limits(max_thinking_chars=thinking_limit),
    )
    assert run.outcome.status is WorkstreamStatus.DONE and run.outcome.model == PRIMARY[kind]
    (attempt,) = run.detail.attempts
    assert attempt.status is AttemptStatus.OK and attempt.output_text == run.outcome.text
    marker = thinking_marker(thinking_limit)
    assert attempt.thinking_text.endswith(marker)
    assert len(attempt.thinking_text) == thinking_limit + len(marker)
    assert not run.rec.of(FallbackEvent)


@contextlib.contextmanager
def _no_garbage_collector() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_mao_stops_reading_frees_its_connection_at_once(kind: ProviderKind) -> None:
    """Closing the provider's stream (what the engine does past the bound) closes the HTTP
    response then, not when the garbage collector gets to it: the server stops writing."""
    rule = FaultRule(kind="flood", flood_chars=FLOOD)
    async with Simulator(speed=math.inf, faults=[rule], market=None) as sim:
        provider = make_provider(kind, sim)
        with _no_garbage_collector():
            try:
                stream = provider.stream(make_request(kind))
                async for event in stream:
                    if isinstance(event, TextDelta):
                        break
                await stream.aclose()  # type: ignore[attr-defined]
                try:
                    async with asyncio.timeout(5):
                        while sim.open_connections:
                            await asyncio.sleep(0.01)
                except TimeoutError:
                    pytest.fail(f"the connection stayed open; {sim.sent_chars[1]:,} chars sent")
            finally:
                await provider.aclose()
        assert sim.sent_chars[1] < NOT_READ_ON


# --- through `mao develop --headless --json` --------------------------------------------------


def test_develop_cuts_a_flooding_answer_falls_back_and_keeps_the_database_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, key in FAKE_KEYS.items():
        monkeypatch.setenv(name, key)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    db = tmp_path / "mao.db"
    rule = FaultRule(kind="flood", workstream="schemas", flood_chars=FLOOD)
    with ThreadedSimulator(faults=[rule]) as sim:
        config = write_sim_config(
            tmp_path / "config", sim.base_url, extra=_limits(max_answer_chars=LIMIT)
        )
        argv = ["develop", "Build the snippet store.", "--headless", "--json", "--no-planner"]
        code = cli.main([*argv, "--config", str(config), "--db", str(db)])
        requests = list(sim.sim.requests)
        sent = dict(sim.sim.sent_chars)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    assert code == 0
    failed = [e for e in events if e["type"] == "attempt_finished" and e["status"] == "failed"]
    assert [(e["workstream"], e["error_kind"], e["error_message"]) for e in failed] == [
        ("schemas", "truncated", answer_over(LIMIT))
    ]
    fallbacks = [e for e in events if e["type"] == "fallback"]
    assert [(e["workstream"], e["reason"]) for e in fallbacks] == [("schemas", "truncated")]
    (schemas,) = [
        e for e in events if e["type"] == "workstream_finished" and e["workstream"] == "schemas"
    ]
    assert schemas["status"] == "done"
    (session,) = [e for e in events if e["type"] == "session_finished"]
    assert session["status"] == "done"
    flooded = next(n for n, r in enumerate(requests, 1) if r.fault == "flood")
    assert sent[flooded] < NOT_READ_ON
    # The stored answer is at most the bound, and the database stays small.
    with sqlite3.connect(db) as conn:
        lengths = conn.execute("SELECT length(output_text) FROM attempts").fetchall()
    assert max(n for (n,) in lengths) <= LIMIT
    assert db.stat().st_size < 2_000_000
