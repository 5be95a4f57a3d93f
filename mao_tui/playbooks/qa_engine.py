"""The engine for output kind ``qa_report``: the session engine (or controller) plus, for each
reviewer, validation of its JSON with one repair round on the same model, and after the
synthesis the report built by code (``QaReportReady``).

A reviewer's answer that does not validate is sent back to the model that wrote it, once, with
the problems listed (a new attempt, shown and stored like any other, announced in the fallback
log as ``repair round``). If the repaired answer is still invalid, the reviewer ends ``failed``
with the reason and the weighted score leaves it out (see ``qa_review.weighted_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mao_tui.domain import (
    SYNTHESIS_KEY,
    FallbackEvent,
    Plan,
    PlannedWorkstream,
    QaReportReady,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.domain.qa_records import QaReport
from mao_tui.engine.chain import Outcome, Prompts
from mao_tui.engine.controller import Resume, SessionController
from mao_tui.engine.routing import route_chain
from mao_tui.engine.session import SessionEngine, SessionRequest
from mao_tui.playbooks import qa_review
from mao_tui.settings.schema import QaConfig, Settings

if TYPE_CHECKING:
    from mao_tui.domain import EventSink, SessionFinished
    from mao_tui.engine.pool import ProviderPool

    _Base = SessionEngine
else:
    _Base = object

REPAIR_ROUND = "repair round"
NO_REVIEW = "no review"
INVALID_REVIEW = "invalid review"


class _QaReviewing(_Base):
    _qa_req: SessionRequest | None = None
    _repaired: set[str]
    last_report: QaReport | None = None  # the latest report this engine built
    _qa_values: dict[str, str] | None = None

    def synthesis_values(self) -> dict[str, str]:
        return self._qa_values or {}

    # -- what the mixin needs to know -------------------------------------------------------

    def _qa_setup(self, req: SessionRequest) -> None:
        self._qa_req = req
        self._repaired = set()

    def _qa(self) -> QaConfig | None:
        req = self._qa_req
        if req is None or req.playbook not in self._settings.playbooks:
            return None
        return self._settings.playbooks[req.playbook].qa

    def _files(self) -> dict[str, int]:
        return qa_review.reviewed_files(self._qa_req.spec_text if self._qa_req else "")

    def _combined_usage(self, first: Outcome, second: Outcome) -> TokenTotals:
        raise NotImplementedError

    def model_for_route(self, route: str) -> str | None:
        """The model a fix of this route goes to: the first of its chain that will run
        (a retired model's successor in its place)."""
        if route not in self._settings.routing.routes:
            return None
        chain, _ = route_chain(self._settings, route)
        return chain[0] if chain else None

    # -- reviewers: validate, repair once ---------------------------------------------------

    async def run_workstream(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        *,
        announce: bool = True,
    ) -> Outcome:
        qa = self._qa()
        reviewer = ws.template_key or ws.key
        if ws.key == SYNTHESIS_KEY or qa is None or reviewer not in qa.weights:
            return await super().run_workstream(session_id, ws, prompts, announce=announce)
        first = await super().run_workstream(session_id, ws, prompts, announce=False)
        final, detail = first, ""
        files = self._files()
        if first.status is WorkstreamStatus.DONE and first.model is not None:
            _, problems = qa_review.parse_review(first.text, files)
            if problems:
                final, detail = await self._repair(session_id, ws, prompts, first, problems)
        if announce:
            await self._emit(
                WorkstreamFinished(
                    session_id=session_id,
                    workstream=ws.key,
                    model=final.model,
                    status=final.status,
                    usage=final.usage,
                    detail=detail,
                )
            )
        return final

    async def _repair(
        self,
        session_id: str,
        ws: PlannedWorkstream,
        prompts: Prompts,
        first: Outcome,
        problems: list[str],
    ) -> tuple[Outcome, str]:
        assert first.model is not None
        model = first.model
        await self._log(ws, model, REPAIR_ROUND, problems)
        appendix = qa_review.repair_request(problems, first.text)

        def repaired(model_id: str) -> tuple[str, str]:
            system, prompt = prompts(model_id) if callable(prompts) else prompts
            return system, prompt + appendix

        same_model = ws.model_copy(update={"chain": [model]})
        second = await super().run_workstream(session_id, same_model, repaired, announce=False)
        usage = self._combined_usage(first, second)
        self._repaired.add(ws.key)
        if second.status is not WorkstreamStatus.DONE:
            detail = f"the repair round on {model} did not finish ({second.status.value})"
            return Outcome(WorkstreamStatus.FAILED, model, first.text, usage), detail
        _, still = qa_review.parse_review(second.text, self._files())
        if still:
            await self._log(ws, model, NO_REVIEW, still)
            detail = "invalid review after one repair round: " + "; ".join(still)
            return Outcome(WorkstreamStatus.FAILED, model, second.text, usage), detail
        return Outcome(WorkstreamStatus.DONE, model, second.text, usage), ""

    async def _log(self, ws: PlannedWorkstream, model: str, to: str, problems: list[str]) -> None:
        assert self._qa_req is not None
        await self._emit(
            FallbackEvent(
                session_id=self._qa_req.session_id,
                workstream=ws.key,
                workstream_title=ws.title,
                from_model=model,
                to_model=to,
                reason=INVALID_REVIEW,
                detail="; ".join(problems),
            )
        )

    # -- after the reviewers: merge, score, synthesize, report ------------------------------

    async def _synthesize(
        self, req: SessionRequest, plan: Plan, outcomes: dict[str, Outcome]
    ) -> Outcome:
        qa = self._qa()
        if qa is None:
            return await super()._synthesize(req, plan, outcomes)
        files = self._files()
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
        results = qa_review.reviewer_results(inputs, qa, files)
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
        self._qa_values = {
            "findings": qa_review.findings_for_prompt(merged),
            "scores": qa_review.scores_for_prompt(results, score),
            "fix_kinds": ", ".join(qa.fixes),
        }
        outcome = await super()._synthesize(req, plan, outcomes)
        done = outcome.status is WorkstreamStatus.DONE
        report = qa_review.build_report(
            req.task,
            results,
            merged,
            score,
            qa,
            outcome.text if done else "",
            outcome.model if done else None,
            self.model_for_route,
        )
        self.last_report = report
        await self._emit(QaReportReady(session_id=req.session_id, report=report))
        return outcome


class QaSessionEngine(_QaReviewing, SessionEngine):
    """Headless: one run."""

    async def run(self, req: SessionRequest, draft: Plan) -> SessionFinished:
        self._qa_setup(req)
        return await super().run(req, draft)

    def _combined_usage(self, first: Outcome, second: Outcome) -> TokenTotals:
        usage = first.usage.model_copy()
        usage.add(second.usage)
        return usage


class QaSessionController(_QaReviewing, SessionController):
    """The dashboard's: reruns of a reviewer are validated and repaired the same way, and a new
    synthesis makes a new report."""

    def __init__(
        self,
        settings: Settings,
        pool: ProviderPool,
        sinks: Sequence[EventSink],
        req: SessionRequest,
        *,
        max_parallel: int | None = None,
        resume: Resume | None = None,
    ) -> None:
        super().__init__(settings, pool, sinks, req, max_parallel=max_parallel, resume=resume)
        self._qa_setup(req)

    def _combined_usage(self, first: Outcome, second: Outcome) -> TokenTotals:
        return second.usage  # the controller reports every attempt's usage of the workstream


def engine_class(settings: Settings, playbook: str) -> type[SessionEngine]:
    """The engine a headless session of ``playbook`` runs on."""
    pb = settings.playbooks.get(playbook)
    return QaSessionEngine if pb is not None and pb.output == "qa_report" else SessionEngine


def controller_class(settings: Settings, playbook: str) -> type[SessionController]:
    """The controller the dashboard runs (or reviews) a session of ``playbook`` with."""
    pb = settings.playbooks.get(playbook)
    return QaSessionController if pb is not None and pb.output == "qa_report" else SessionController
