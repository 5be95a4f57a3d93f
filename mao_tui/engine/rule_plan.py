"""The rule-based plan: the playbook's workstreams, each with its route's model chain.

With spec sections chosen, every section gets its own copy of the playbook's workstreams
(`s2.schemas`, `s3.schemas`, ...); sections run in parallel, dependencies stay within a section.
"""

from __future__ import annotations

from mao_tui.domain import SYNTHESIS_KEY, Plan
from mao_tui.engine.diversity import diversity_score
from mao_tui.engine.routing import planned_workstream
from mao_tui.engine.sections import Section
from mao_tui.settings.schema import Settings


def section_key(number: str, key: str) -> str:
    return f"s{number.replace('.', '_')}.{key}"


def rule_based_plan(
    settings: Settings, playbook_name: str, sections: list[Section] | None = None
) -> Plan:
    pb = settings.playbooks[playbook_name]
    groups: list[Section | None] = list(sections) if sections else [None]
    workstreams = []
    for section in groups:
        for w in pb.workstreams:
            if section is None:
                key, title, deps = w.key, w.title, list(w.depends_on)
            else:
                key = section_key(section.number, w.key)
                title = f"§{section.number} {w.title}"
                deps = [section_key(section.number, d) for d in w.depends_on]
            workstreams.append(
                planned_workstream(
                    settings,
                    key=key,
                    title=title,
                    route=w.route,
                    depends_on=deps,
                    template_key=w.key,
                    section=section.number if section else None,
                )
            )
    synthesis = planned_workstream(
        settings,
        key=SYNTHESIS_KEY,
        title="Synthesis",
        route=pb.synthesis.route,
        depends_on=[w.key for w in workstreams],
    )
    return Plan(
        playbook=pb.name,
        workstreams=workstreams,
        synthesis=synthesis,
        source="rules",
        diversity=diversity_score(workstreams, settings),
        sections=[s.number for s in sections or []],
    )
