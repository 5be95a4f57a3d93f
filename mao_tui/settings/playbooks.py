"""playbooks/*.yaml: workstreams, synthesis, output kind, QA, verification and the fix loop."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mao_tui.settings.base import Identifier, Strict

__all__ = [
    "CheckKind",
    "JournalOutput",
    "Playbook",
    "PlaybookFix",
    "PlaybookSynthesis",
    "PlaybookWorkstream",
    "PromptChoice",
    "QaConfig",
    "VerificationCommand",
    "find_cycle",
]


class PromptChoice(Strict):
    """A prompt template and its variants: ``variants`` maps a model id, model family, provider
    id or provider kind to another template, used when the attempt's model matches (in that
    order of precedence); ``prompt`` serves every other model."""

    prompt: str = Field(min_length=1)
    variants: dict[Identifier, str] = Field(default_factory=dict)


class PlaybookWorkstream(PromptChoice):
    key: Identifier
    title: str = Field(min_length=1)
    route: Identifier
    depends_on: list[Identifier] = Field(default_factory=list)
    # Run on this many models at once (or on these models) and keep the best verified
    # (docs/ensembles.md); 0: one chain, as usual
    candidates: int | list[Identifier] = 0
    # Its race blindly cross-reviewed by the candidates' models (docs/ensembles.md);
    # None: the playbook's ``cross_review``
    cross_review: bool | None = None


class PlaybookSynthesis(PromptChoice):
    route: Identifier


class JournalOutput(Strict):
    """Where output kind ``journal`` writes its entries: ``folder`` relative to the project
    directory (``~`` and absolute paths allowed), one ``DATE-slug.md`` file per entry."""

    folder: str = Field(default="journal", min_length=1)


class QaConfig(Strict):
    """Output kind ``qa_report``: each reviewer's weight in the score (percent, summing to 100),
    who fixes each kind of finding, and how much of the weight must be reviewed for a score."""

    weights: dict[Identifier, float] = Field(min_length=1)  # workstream key → percent
    fixes: dict[Identifier, Identifier] = Field(min_length=1)  # fix kind → route in routing.yaml
    # When reviewers fail, the score is renormalized over those that did, if they hold at least
    # this percent of the weight; below it there is no score (refused), only the findings.
    min_coverage: float = Field(default=50.0, gt=0, le=100)

    @model_validator(mode="after")
    def _weights_sum_to_100(self) -> QaConfig:
        negative = sorted(k for k, w in self.weights.items() if w <= 0)
        if negative:
            raise ValueError(f"weights must be above 0: {', '.join(negative)}")
        total = sum(self.weights.values())
        if abs(total - 100) > 1e-6:
            listed = " + ".join(f"{k} {w:g}" for k, w in self.weights.items())
            raise ValueError(f"weights must sum to 100, got {total:g} ({listed})")
        return self


CheckKind = Literal["typecheck", "build", "test", "lint", "other"]


class VerificationCommand(Strict):
    """A command run in the workspace after applying files: argv without a shell (never from
    model output), a timeout after which its whole process group is killed, extra environment,
    the secrets it may see, sandboxing and how much output is kept."""

    name: str = Field(min_length=1)
    argv: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    timeout_s: float = Field(default=300.0, gt=0, le=86_400)
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict
    )
    # Variables of mao's environment to pass although they look like secrets (domain/redaction.py
    # removes every api_key_env and *_API_KEY, *_TOKEN, *_SECRET, AWS_*... by default).
    env_pass: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(
        default_factory=list
    )
    # Run in the machine's sandbox (bubblewrap, sandbox-exec) when it has one: no network,
    # writes only to the workspace and a private /tmp. False: unconfined (still scrubbed).
    sandbox: bool = True
    # Characters of output kept (the end of it) for the store and a fix round; a marker says
    # how much was cut before them.
    max_output_chars: int = Field(default=20_000, ge=1_000, le=10_000_000)
    # What the check is (its place in the order: typecheck, build, test, lint, other) and
    # where it came from ("package.json scripts.test"; empty when written by hand).
    kind: CheckKind = "other"
    source: str = ""
    # True: when this check fails (or times out), the checks after it are skipped, reported
    # as such: their results would mean nothing (a build that failed leaves nothing to test).
    stop_on_failure: bool = False
    # Paths (relative to the workspace) that must exist for the check to run, and an argv that
    # must exit 0 first; otherwise the check is "not available" (with ``hint``), not a failure.
    requires: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    probe: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    hint: str = ""


class PlaybookFix(Strict):
    """The fix loop: failed verifications go to ``route``'s model with ``prompt``, then the
    synthesis runs again; at most ``max_rounds`` rounds (``--fix-rounds N`` overrides it)."""

    route: Identifier
    prompt: str = Field(min_length=1)
    max_rounds: int = Field(default=2, ge=0, le=20)


class Playbook(Strict):
    name: Identifier
    description: str = ""
    system_prompt: str = Field(min_length=1)
    workstreams: list[PlaybookWorkstream] = Field(min_length=1)
    synthesis: PlaybookSynthesis
    output: Literal["markdown", "files", "qa_report", "journal"] = "markdown"
    # False: the rule-based plan from routing.yaml, no orchestrator or pre-flight model call
    # (as --no-planner); the pre-flight checks by code still run.
    planner: bool = True
    journal: JournalOutput = Field(default_factory=JournalOutput)
    qa: QaConfig | None = None  # output kind qa_report only, and required there
    # Output kind files: run after applying, in order; a project's verify.yaml replaces them.
    verification: list[VerificationCommand] = Field(default_factory=list)
    fix: PlaybookFix | None = None  # output kind files: how a failed verification is fixed
    # Every race's candidates rank each other's answers blindly (docs/ensembles.md); a
    # workstream's own ``cross_review`` wins, and --cross-review / --no-cross-review over both
    cross_review: bool = False

    @model_validator(mode="after")
    def _graph_is_sound(self) -> Playbook:
        keys = [w.key for w in self.workstreams]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate workstream keys: {', '.join(dupes)}")
        known = set(keys)
        for ws in self.workstreams:
            unknown = [d for d in ws.depends_on if d not in known]
            if unknown:
                raise ValueError(
                    f"workstream {ws.key!r} depends on unknown workstream(s): {', '.join(unknown)}"
                )
        cycle = find_cycle({w.key: w.depends_on for w in self.workstreams})
        if cycle:
            raise ValueError("depends_on has a cycle: " + " → ".join(cycle))
        return self

    @model_validator(mode="after")
    def _qa_matches_output(self) -> Playbook:
        if self.output != "qa_report":
            if self.qa is not None:
                raise ValueError(f"qa: applies to output qa_report only, not {self.output!r}")
            return self
        if self.qa is None:
            raise ValueError("output qa_report needs a qa: section (weights, fixes)")
        keys = [w.key for w in self.workstreams]
        unweighted = [k for k in keys if k not in self.qa.weights]
        unknown = [k for k in self.qa.weights if k not in keys]
        if unweighted or unknown:
            parts = [f"no weight for workstream(s): {', '.join(unweighted)}"] if unweighted else []
            if unknown:
                parts.append(f"weights name unknown workstream(s): {', '.join(unknown)}")
            raise ValueError("qa.weights: " + "; ".join(parts))
        unfixed = [k for k in keys if k not in self.qa.fixes]
        if unfixed:
            raise ValueError(
                f"qa.fixes: no fix kind for reviewer(s) {', '.join(unfixed)} (a finding left "
                "uncategorized is fixed as its reviewer's kind)"
            )
        return self


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
