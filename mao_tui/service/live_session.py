"""The TUI's backend: sessions that stay open for reruns, review from the database, history
search, export. Implements the protocols of :mod:`mao_tui.service.ports`; the TUI does no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain import SessionStatus
from mao_tui.domain.errors import ControlError, UsageError
from mao_tui.service.launch import Launch, session_resources, writes_files
from mao_tui.service.ports import ExportFormat, HistoryQuery, LiveSession, ModelChoice, NewSession

log = logging.getLogger(__name__)

# What a session needs that the dashboard's first frame did not: ~120-290 ms of imports (195
# modules) that, on the event loop, were a stall of the dashboard just after it opened.
_SESSION_MODULES = (
    # the model picker's check of each model (m): imported on its first press, ~10 ms of it
    "mao_tui.engine.availability",
    "mao_tui.providers.cli.bridge",
    "mao_tui.settings.api_keys",
    "mao_tui.engine.controller",
    "mao_tui.engine.pool",
    "mao_tui.engine.rule_plan",
    "mao_tui.playbooks.output_kinds",
    "mao_tui.service.budget_setup",
    "mao_tui.service.race",
    "mao_tui.store",
)
_SIMULATOR_MODULES = ("mao_tui.simulator.server",)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine
    from typing import Any

    from mao_tui.domain import ApplyProposal, Declined, EventSink, SessionFinished
    from mao_tui.domain.budget_events import Ask, BudgetAnswer, BudgetQuestion
    from mao_tui.domain.pick_events import OutputPicked
    from mao_tui.domain.stored import SessionDetail, SessionHit, SessionSummary
    from mao_tui.engine.controller import LiveSessionController
    from mao_tui.engine.fix_loop import Workbench
    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.landing import SessionPlace
    from mao_tui.settings.digest import Preview
    from mao_tui.settings.schema import Settings


class OpenSession:
    """One session for one dashboard: its first run (or its replay, for review), then reruns
    until the dashboard's worker is cancelled, which cancels whatever still runs."""

    def __init__(
        self,
        launch: Launch,
        req: SessionRequest | None = None,
        *,
        review_id: str = "",
        prepare: Callable[[], SessionRequest] | None = None,
    ) -> None:
        if req is None and not review_id and prepare is None:
            raise ValueError("OpenSession needs a request, its preparation or a session id")
        self._launch = launch
        self._req = req
        self._review_id = review_id
        # `mao demo` paints first: the request is built and checked by the worker, in a thread
        self._prepare = prepare
        self.usage_error: UsageError | None = None
        """What the preparation refused: the command exits 2 with it once the app has closed."""
        self._controller: LiveSessionController | None = None
        self._bench: Workbench | None = None
        self._bench_of: LiveSessionController | None = None
        self._bench_task: asyncio.Task[None] | None = None
        self._refusal = "the session is still starting"
        self._ask_budget: Ask | None = None
        self._place: SessionPlace | None = None  # its worktree or copy: where apply writes

    # -- BudgetControl --------------------------------------------------------------------

    def ask_budget_with(self, ask: Ask) -> None:
        self._ask_budget = ask

    async def _ask(self, question: BudgetQuestion) -> BudgetAnswer:
        """The dashboard's answer; until it is listening, stop as headless does."""
        if self._ask_budget is None:
            from mao_tui.domain.budget_events import BudgetAnswer

            return BudgetAnswer("stop")
        return await self._ask_budget(question)

    # -- SessionControl -------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        if self._bench is not None and self._bench.busy:
            return True  # verifying or fixing
        return self._controller is not None and self._controller.busy

    def running(self, key: str) -> bool:
        return self._controller is not None and self._controller.running(key)

    def rerun(self, key: str, model: str | None = None) -> None:
        self._ready().rerun(key, model)

    def cancel(self, key: str) -> bool:
        return self._controller is not None and self._controller.cancel(key)

    def resynthesize(self, model: str | None = None) -> None:
        self._ready().resynthesize(model)

    def race(self, key: str, count: int) -> None:
        self._ready().race(key, count)

    async def pick(
        self,
        key: str,
        attempt_id: str,
        attempt_no: int,
        model: str,
        text: str,
        candidate: int | None = None,
    ) -> OutputPicked:
        return await self._ready().pick(key, attempt_id, attempt_no, model, text, candidate)

    def model_choices(self, key: str) -> list[ModelChoice]:
        controller = self._ready()
        registry = controller.settings.registry
        current = controller.last_model(key)
        return [
            ModelChoice(
                id=model_id,
                label=config.display_name or model_id,
                provider=config.provider,
                unavailable=controller.unavailable(model_id),
                current=model_id == current,
            )
            for model_id, config in registry.models.items()
        ]

    # -- WorkspaceControl: apply, verify, fix ---------------------------------------------

    async def prepare_apply(self) -> None:
        """In a git repository (or with --worktree), the session's worktree is where files go;
        outside git, its temporary copy of the workspace (either made on first use)."""
        from mao_tui.service.isolation import applies_in_copy, applies_in_worktree
        from mao_tui.service.landing import SessionCopy, SessionWorktree

        controller = self._ready()
        launch, session_id = self._launch, controller.req.session_id
        if self._place is None and applies_in_worktree(launch):
            self._place = SessionWorktree(
                launch.workspace_dir, session_id, include_uncommitted=launch.with_uncommitted
            )
        elif self._place is None and applies_in_copy(launch):
            self._place = SessionCopy(launch.workspace_dir, session_id)
        if self._place is not None:
            where = (await self._place.open()).resolve()
            if self._bench is not None and self._bench.workspace != where:
                self._bench = None  # made before the worktree: it wrote nowhere yet

    def propose_apply(self) -> ApplyProposal:
        return self._workbench().propose()

    def apply(self, proposal: ApplyProposal, declined: Declined | None = None) -> None:
        bench = self._workbench()
        bench.check(proposal, declined)
        place, req = self._place, self._ready().req

        async def apply_and_verify() -> None:
            applied = await bench.apply(proposal, declined)
            if place is not None:  # before verifying: what the checks leave is not committed
                title = " ".join(req.task.split())[:72]
                written = [f.path for f in applied.files if f.status == "written"]
                note = f"mao session {req.session_id}: round {proposal.round}, "
                note += f"{len(written)} file(s)"
                await place.commit_applied(f"mao: {title}\n\n{note}\n", written)
            await bench.verify()

        self._start_bench(apply_and_verify(), "apply")

    @property
    def landable(self) -> str:
        return self._place.landable if self._place is not None else ""

    async def land(self) -> str:
        if self._place is None:
            from mao_tui.service.isolation import applies_in_copy, applies_in_worktree

            if applies_in_worktree(self._launch):
                raise ControlError("nothing to land: apply (a) first; its commit is what lands")
            if applies_in_copy(self._launch):
                raise ControlError(
                    "nothing to land: apply (a) first; the files it writes are what lands"
                )
            raise ControlError("nothing to land: this session applies in your workspace directly")
        if self._bench_task is not None and not self._bench_task.done():
            raise ControlError("files are being applied or verified, or a fix round runs; wait")
        outcome = await self._place.land()
        self._bench = None  # the worktree or copy is gone; the next apply makes a new one
        return outcome.summary

    def fix(self) -> None:
        bench = self._workbench()
        if bench.verified is None:
            raise ControlError("nothing to fix: apply (a) and verify first; fix follows a failure")
        if bench.verified.passed:
            raise ControlError("nothing to fix: the verification passed")
        if not bench.rounds_left:
            raise ControlError(
                f"no fix rounds left ({bench.round} of {bench.max_rounds} used); "
                "--fix-rounds N allows more"
            )
        self._start_bench(bench.fix(), "fix")

    def _workbench(self) -> Workbench:
        from mao_tui.checks.model import ProjectFileError
        from mao_tui.checks.resolve import resolve_checks
        from mao_tui.engine.fix_loop import Workbench

        controller = self._ready()
        if self._bench is not None and self._bench.busy:
            raise ControlError("files are being verified, or a fix round runs; wait")
        if controller.busy:
            raise ControlError("models are still working; wait for them to finish")
        if self._bench is None or self._bench_of is not controller:
            settings = controller.settings
            playbook = settings.playbooks[controller.req.playbook]
            if playbook.output != "files":
                raise ControlError(
                    f"playbook {playbook.name!r} has output {playbook.output!r}: no files to apply"
                )
            rounds = self._launch.fix_rounds
            if rounds is None:
                rounds = playbook.fix.max_rounds if playbook.fix is not None else 0
            launch = self._launch
            fresh = launch.workspace is None and launch.fresh_workspace
            workspace = launch.workspace_dir if fresh else launch.workspace
            workspace = workspace or controller.req.project_dir
            if self._place is not None and self._place.folder is not None:
                workspace = self._place.folder
            try:
                checks = resolve_checks(settings, playbook.name, workspace)
            except ProjectFileError as exc:
                raise ControlError(f"cannot tell how to verify: {exc}") from None
            self._bench = Workbench(controller, workspace, checks, rounds)
            self._bench_of = controller
        return self._bench

    def _start_bench(self, work: Coroutine[Any, Any, object], name: str) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:  # its events show how far it got; a bug must not end the session
                log.exception("%s failed", name)

        self._bench_task = asyncio.create_task(run(), name=f"workbench-{name}")

    async def _stop_bench(self) -> None:
        task, self._bench_task = self._bench_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ready(self) -> LiveSessionController:
        if self._controller is None:
            raise ControlError(self._refusal)
        return self._controller

    # -- the worker -----------------------------------------------------------------------

    async def run(self, sink: EventSink) -> SessionFinished | None:
        simulator = _SIMULATOR_MODULES if self._launch.simulate else ()
        await asyncio.to_thread(_import_all, (*_SESSION_MODULES, *simulator))
        if self._review_id:
            return await self._review(sink)
        if self._req is None and self._prepare is not None:
            try:
                self._req = await asyncio.to_thread(self._prepare)
            except UsageError as exc:
                self.usage_error = exc
                raise
        assert self._req is not None
        return await self._live(self._req, sink)

    async def _live(self, req: SessionRequest, sink: EventSink) -> SessionFinished | None:
        from mao_tui.engine.controller import LiveSessionController
        from mao_tui.engine.rule_plan import rule_based_plan
        from mao_tui.playbooks.output_kinds import output_kind
        from mao_tui.service.budget_setup import budget_of, configure_budget
        from mao_tui.service.race import WorkspaceCopies

        launch = self._launch
        async with session_resources(launch, req.project_dir) as res:
            races = WorkspaceCopies(  # a race verifies as headless does (service/race.py)
                res.settings,
                req.playbook,
                lambda: launch.workspace_dir,
                req.session_id,
                with_uncommitted=launch.with_uncommitted,
            )
            controller = LiveSessionController(
                res.settings,
                res.pool,
                [res.store_sink, sink],
                req,
                max_parallel=launch.max_parallel,
                output=output_kind(res.settings, req),
                verifier=races if writes_files(res.settings, req.playbook) else None,
            )
            limit = budget_of(res.settings, req)
            await configure_budget(
                controller, res.store, limit, simulated=req.simulated, ask=self._ask
            )
            plan = rule_based_plan(res.settings, req.playbook, req.sections)
            try:
                await self._keep_open(controller, controller.run_first(plan))
            finally:
                races.close()
        return None

    async def _review(self, sink: EventSink) -> SessionFinished | None:
        from mao_tui.engine.controller import LiveSessionController
        from mao_tui.engine.resume import resume_from
        from mao_tui.playbooks.output_kinds import output_kind
        from mao_tui.service.budget_setup import configure_budget
        from mao_tui.service.session_request import stored_request
        from mao_tui.store.replay import events_from_detail

        detail, picks = await _load(self._launch.db_path, self._review_id)
        # Picks in time order among the rest: a synthesis after a pick leaves it not stale.
        for event in sorted([*events_from_detail(detail), *picks], key=lambda e: e.at):
            await sink(event)
        if detail.status is SessionStatus.RUNNING:
            self._refusal = "this session is running in another mao process; review only"
            await asyncio.Event().wait()  # until the dashboard closes
            return None
        req = stored_request(detail)
        async with session_resources(
            self._launch, req.project_dir, simulate=detail.simulated, faults=False
        ) as res:
            controller = LiveSessionController(
                res.settings,
                res.pool,
                [res.store_sink, sink],
                req,
                resume=resume_from(detail),
                # A new synthesis of a journal session writes a new entry, as the first one did.
                output=output_kind(res.settings, req),
            )
            await configure_budget(  # reruns count against the budget, from what was spent
                controller,
                res.store,
                detail.budget_usd,
                simulated=detail.simulated,
                ask=self._ask,
                spent_usd=detail.cost_usd,
            )
            texts = {a.id: a.output_text for a in detail.attempts}
            for pick in picks:  # a rerun of the stored session synthesizes from them too
                controller.adopt(pick.workstream, pick.model, texts.get(pick.attempt_id, ""))
            await self._keep_open(controller, res.pool.warm())  # warm: before a rerun needs it
        return None

    async def _keep_open(self, controller: LiveSessionController, start: Awaitable[object]) -> None:
        """Serve ``controller`` from ``start`` on, open for reruns until the dashboard's worker
        is cancelled; then close it."""
        self._controller = controller
        try:
            await start
            await asyncio.Event().wait()  # open for reruns until the dashboard closes
        finally:
            self._refusal = "the session is closed"
            self._controller = None
            await self._stop_bench()
            if self._place is not None:
                self._place.close()
            await controller.aclose()


async def _load(db_path: Path, session_id: str) -> tuple[SessionDetail, list[OutputPicked]]:
    """The stored session and the outputs picked in it (compare view)."""
    from mao_tui.store import Store
    from mao_tui.store.picks import session_picks

    store = await Store.open(db_path)
    try:
        detail = await store.get_session(session_id)
        picks = []
        if detail is not None:
            async with store.transaction(write=False) as conn:
                picks = await session_picks(conn, detail.id)
    finally:
        await store.close()
    if detail is None:
        raise ControlError(f"no session {session_id!r} in {db_path}")
    return detail, picks


class AppBackend:
    """Home and History over one database and configuration (``mao`` with no arguments)."""

    def __init__(self, launch: Launch, preview: Preview | None = None) -> None:
        """``preview``: what the first frame shows (``Launch.preview``); the configuration
        itself is then loaded after the first frame (``prepare``) or on first use."""
        self._launch = launch
        self._settings: Settings | None = None
        self._preview = preview
        self._loading = threading.Lock()

    def settings(self) -> Settings:
        """Loaded once: Home and History ask for the playbooks every time they open."""
        from mao_tui.settings.layers import ConfigError

        with self._loading:
            if self._settings is None:
                try:
                    self._settings = self._launch.settings()
                except ConfigError as exc:  # edited since Home painted from its digest
                    raise UsageError(str(exc)) from None
            return self._settings

    def prepare(self) -> None:
        self.settings()

    @property
    def project_dir(self) -> Path:
        return self._launch.project_dir

    @property
    def export_dir(self) -> Path:
        from mao_tui.store.paths import default_export_dir

        return default_export_dir()

    @property
    def simulate_by_default(self) -> bool:
        """Simulate when asked to, or when no provider has a key (a first run, say)."""
        import os

        from mao_tui.settings.api_keys import find_key

        if self._launch.simulate:
            return True
        if self._settings is None and self._preview is not None:
            key_envs = self._preview.key_envs
        else:
            key_envs = [p.api_key_env for p in self.settings().registry.providers.values()]
        return not any(find_key(names, os.environ) for names in key_envs if names)

    def playbooks(self) -> list[tuple[str, str]]:
        if self._settings is None and self._preview is not None:
            return list(self._preview.playbooks)
        playbooks = self.settings().playbooks
        return [(name, pb.description) for name, pb in sorted(playbooks.items())]

    def spec_sections(self, path: Path) -> list[str]:
        from mao_tui.engine.sections import parse_sections
        from mao_tui.service.inputs import read_text

        limit = self.settings().registry.global_.limits.max_input_bytes
        return [section.label for section in parse_sections(read_text(path, limit=limit))]

    def start(self, form: NewSession) -> tuple[LiveSession, str]:
        from mao_tui.service.session_request import HOME_FIELDS, SessionInputs, build_request

        launch = replace(self._launch, simulate=form.simulate, faults=False)
        qa = self._is_qa(form.playbook)
        inputs = SessionInputs(
            playbook=form.playbook,
            task=form.task,
            project_dir=launch.project_dir,
            simulated=form.simulate,
            spec_path=form.spec_path,
            sections=form.sections if form.sections.strip() else None,
            spec_text=self._qa_listing(form, launch.project_dir) if qa else None,
            context_paths=() if qa else tuple(form.context_paths),
            repository=self._repository(form.playbook, launch),
        )
        req = replace(
            build_request(self.settings(), inputs, HOME_FIELDS), budget_usd=form.budget_usd
        )
        return OpenSession(launch, req), f"mao · {form.playbook}"

    def _repository(self, playbook: str, launch: Launch) -> Path | None:
        """The folder whose git repository the models see (its map; for develop, its files):
        the workspace, for playbooks that write files or review code; none for the demo's
        fresh workspace (nothing to see there)."""
        found = self.settings().playbooks.get(playbook)
        if found is None or found.output not in ("files", "qa_report") or launch.fresh_workspace:
            return None
        return launch.workspace if launch.workspace is not None else launch.project_dir

    def _is_qa(self, playbook: str) -> bool:
        found = self.settings().playbooks.get(playbook)
        return found is not None and found.output == "qa_report"

    def _qa_listing(self, form: NewSession, project_dir: Path) -> str:
        """A qa session from Home reviews its context files (files, globs or directories) as
        `mao qa` does its targets, against the spec file as the requirements."""
        from mao_tui.service.qa_input import prepare

        if not form.context_paths:
            raise UsageError(
                "a qa session reviews code: name files, globs or directories in Context files"
            )
        targets = [str(path) for path in form.context_paths]
        found = prepare(
            self.settings(),
            form.playbook,
            targets,
            root=project_dir,
            prd=form.spec_path,
            task=form.task,
        )
        return found.listing

    def review(self, session_id: str) -> LiveSession:
        return OpenSession(self._launch, review_id=session_id)

    async def search(self, query: HistoryQuery) -> list[SessionHit]:
        from mao_tui.store import Store

        if not self._launch.db_path.exists():
            return []
        store = await Store.open(self._launch.db_path)
        try:
            await store.mark_interrupted()
            return await store.search_sessions(
                query.text,
                status=query.status,
                playbook=query.playbook,
                project_dir=query.project_dir,
                limit=query.limit,
            )
        finally:
            await store.close()

    async def snippet(self, session_id: str, text: str) -> str:
        from mao_tui.store import Store

        store = await Store.open(self._launch.db_path)
        try:
            return await store.session_snippet(session_id, text)
        finally:
            await store.close()

    async def recent(self, limit: int) -> list[SessionSummary]:
        return list(await self.search(HistoryQuery(limit=limit)))

    async def export(self, session_id: str, fmt: ExportFormat, path: Path) -> Path:
        from mao_tui.render.export import render

        detail, _ = await _load(self._launch.db_path, session_id)
        text = render(detail, fmt)
        target = path if path.is_absolute() else self._launch.project_dir / path
        await asyncio.to_thread(_write, target, text)
        return target


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _import_all(names: tuple[str, ...]) -> None:
    """Imported in a worker thread while the loop keeps answering keys (the session's worker
    waits for it, so nothing on the loop imports these meanwhile)."""
    for name in names:
        importlib.import_module(name)
