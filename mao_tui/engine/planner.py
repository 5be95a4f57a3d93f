"""The rule-based plan: the playbook's workstreams, each with its route's model chain."""

from __future__ import annotations

from mao_tui.domain import SYNTHESIS_KEY, Plan, PlannedWorkstream
from mao_tui.settings.schema import Settings


def rule_based_plan(settings: Settings, playbook_name: str) -> Plan:
    pb = settings.playbooks[playbook_name]
    workstreams = [
        PlannedWorkstream(
            key=w.key,
            title=w.title,
            route=w.route,
            chain=settings.chain(w.route),
            depends_on=list(w.depends_on),
        )
        for w in pb.workstreams
    ]
    synthesis = PlannedWorkstream(
        key=SYNTHESIS_KEY,
        title="Synthesis",
        route=pb.synthesis.route,
        chain=settings.chain(pb.synthesis.route),
        depends_on=[w.key for w in pb.workstreams],
    )
    return Plan(playbook=pb.name, workstreams=workstreams, synthesis=synthesis, source="rules")
