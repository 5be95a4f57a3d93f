"""A pick of a workstream's output (the compare view's ``1``/``2``), through the controller
against the simulator: made before the synthesis starts, it is what the synthesis request
carries; made after, it waits for a new synthesis, which carries it. Checked on the requests
the simulator received."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from fixtures.engine import TASK, Recorder, settings_for, start_sim

from mao_tui.domain import (
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EngineEvent,
    SessionFinished,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.candidate_events import CandidateSelected
from mao_tui.domain.errors import ControlError
from mao_tui.domain.pick_events import OutputPicked
from mao_tui.engine.controller import LiveSessionController
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.session import SessionRequest
from mao_tui.service.launch import simulator_env
from mao_tui.simulator.server import Simulator

KEY = "implementation"
OPUS = "opus-5.5"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = await start_sim()
    yield simulator
    await simulator.stop()


def _synthesis_requests(sim: Simulator) -> list[str]:
    bodies = [json.dumps(r.body) for r in sim.requests if r.workstream == "synthesis"]
    return [b for b in bodies if "### Implementation (by" in b]


class Answers(Recorder):
    """Every attempt's answer, by attempt id, as the dashboard keeps them; a test can wait
    for the session's ends."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()

    async def __call__(self, event: EngineEvent) -> None:
        await super().__call__(event)
        if isinstance(event, SessionFinished):
            self.ended.set()

    def answer(self, model: str) -> tuple[str, int, str]:
        started = [e for e in self.of(AttemptStarted) if e.workstream == KEY and e.model == model]
        ok = {e.attempt_id for e in self.of(AttemptFinished) if e.status is AttemptStatus.OK}
        attempt = [e for e in started if e.attempt_id in ok][-1]
        text = "".join(
            d.text
            for d in self.of(Delta)
            if d.attempt_id == attempt.attempt_id and d.channel == "text"
        )
        return attempt.attempt_id, attempt.attempt_no, text


async def test_a_pick_before_the_synthesis_is_what_the_synthesis_is_given(sim: Simulator) -> None:
    settings = settings_for(sim)
    answers = Answers()
    picked: list[OutputPicked] = []
    controller: LiveSessionController

    async def pick_opus(event: EngineEvent) -> None:
        await answers(event)
        if isinstance(event, WorkstreamFinished) and event.workstream == KEY and not picked:
            assert event.status is WorkstreamStatus.DONE and event.model != OPUS
            attempt_id, number, text = answers.answer(OPUS)
            picked.append(await controller.pick(KEY, attempt_id, number, OPUS, text, 3))

    req = SessionRequest(command="develop", playbook="develop", task=TASK, simulated=True,
                         use_planner=False, candidates={KEY: 3})  # fmt: skip
    pool = ProviderPool(settings, simulator_env(settings))
    controller = LiveSessionController(settings, pool, [pick_opus], req)
    await controller.run_first(rule_based_plan(settings, "develop"))

    [race] = answers.of(CandidateSelected)
    assert race.model != OPUS  # code selected another candidate; the user picked Opus's
    assert [p.synthesized for p in picked] == [False]
    [given] = _synthesis_requests(sim)
    assert "### Implementation (by Claude Opus 5.5)" in given

    with pytest.raises(ControlError, match="not picked"):
        await controller.pick("synthesis", "x", 1, OPUS, "text")
    await controller.aclose()


async def test_a_pick_after_the_synthesis_waits_for_a_new_one(sim: Simulator) -> None:
    settings = settings_for(sim)
    answers = Answers()
    req = SessionRequest(command="develop", playbook="develop", task=TASK, simulated=True,
                         use_planner=False)  # fmt: skip
    pool = ProviderPool(settings, simulator_env(settings))
    controller = LiveSessionController(settings, pool, [answers], req)
    await controller.run_first(rule_based_plan(settings, "develop"))
    first = answers.answer("sonnet-5.5")
    text = first[2].replace("## ", "## Picked: ", 1)  # told apart from the first answer
    event = await controller.pick(KEY, first[0], first[1], "sonnet-5.5", text)
    assert event.synthesized
    assert len(_synthesis_requests(sim)) == 1  # nothing synthesized by the pick itself
    answers.ended.clear()
    controller.resynthesize()
    await asyncio.wait_for(answers.ended.wait(), 30.0)
    given = _synthesis_requests(sim)
    assert len(given) == 2 and "## Picked: " in given[1] and "## Picked: " not in given[0]
    await controller.aclose()
