"""Phase 0: pre-flight checks and the orchestrator's plan, validated against registry and playbook.

The orchestrator improves on the rule-based draft (models, order, rationale, instructions); it
cannot invent or drop workstreams. Invalid output gets one repair round; after that, or when the
orchestrator cannot be reached, the draft is used and the fallback is logged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mao_tui.domain import (
    EventSink,
    FallbackEvent,
    Finding,
    ModelSubstitution,
    Plan,
    PlannedWorkstream,
    TokenTotals,
)
from mao_tui.domain.sanitize import clean_json
from mao_tui.engine.chain import ChainRunner
from mao_tui.engine.diversity import diversity_score
from mao_tui.engine.files import path_problem
from mao_tui.engine.pool import ProviderPool
from mao_tui.engine.prompts import render
from mao_tui.engine.routing import planned_workstream, resolved_chain
from mao_tui.engine.sections import Section, outline
from mao_tui.settings.schema import Settings, find_cycle

PLAN_KEY = "orchestrator"
MAX_NAMED_FILES = 8
PREFLIGHT_KEY = "dependency_check"
_JSON_BLOCK = re.compile(r"```json[^\n]*\n(?P<body>.*?)```", re.S)
_PATHLIKE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.(?:py|ts|tsx|js|md|yaml|yml|json|toml))\b"
)


class PlanInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _ProposedWorkstream(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    chain: list[str] = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list)
    rationale: str = ""
    instructions: str = ""
    files: list[str] = Field(default_factory=list)  # in a git repository: paths to read


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rationale: str = ""
    workstreams: list[_ProposedWorkstream]
    synthesis_chain: list[str] | None = None


class _Findings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    findings: list[Finding] = Field(default_factory=list)


def extract_json(text: str) -> object:
    """The last fenced ```json block, else the outermost {...}; raises ValueError."""
    blocks = [m["body"] for m in _JSON_BLOCK.finditer(text)]
    candidate = blocks[-1] if blocks else text[text.find("{") : text.rfind("}") + 1]
    if not candidate.strip():
        raise ValueError("no JSON object in the reply")
    try:
        return clean_json(json.loads(candidate))  # model output: see sanitize.py
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the JSON does not parse: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def _with_universal(
    chain: list[str], settings: Settings
) -> tuple[list[str], list[ModelSubstitution]]:
    """``chain`` then the universal fallback, as they will run (successors in place)."""
    return resolved_chain(settings, [*chain, settings.routing.universal_fallback])


def _chain_update(
    chain: list[str], settings: Settings, earlier: list[ModelSubstitution]
) -> dict[str, object]:
    """A new chain for a workstream, with the notes that still hold: the draft's (its route
    named a gone model) where the replacement is still in the chain, then the new chain's."""
    resolved, notes = _with_universal(chain, settings)
    kept = [n for n in earlier if n.model is None or n.model in resolved]
    return {"chain": resolved, "substitutions": [*kept, *(n for n in notes if n not in kept)]}


def apply_proposal(raw: object, draft: Plan, settings: Settings, source: str) -> Plan:
    """Validate a proposed plan (from the orchestrator or a --plan file) against the draft."""
    try:
        proposal = _Proposal.model_validate(raw)
    except ValidationError as exc:
        raise PlanInvalid(
            [f"{'.'.join(map(str, e['loc'])) or 'plan'}: {e['msg']}" for e in exc.errors()]
        ) from None
    draft_by_key = {ws.key: ws for ws in draft.workstreams}
    problems = _problems(proposal, list(draft_by_key), list(settings.registry.models))
    if problems:
        raise PlanInvalid(problems)
    workstreams = [
        draft_by_key[w.key].model_copy(
            update={
                **_chain_update(w.chain, settings, draft_by_key[w.key].substitutions),
                "depends_on": list(dict.fromkeys(w.depends_on)),
                "rationale": w.rationale.strip(),
                "instructions": w.instructions.strip(),
                "files": _named_files(w.files),
            }
        )
        for w in proposal.workstreams
    ]
    synthesis_update: dict[str, object] = (
        _chain_update(proposal.synthesis_chain, settings, draft.synthesis.substitutions)
        if proposal.synthesis_chain
        else {}
    )
    synthesis = draft.synthesis.model_copy(
        update={**synthesis_update, "depends_on": [w.key for w in workstreams]}
    )
    return draft.model_copy(
        update={
            "workstreams": workstreams,
            "synthesis": synthesis,
            "source": source,
            "rationale": proposal.rationale.strip(),
            "diversity": diversity_score(workstreams, settings),
        }
    )


def _named_files(paths: list[str]) -> list[str]:
    """The files a plan names for a workstream: stripped, each once, safe as relative paths
    (the rest dropped: they are read from the repository later, confined again), at most 8."""
    named = [p.strip().strip("`") for p in paths if isinstance(p, str)]
    return [p for p in dict.fromkeys(named) if p and path_problem(p) is None][:MAX_NAMED_FILES]


def _problems(proposal: _Proposal, draft_keys: list[str], known_models: list[str]) -> list[str]:
    """What is wrong with a proposed plan: workstreams missing, doubled or unknown, unknown
    models, unknown dependencies, or a dependency cycle."""
    problems: list[str] = []
    keys = [w.key for w in proposal.workstreams]
    for key in sorted(set(draft_keys) - set(keys)):
        problems.append(f"workstream {key!r} is missing")
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"workstream {key!r} appears more than once")
    for key in sorted(set(keys) - set(draft_keys)):
        problems.append(
            f"workstream {key!r} is not in the playbook (known: {', '.join(draft_keys)})"
        )
    chains = [(w.key, w.chain) for w in proposal.workstreams]
    if proposal.synthesis_chain is not None:
        chains.append(("synthesis", proposal.synthesis_chain))
    for key, chain in chains:
        unknown = [m for m in chain if m not in known_models]
        if unknown:
            problems.append(
                f"{key}: unknown model(s) {', '.join(unknown)} (known: {', '.join(known_models)})"
            )
    for w in proposal.workstreams:
        bad = [d for d in w.depends_on if d not in draft_keys]
        if bad:
            problems.append(f"{w.key}: depends on unknown workstream(s) {', '.join(bad)}")
    if not problems:
        cycle = find_cycle({w.key: w.depends_on for w in proposal.workstreams})
        if cycle:
            problems.append("depends_on has a cycle: " + " → ".join(cycle))
    return problems


def plan_as_json(plan: Plan) -> str:
    """A plan in the shape the orchestrator answers with, and --plan FILE reads."""
    data = {
        "rationale": plan.rationale,
        "workstreams": [
            {
                "key": ws.key,
                "title": ws.title,
                "chain": ws.chain,
                "depends_on": ws.depends_on,
                "rationale": ws.rationale,
                "instructions": ws.instructions,
                **({"files": ws.files} if ws.files else {}),
            }
            for ws in plan.workstreams
        ],
        "synthesis_chain": plan.synthesis.chain,
    }
    return json.dumps(data, indent=2)


def code_findings(task: str, sections: list[Section], project_dir: Path) -> list[Finding]:
    """What code can check without a model: files the task names, sections' cross-references."""
    findings = [
        Finding(severity="info", message=f"section {s.label} found ({len(s.text):,} characters)")
        for s in sections
    ]
    for path in dict.fromkeys(m.group(1) for m in _PATHLIKE.finditer(task)):
        if not (project_dir / path).exists():
            findings.append(
                Finding(
                    severity="warning",
                    message=f"the task names {path}, which is not in {project_dir} "
                    "(fine if the work is to create it)",
                )
            )
    chosen = {s.number for s in sections}
    for s in sections:
        for ref in dict.fromkeys(re.findall(r"(?:section|§)\s*(\d+)", s.text, re.I)):
            if ref not in chosen and ref != s.number.split(".")[0]:
                findings.append(
                    Finding(
                        severity="warning",
                        message=f"section {s.number} refers to section {ref}, "
                        "which is not among the requested sections",
                    )
                )
    return findings


class Planner:
    def __init__(
        self, settings: Settings, pool: ProviderPool, chains: ChainRunner, emit: EventSink
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._chains = chains
        self._emit = emit
        self.usage = TokenTotals()  # what planning cost, for the session's totals

    def _models_table(self) -> str:
        reg = self._settings.registry
        rows = ["| id | provider | role | capabilities | key |", "|---|---|---|---|---|"]
        runnable, _ = resolved_chain(self._settings, list(reg.models))
        for mid in runnable:  # models that are gone today are history, not choices
            m = reg.models[mid]
            key = "yes" if self._pool.has_key(m.provider) else "no"
            rows.append(
                f"| {mid} | {m.provider} | {m.role} | {', '.join(m.capabilities)} | {key} |"
            )
        return "\n".join(rows)

    def _step(self, key: str, title: str) -> PlannedWorkstream:
        return planned_workstream(self._settings, key=key, title=title, route=key)

    async def preflight(
        self,
        session_id: str,
        task: str,
        spec: str,
        sections: list[Section],
        project_dir: Path,
        *,
        use_model: bool = True,
    ) -> list[Finding]:
        """Checks by code, then (``use_model``) by the quick-checks model."""
        findings = code_findings(task, sections, project_dir)
        if not use_model or PREFLIGHT_KEY not in self._settings.routing.routes:
            return findings
        values = {
            "key": PREFLIGHT_KEY,
            "task": task,
            "outline": outline(spec) or "(no numbered sections)",
            "sections": ", ".join(s.label for s in sections) or "(the whole spec)",
            "facts": "\n".join(f"- {f.severity}: {f.message}" for f in findings) or "- none",
        }
        outcome = await self._chains.run_chain(
            session_id,
            self._step(PREFLIGHT_KEY, "Pre-flight"),
            (
                render(self._settings, "planning/system.md", values),
                render(self._settings, "planning/preflight.md", values),
            ),
            announce=False,
        )
        self.usage.add(outcome.usage)
        if outcome.model is None:
            return findings  # the chain's fallbacks already say why
        try:
            found = _Findings.model_validate(extract_json(outcome.text)).findings
        except (ValueError, ValidationError) as exc:
            await self._log(
                session_id, "Pre-flight", outcome.model, "checks by code only", str(exc)
            )
            return findings
        return findings + [f.model_copy(update={"source": outcome.model}) for f in found]

    async def plan(
        self, session_id: str, task: str, spec: str, draft: Plan, context: str = ""
    ) -> Plan:
        """The orchestrator's plan, or the draft when it cannot make a valid one; ``context``
        (the repository map) is appended to the request."""
        step = self._step(PLAN_KEY, "Plan")
        prompt_values = {
            "key": PLAN_KEY,
            "playbook": draft.playbook,
            "task": task,
            "spec": spec or "(no spec given)",
            "models": self._models_table(),
            "draft": plan_as_json(draft),
        }
        system = render(self._settings, "planning/system.md", prompt_values)
        prompt = render(self._settings, "planning/orchestrator.md", prompt_values)
        if context:
            prompt += "\n\n" + context
        reason = ""
        for round_no in (1, 2):
            outcome = await self._chains.run_chain(
                session_id, step, (system, prompt), announce=False
            )
            self.usage.add(outcome.usage)
            if outcome.model is None:
                reason = "orchestrator failed"
                break
            try:
                return apply_proposal(
                    extract_json(outcome.text), draft, self._settings, "orchestrator"
                )
            except (ValueError, PlanInvalid) as exc:
                reason = f"invalid plan: {exc}"
                if round_no == 1:
                    await self._log(session_id, "Plan", outcome.model, "repair round", reason)
                    # Calls are stateless: the repair request repeats the original one.
                    prompt += "\n\n" + render(
                        self._settings,
                        "planning/repair.md",
                        {"errors": str(exc), "previous": outcome.text[-6000:]},
                    )
        await self._log(session_id, "Plan", "orchestrator", "rule-based plan", reason)
        return draft

    async def _log(self, session_id: str, title: str, frm: str, to: str, reason: str) -> None:
        await self._emit(
            FallbackEvent(
                session_id=session_id,
                workstream="plan",
                workstream_title=title,
                from_model=frm,
                to_model=to,
                reason=reason.split(":")[0],
                detail=reason,
            )
        )


def edit_plan(plan: Plan, settings: Settings, *, models: dict[str, str], drop: set[str]) -> Plan:
    """A reviewed plan: ``models`` puts a model first in a workstream's chain; ``drop`` removes
    workstreams (and the dependencies on them: what is dropped is not waited for)."""
    workstreams = []
    for ws in plan.workstreams:
        if ws.key in drop:
            continue
        update: dict[str, object] = {"depends_on": [d for d in ws.depends_on if d not in drop]}
        if ws.key in models:
            chosen = models[ws.key]
            chain = [chosen, *[m for m in ws.chain if m != chosen]]
            update |= _chain_update(chain, settings, ws.substitutions)
        workstreams.append(ws.model_copy(update=update))
    if not workstreams:
        raise PlanInvalid(["a plan needs at least one workstream"])
    synthesis = plan.synthesis.model_copy(update={"depends_on": [w.key for w in workstreams]})
    return plan.model_copy(
        update={
            "workstreams": workstreams,
            "synthesis": synthesis,
            "diversity": diversity_score(workstreams, settings),
        }
    )
