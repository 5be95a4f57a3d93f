"""What a session sends: each workstream's prompts and the synthesis's, from the playbook's
templates, the request and the outputs they build on."""

from __future__ import annotations

from collections.abc import Callable

from mao_tui.domain import Plan, PlannedWorkstream
from mao_tui.engine.chain import Outcome
from mao_tui.engine.prompts import render
from mao_tui.engine.repo_context import RepoFile, files_section
from mao_tui.engine.request import SessionRequest
from mao_tui.engine.sections import outline
from mao_tui.settings.schema import PromptChoice, Settings

Inputs = list[tuple[PlannedWorkstream, Outcome]]
ForModel = Callable[[str], tuple[str, str]]  # a model id -> (system, prompt)

# A missing part's last failure, in words for the synthesis model.
_WHY = {
    "truncated": "every answer was cut off before it ended; none of it is used here",
    "content_policy": "the model declined to answer",
}


def workstream_prompts(
    settings: Settings,
    req: SessionRequest,
    plan: Plan,
    ws: PlannedWorkstream,
    inputs: Inputs,
    repo_files: list[RepoFile] | None,
) -> ForModel:
    """The workstream's prompts for whichever model of its chain runs the attempt."""
    pb = settings.playbooks[plan.playbook]
    template_key = ws.template_key or ws.key
    choice = next(w for w in pb.workstreams if w.key == template_key)
    spec = req.section_texts.get(ws.section, "") if ws.section else req.spec_text
    values = {
        "task": req.task,
        "spec": spec or "(no spec given)",
        "outline": outline(req.spec_text),
        "title": ws.title,
        "key": ws.key,
        "inputs": format_outputs(inputs, settings),
    }
    system = render(settings, pb.system_prompt, values)

    def for_model(model_id: str) -> tuple[str, str]:
        template = settings.template_for(choice, model_id)
        prompt = render(settings, template, values)
        if inputs and "$inputs" not in settings.prompts[template]:
            prompt += f"\n\n## Outputs this workstream builds on\n\n{values['inputs']}"
        if ws.instructions:
            prompt += f"\n\n## Instructions from the orchestrator\n{ws.instructions}\n"
        if repo_files:
            prompt += "\n\n" + files_section(repo_files, can_ask=True)
        return system, prompt

    return for_model


def synthesis_prompts(
    settings: Settings,
    req: SessionRequest,
    plan: Plan,
    outputs: str,
    extra_values: dict[str, str],
    extra_section: str,
) -> ForModel:
    """The synthesis's prompts over ``outputs`` (see :func:`synthesis_outputs`)."""
    ws = plan.synthesis
    pb = settings.playbooks[plan.playbook]
    values = {
        "task": req.task,
        "spec": req.spec_text or "(no spec given)",
        "title": ws.title,
        "key": ws.key,
        "outputs": outputs,
        **extra_values,
    }
    system = render(settings, pb.system_prompt, values)
    return rendered(settings, pb.synthesis, system, values, extra_section)


def synthesis_outputs(done: Inputs, missing: Inputs, settings: Settings) -> str:
    """The finished workstreams' outputs, then what is missing and why."""
    return format_outputs(done, settings) + _format_missing(missing)


def rendered(
    settings: Settings, choice: PromptChoice, system: str, values: dict[str, str], extra: str = ""
) -> ForModel:
    def for_model(model_id: str) -> tuple[str, str]:
        prompt = render(settings, settings.template_for(choice, model_id), values)
        return system, prompt + (f"\n\n{extra}" if extra else "")

    return for_model


def format_outputs(items: Inputs, settings: Settings) -> str:
    parts = []
    for ws, outcome in items:
        name = outcome.model or "?"
        if outcome.model in settings.registry.models:
            name = settings.model(outcome.model).display_name or outcome.model
        parts.append(f"### {ws.title} (by {name})\n\n{outcome.text.strip()}\n")
    return "\n".join(parts) if parts else "(none)"


def _format_missing(items: Inputs) -> str:
    if not items:
        return ""
    lines = [
        f"- {ws.title}: {outcome.status.value}"
        + (f" ({_WHY.get(outcome.reason, outcome.reason)})" if outcome.reason else "")
        for ws, outcome in items
    ]
    return (
        "\n### Missing parts\n\nThese workstreams produced no output; say what is missing "
        "because of them:\n" + "\n".join(lines) + "\n"
    )
