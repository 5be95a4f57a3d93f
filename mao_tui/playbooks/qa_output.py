"""Output kind ``qa_report``: for each reviewer, validation of its JSON with one repair round on
the same model; before the synthesis, the reviews merged and scored by code for its prompt; after
it, the report built by code (``QaReportReady``).

A reviewer's answer that does not validate is sent back to the model that wrote it, once, with
the problems listed (a new attempt, shown and stored like any other, announced in the fallback
log as ``repair round``). If the repaired answer is still invalid, the reviewer ends ``failed``
with the reason and the weighted score leaves it out (see ``qa_review.weighted_score``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mao_tui.domain import (
    SYNTHESIS_KEY,
    FallbackEvent,
    Plan,
    PlannedWorkstream,
    QaReportReady,
    WorkstreamStatus,
)
from mao_tui.domain.qa_records import ReportFinding, ReviewerResult, Score
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.output import EngineHooks
from mao_tui.engine.request import SessionRequest
from mao_tui.engine.routing import route_chain
from mao_tui.playbooks import qa_review
from mao_tui.settings.schema import QaConfig, Settings

REPAIR_ROUND = "repair round"
NO_REVIEW = "no review"
INVALID_REVIEW = "invalid review"


@dataclass
class _Merged:
    """The reviews as the synthesis saw them, for the report built after it."""

    results: list[ReviewerResult]
    merged: list[ReportFinding]
    score: Score


@dataclass
class QaReportOutput:
    """The pieces of output kind ``qa_report`` for one session (its reviewers are the keys of
    ``qa.weights``): an answer check, prompt values and a delivery."""

    settings: Settings
    qa: QaConfig
    spec_text: str  # the session's listing: which files were reviewed, and their lines
    _repaired: set[str] = field(default_factory=set)
    _merged: _Merged | None = None

    def checks(self, ws: PlannedWorkstream) -> bool:
        return ws.key != SYNTHESIS_KEY and (ws.template_key or ws.key) in self.qa.weights

    def model_for_route(self, route: str) -> str | None:
        """The model a fix of this route goes to: the first of its chain that will run
        (a retired model's successor in its place)."""
        if route not in self.settings.routing.routes:
            return None
        chain, _ = route_chain(self.settings, route)
        return chain[0] if chain else None

    def _files(self) -> dict[str, int]:
        return qa_review.reviewed_files(self.spec_text)

    # -- reviewers: validate, repair once ---------------------------------------------------

    async def settle(
        self,
        hooks: EngineHooks,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        first: Outcome,
    ) -> tuple[Outcome, str]:
        """A reviewer's answer that does not validate goes back to its model once, with the
        problems listed; still invalid, the reviewer fails."""
        if first.status is not WorkstreamStatus.DONE or first.model is None:
            return first, ""
        _, problems = qa_review.parse_review(first.text, self._files())
        if not problems:
            return first, ""
        model = first.model
        await self._log(hooks, session_id, ws, model, REPAIR_ROUND, problems)
        appendix = qa_review.repair_request(problems, first.text)

        def repaired(model_id: str) -> tuple[str, str]:
            system, prompt = prompts(model_id) if callable(prompts) else prompts
            return system, prompt + appendix

        same_model = ws.model_copy(update={"chain": [model]})
        second = await hooks.run_once(session_id, same_model, repaired)
        usage = hooks.combined_usage(first, second)
        self._repaired.add(ws.key)
        if second.status is not WorkstreamStatus.DONE:
            detail = f"the repair round on {model} did not finish ({second.status.value})"
            return Outcome(WorkstreamStatus.FAILED, model, first.text, usage), detail
        _, still = qa_review.parse_review(second.text, self._files())
        if still:
            await self._log(hooks, session_id, ws, model, NO_REVIEW, still)
            detail = "invalid review after one repair round: " + "; ".join(still)
            return Outcome(WorkstreamStatus.FAILED, model, second.text, usage), detail
        return Outcome(WorkstreamStatus.DONE, model, second.text, usage), ""

    async def _log(
        self,
        hooks: EngineHooks,
        session_id: str,
        ws: PlannedWorkstream,
        model: str,
        to: str,
        problems: list[str],
    ) -> None:
        await hooks.emit(
            FallbackEvent(
                session_id=session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                from_model=model,
                to_model=to,
                reason=INVALID_REVIEW,
                detail="; ".join(problems),
            )
        )

    # -- after the reviewers: merge, score, synthesize, report ------------------------------

    def synthesis_values(
        self, req: SessionRequest, plan: Plan, outcomes: Mapping[str, Outcome]
    ) -> dict[str, str]:
        qa = self.qa
        inputs = []
        for ws in plan.workstreams:
            key = ws.template_key or ws.key
            if key not in qa.weights:
                continue
            o = outcomes.get(ws.key) or Outcome(WorkstreamStatus.FAILED)
            answered = o.model is not None and bool(o.text)
            inputs.append(
                qa_review.ReviewerInput(
                    key=key,
                    title=ws.title,
                    model=o.model,
                    text=o.text,
                    answered=answered,
                    repaired=ws.key in self._repaired,
                    failure="" if answered else f"no model produced a review ({o.status.value})",
                )
            )
        results = qa_review.reviewer_results(inputs, qa, self._files())
        titles = {r.key: r.title for r in results}
        merged = qa_review.dedupe(
            [(r.key, f) for r in results for f in r.findings], fix_kind_of=lambda k: k
        )
        score = qa_review.weighted_score(
            qa.weights,
            {r.key: r.score for r in results},
            min_coverage=qa.min_coverage,
            titles=titles,
        )
        self._merged = _Merged(results, merged, score)
        return {
            "findings": qa_review.findings_for_prompt(merged),
            "scores": qa_review.scores_for_prompt(results, score),
            "fix_kinds": ", ".join(qa.fixes),
        }

    async def deliver(
        self, hooks: EngineHooks, req: SessionRequest, outcome: Outcome
    ) -> tuple[Outcome, str | None]:
        merged = self._merged
        assert merged is not None  # synthesis_values ran before this synthesis
        done = outcome.status is WorkstreamStatus.DONE
        report = qa_review.build_report(
            req.task,
            merged.results,
            merged.merged,
            merged.score,
            self.qa,
            outcome.text if done else "",
            outcome.model if done else None,
            self.model_for_route,
        )
        await hooks.emit(QaReportReady(session_id=req.session_id, report=report))
        return outcome, None
