"""The simulated orchestrator and pre-flight checker: answers built from the request itself.

The orchestrator's prompt carries the rule-based draft in a ```json plan-draft block; the simulated
orchestrator keeps its assignments, orders tests after the code they test, and explains each
choice, as a careful planner would. The pre-flight checker confirms the sections it was given.
"""

from __future__ import annotations

import json
import re

from mao_tui.simulator import tailored

_DRAFT = re.compile(r"```json plan-draft\n(?P<body>.*?)```", re.S)
_SECTIONS = re.compile(r"## Sections requested\n(?P<body>.*?)\n\n", re.S)

_WHY = {
    "schemas": "strong at structural analysis of long specs, so it fixes the shapes others rely on",
    "storage": "code-specialised and fast at database patterns",
    "core_logic": "the deepest reasoner on the roster, for ranking rules and their edge cases",
    "implementation": "balanced quality for the glue between layers",
    "tests": "code-specialised; sees the cases implementations forget",
    # qa reviewers
    "prd_compliance": "reads long documents whole, so it can trace every requirement",
    "error_handling": "balanced review of failure paths",
    "type_safety": "code-specialised, strong on type systems",
    "architecture": "sees high-level patterns across the codebase",
    "security": "deep reasoning about how an attacker would use each input",
}
_QA_KEYS = frozenset(
    {"prd_compliance", "error_handling", "type_safety", "architecture", "security"}
)
_QA_RATIONALE = (
    "The five QA dimensions are independent, so every reviewer starts at once on the same code; "
    "each sits on the model the routing names for its dimension, over three providers, so the "
    "perspectives differ. The synthesis waits for all five."
)
_FOCUS = {
    "schemas": "Lead with the invariants; storage and the API depend on them.",
    "storage": "Keep writes atomic; give the core logic a repository interface to depend on.",
    "core_logic": "State the ranking as a formula first, then prove the tie-breaks.",
    "implementation": "Wire the layers through explicit interfaces; no logic in the routes.",
    "tests": "Use the schemas' and the core logic's outputs; name tests for behaviour.",
}


def plan_reply(request_text: str) -> tuple[str, str]:
    """(thinking, answer) for an orchestrator request."""
    match = _DRAFT.search(request_text)
    draft = json.loads(match["body"]) if match else {"workstreams": []}
    keys = {str(ws["key"]) for ws in draft.get("workstreams", [])}
    workstreams = []
    for ws in draft.get("workstreams", []):
        key = str(ws["key"])
        base = key.split(".")[-1]
        deps = list(ws.get("depends_on", []))
        core = key[: -len(base)] + "core_logic"
        if base == "tests" and core in keys and core not in deps:
            deps.append(core)
        workstreams.append(
            {
                "key": key,
                "chain": list(ws["chain"]),
                "depends_on": deps,
                "rationale": f"{ws['chain'][0]}: {_WHY.get(base, 'the routing rules pick it')}",
                "instructions": _FOCUS.get(base, ""),
            }
        )
    qa_only = bool(keys) and all(k.split(".")[-1] in _QA_KEYS for k in keys)
    task = tailored.task_of(request_text)
    if qa_only:
        rationale = _QA_RATIONALE
    elif tailored.is_off_script(task):
        rationale = tailored.plan_rationale(task)
    else:
        rationale = (
            "Schemas, storage, core logic and implementation are independent enough to run in "
            "parallel against the spec; tests wait for the core logic so they can check its "
            "ranking rules. Five workstreams over three providers keeps the perspectives diverse."
        )
    plan = {
        "rationale": rationale,
        "workstreams": workstreams,
        "synthesis_chain": draft.get("synthesis_chain"),
    }
    thinking = (
        "The draft from the routing rules is sound: each workstream already sits on the model "
        "best suited to it, and the providers are spread. What the draft lacks is order. Tests "
        "written before the ranking rules exist would guess at them, so tests should wait for "
        "the core logic; everything else can start at once. I will keep the chains, add that "
        "dependency, and give each model a sentence on where to focus."
    )
    answer = "```json\n" + json.dumps(plan, indent=2) + "\n```\n"
    return thinking, answer


def preflight_reply(request_text: str) -> tuple[str, str]:
    """(thinking, answer) for a pre-flight request."""
    match = _SECTIONS.search(request_text)
    sections = match["body"].strip() if match else "(the whole spec)"
    findings = [
        {"severity": "info", "message": f"requested: {sections}; the spec defines them"},
        {"severity": "info", "message": "no contradiction between the task and the spec"},
    ]
    thinking = (
        "Quick check: the requested sections exist in the outline, the task asks for what the "
        "spec describes, and nothing named in the task is missing. Nothing blocks the work."
    )
    return thinking, "```json\n" + json.dumps({"findings": findings}, indent=2) + "\n```\n"
