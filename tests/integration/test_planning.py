"""Phase 0: sections, diversity, the orchestrator's plan (valid, repaired, invalid, down),
pre-flight findings, and execution in dependency order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.engine import run_engine, settings_for, start_sim

from mao_tui.cli import main
from mao_tui.domain import (
    AttemptStarted,
    FallbackEvent,
    PlanReady,
    SynthesisFinished,
    WorkstreamFinished,
)
from mao_tui.engine.diversity import diversity_score
from mao_tui.engine.orchestrator_plan import PlanInvalid, apply_proposal, extract_json, plan_as_json
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.engine.sections import SectionError, parse_sections, parse_selection, select_sections
from mao_tui.samples import demo_spec
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.simulator import scripts
from mao_tui.simulator.faults import FaultRule

SETTINGS = load_settings([shipped_config_dir()])

# -- sections ---------------------------------------------------------------------------------

HEADING_STYLES = """\
# PRD: Things

## 1. Overview
Intro.

## 2 Storage
Rows and tables.

### 2.1 Migrations
Numbered.

## Section 3: Search
Builds on section 2.

```markdown
## 4. Not a heading: inside a fence
```

## 4) API
Routes.

## Appendix
Unnumbered.
"""


def test_sections_parse_real_world_heading_styles() -> None:
    found = {s.number: s for s in parse_sections(HEADING_STYLES)}
    assert list(found) == ["1", "2", "2.1", "3", "4"]
    assert found["2"].title == "Storage" and found["3"].title == "Search"
    assert found["4"].title == "API"
    assert "### 2.1 Migrations" in found["2"].text  # a section includes its subsections
    assert "Search" not in found["2"].text
    assert "Not a heading" in found["3"].text  # the fenced line belongs to section 3
    assert "Appendix" not in found["4"].text  # an unnumbered heading of the same level ends it


def test_selecting_a_missing_section_names_the_ones_that_exist() -> None:
    with pytest.raises(SectionError) as info:
        select_sections(HEADING_STYLES, ["2", "7"], "PRD.md")
    assert str(info.value) == (
        "PRD.md: no section 7; numbered sections found: 1 Overview; 2 Storage; 3 Search; 4 API"
    )
    with pytest.raises(SectionError, match="section numbers separated by commas"):
        parse_selection("2,three")


def test_sections_become_parallel_groups_of_workstreams() -> None:
    sections = select_sections(demo_spec(), ["2", "3"], "spec")
    plan = rule_based_plan(SETTINGS, "develop", sections)
    keys = [ws.key for ws in plan.workstreams]
    assert keys[:5] == ["s2.schemas", "s2.storage", "s2.core_logic", "s2.implementation",
                        "s2.tests"]  # fmt: skip
    assert len(keys) == 10 and keys[5] == "s3.schemas"
    assert plan.workstreams[5].title == "§3 Schemas"
    assert all(not ws.depends_on for ws in plan.workstreams)
    assert plan.synthesis.depends_on == keys
    assert plan.sections == ["2", "3"]


# -- diversity --------------------------------------------------------------------------------


def test_diversity_score_on_known_plans() -> None:
    plan = rule_based_plan(SETTINGS, "develop")
    # 4 distinct models of 5 workstreams, 3 providers of 3: ½·4/5 + ½·3/3
    assert plan.diversity == pytest.approx(0.9)
    monoculture = [ws.model_copy(update={"chain": ["opus-5.5"]}) for ws in plan.workstreams]
    # ½·1/5 + ½·1/3
    assert diversity_score(monoculture, SETTINGS) == pytest.approx(0.267, abs=1e-3)


# -- validating proposals ---------------------------------------------------------------------


def _proposal(**changes: object) -> dict[str, object]:
    base = json.loads(plan_as_json(rule_based_plan(SETTINGS, "develop")))
    assert isinstance(base, dict)
    base.update(changes)
    return base


def test_a_valid_proposal_keeps_titles_and_appends_the_universal_fallback() -> None:
    draft = rule_based_plan(SETTINGS, "develop")
    raw = _proposal()
    raw["workstreams"][0]["chain"] = ["gemini-4-hydrogen"]  # type: ignore[index]
    raw["workstreams"][4]["depends_on"] = ["core_logic"]  # type: ignore[index]
    plan = apply_proposal(raw, draft, SETTINGS, "orchestrator")
    assert plan.source == "orchestrator"
    assert plan.workstreams[0].chain == ["gemini-4-hydrogen", "opus-5.5"]
    assert plan.workstreams[0].title == "Schemas"
    assert plan.workstreams[4].depends_on == ["core_logic"]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda p: p["workstreams"].pop(), "workstream 'tests' is missing"),
        (lambda p: p["workstreams"][0].update(chain=["gpt-9"]), "schemas: unknown model(s) gpt-9"),
        (
            lambda p: (
                p["workstreams"][0].update(depends_on=["tests"]),
                p["workstreams"][4].update(depends_on=["schemas"]),
            ),
            "depends_on has a cycle: schemas → tests → schemas",
        ),
        (lambda p: p["workstreams"][1].update(key="database"), "'database' is not in the playbook"),
        (lambda p: p["workstreams"][2].update(chain=[]), "at least 1 item"),
    ],
)
def test_invalid_proposals_are_refused_with_the_reason(
    mutate: Callable[[dict[str, object]], object], problem: str
) -> None:
    raw = _proposal()
    mutate(raw)
    with pytest.raises(PlanInvalid) as info:
        apply_proposal(raw, rule_based_plan(SETTINGS, "develop"), SETTINGS, "orchestrator")
    assert problem in str(info.value)


def test_extract_json_takes_the_fenced_block_and_reports_bad_json() -> None:
    assert extract_json('Here:\n```json\n{"a": 1}\n```\nthanks') == {"a": 1}
    assert extract_json('plain {"b": 2} text') == {"b": 2}
    with pytest.raises(ValueError, match="does not parse"):
        extract_json("```json\n{nope}\n```")


# -- the orchestrator against the simulator ---------------------------------------------------


async def test_the_orchestrators_plan_is_used_and_run_in_dependency_order() -> None:
    sim = await start_sim()
    try:
        rec, finished = await run_engine(settings_for(sim), use_planner=True, spec_text="# S\n")
    finally:
        await sim.stop()
    assert finished.status == "done"
    (ready,) = rec.of(PlanReady)
    plan = ready.plan
    assert plan.source == "orchestrator" and plan.rationale
    by_key = {ws.key: ws for ws in plan.workstreams}
    assert by_key["tests"].depends_on == ["core_logic"]
    assert all(ws.rationale for ws in plan.workstreams)
    assert plan.diversity == pytest.approx(0.9)
    assert any(f.source == "haiku-5.5" for f in plan.findings)
    planning = [e.workstream for e in rec.of(AttemptStarted)][:2]
    assert planning == ["dependency_check", "orchestrator"]
    assert rec.index(ready) > max(rec.index(e) for e in rec.of(AttemptStarted)[:2])
    starts = {e.workstream: rec.index(e) for e in rec.of(AttemptStarted)}
    ends = {e.workstream: rec.index(e) for e in rec.of(WorkstreamFinished)}
    assert starts["tests"] > ends["core_logic"]  # the dependent waits
    independent = ["schemas", "storage", "core_logic", "implementation"]
    assert max(starts[k] for k in independent) < min(ends[k] for k in independent)  # overlap
    (tests_req,) = [r for r in sim.requests if r.workstream == "tests"]
    body = str(tests_req.body)
    assert "Core logic (by GPT-6.2 Astra)" in body  # the dependency's output is in the prompt
    assert "Instructions from the orchestrator" in body
    assert finished.totals.input_tokens > sum(e.usage.input_tokens for e in rec.of(
        WorkstreamFinished))  # planning is counted  # fmt: skip


async def test_an_invalid_plan_gets_one_repair_round(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = iter(['```json\n{"workstreams": []}\n```'])
    real = scripts._PLANNING["orchestrator"]

    def first_invalid(text: str) -> tuple[str, str]:
        bad = next(replies, None)
        return ("hmm", bad) if bad else real(text)

    monkeypatch.setitem(scripts._PLANNING, "orchestrator", first_invalid)
    sim = await start_sim()
    try:
        rec, _ = await run_engine(settings_for(sim), use_planner=True)
    finally:
        await sim.stop()
    (ready,) = rec.of(PlanReady)
    assert ready.plan.source == "orchestrator"
    (repair,) = rec.of(FallbackEvent)
    assert repair.line.startswith("Plan: fallback from opus-5.5 to repair round (invalid plan)")
    orchestrator_calls = [r for r in sim.requests if r.workstream == "orchestrator"]
    assert len(orchestrator_calls) == 2
    repair_text = orchestrator_calls[1].body["messages"][0]["content"]
    assert "workstream 'schemas' is missing" in repair_text
    assert "```json plan-draft" in repair_text  # stateless: the original request is repeated


async def test_a_plan_invalid_twice_falls_back_to_the_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(scripts._PLANNING, "orchestrator", lambda text: ("", "no json here"))
    sim = await start_sim()
    try:
        rec, finished = await run_engine(settings_for(sim), use_planner=True)
    finally:
        await sim.stop()
    assert finished.status == "done"
    assert rec.of(PlanReady)[0].plan.source == "rules"
    lines = [e.line for e in rec.of(FallbackEvent)]
    assert lines[-1] == "Plan: fallback from orchestrator to rule-based plan (invalid plan)"


async def test_orchestrator_down_means_the_rule_based_plan() -> None:
    sim = await start_sim([FaultRule(kind="server_error", workstream="orchestrator", times=None)])
    try:
        rec, finished = await run_engine(settings_for(sim), use_planner=True)
    finally:
        await sim.stop()
    assert finished.status == "done"
    assert rec.of(PlanReady)[0].plan.source == "rules"
    lines = [e.line for e in rec.of(FallbackEvent)]
    assert "Plan: fallback from opus-5.5 to gpt-6.2-astra (server)" in lines
    assert lines[-1] == "Plan: fallback from orchestrator to rule-based plan (orchestrator failed)"


async def test_a_blocking_finding_stops_before_any_model_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocking = {"findings": [{"severity": "blocking", "message": "section 3 needs section 2"}]}
    monkeypatch.setitem(
        scripts._PLANNING, "dependency_check",
        lambda text: ("", "```json\n" + json.dumps(blocking) + "\n```"),
    )  # fmt: skip
    sim = await start_sim()
    try:
        rec, finished = await run_engine(settings_for(sim), use_planner=True)
    finally:
        await sim.stop()
    assert finished.status == "failed"
    assert finished.error == "pre-flight: section 3 needs section 2"
    assert [e.workstream for e in rec.of(AttemptStarted)] == ["dependency_check"]
    assert {r.workstream for r in sim.requests} == {"dependency_check"}


async def test_a_failed_dependency_blocks_its_dependents_and_synthesis_is_told() -> None:
    # context_length: a failure of this request only (a 404 or 401 would rule the model or the
    # key out for the whole session, synthesis included)
    sim = await start_sim([FaultRule(kind="context_length", workstream="core_logic", times=None)])
    try:
        rec, finished = await run_engine(settings_for(sim), use_planner=True)
    finally:
        await sim.stop()
    assert finished.status == "failed"
    status = {e.workstream: e for e in rec.of(WorkstreamFinished)}
    assert status["core_logic"].status == "failed"
    assert status["tests"].status == "blocked"
    assert status["tests"].detail == "blocked: Core logic did not finish"
    assert not [e for e in rec.of(AttemptStarted) if e.workstream == "tests"]
    (synth,) = rec.of(SynthesisFinished)
    assert synth.status == "done"
    (synth_req,) = [r for r in sim.requests if r.workstream == "synthesis"]
    assert "- Core logic: failed" in str(synth_req.body).replace("\\n", "\n")
    assert "- Tests: blocked" in str(synth_req.body).replace("\\n", "\n")


async def test_max_parallel_bounds_how_many_run_at_once() -> None:
    sim = await start_sim()
    try:
        rec, _ = await run_engine(settings_for(sim), max_parallel=2)
    finally:
        await sim.stop()
    running = 0
    peak = 0
    for event in rec.events:
        if isinstance(event, AttemptStarted) and event.workstream != "synthesis":
            running += 1
            peak = max(peak, running)
        elif isinstance(event, WorkstreamFinished):
            running -= 1
    assert peak == 2


# -- the command line -------------------------------------------------------------------------


def _events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_develop_with_sections_runs_one_group_per_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "PRD.md"
    spec.write_text(demo_spec(), encoding="utf-8")
    argv = ["develop", "Build it", "--spec", str(spec), "--sections", "2,3", "--simulate",
            "--json", "--speed", "1000", "--db", str(tmp_path / "db")]  # fmt: skip
    assert main(argv) == 0
    events = _events(capsys.readouterr().out)
    (plan,) = [e["plan"] for e in events if e["type"] == "plan"]
    assert isinstance(plan, dict)
    keys = [ws["key"] for ws in plan["workstreams"]]
    assert len(keys) == 10 and "s2.schemas" in keys and "s3.tests" in keys
    assert plan["sections"] == ["2", "3"]
    assert {"s3.tests": ["s3.core_logic"]}.items() <= {
        ws["key"]: ws["depends_on"] for ws in plan["workstreams"]
    }.items()
    finished = [e for e in events if e["type"] == "workstream_finished"]
    assert len(finished) == 10


def test_a_missing_section_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "PRD.md"
    spec.write_text(demo_spec(), encoding="utf-8")
    argv = ["develop", "x", "--spec", str(spec), "--sections", "9", "--headless",
            "--db", str(tmp_path / "db")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no section 9; numbered sections found: 1 Overview; 2 Data model" in err


def test_a_plan_file_from_a_previous_run_is_used_as_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "db")
    assert main(["demo", "--json", "--speed", "1000", "--db", db]) == 0
    plan_line = next(
        line for line in capsys.readouterr().out.splitlines() if '"type":"plan"' in line
    )
    event = json.loads(plan_line)
    event["plan"]["workstreams"][0]["chain"] = ["gemini-4-hydrogen"]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(event), encoding="utf-8")
    argv = ["develop", "Build it", "--simulate", "--plan", str(plan_file), "--json",
            "--speed", "1000", "--db", db]  # fmt: skip
    assert main(argv) == 0
    events = _events(capsys.readouterr().out)
    (plan,) = [e["plan"] for e in events if e["type"] == "plan"]
    assert isinstance(plan, dict)
    assert plan["source"] == "file"
    assert plan["workstreams"][0]["chain"] == ["gemini-4-hydrogen", "opus-5.5"]
    started = [e for e in events if e["type"] == "attempt_started"]
    assert started[0]["workstream"] == "schemas" and started[0]["model"] == "gemini-4-hydrogen"
    bad = tmp_path / "bad.json"
    bad.write_text('{"workstreams": [{"key": "schemas", "chain": ["x"]}]}', encoding="utf-8")
    assert main(["develop", "x", "--plan", str(bad), "--headless", "--db", db]) == 2
    assert "the plan cannot be used: workstream 'core_logic' is missing" in (
        capsys.readouterr().err
    )
