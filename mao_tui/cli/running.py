"""Running one session from the command line: the launch, the input checks, headless or the
dashboard, apply and verification, and the exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from mao_tui.domain import EngineEvent, Plan
    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.service.live_session import OpenSession
    from mao_tui.settings.digest import Preview
    from mao_tui.settings.schema import Settings
    from mao_tui.tui.app import MaoApp

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_PIPE = 141  # stdout closed by its reader (`| head`): 128 + SIGPIPE, as a shell reports it
T = TypeVar("T")


def db_path_of(args: argparse.Namespace) -> Path:
    """--db, else $MAO_DB, else the user data dir's mao.db."""
    import os

    db_arg: Path | None = getattr(args, "db", None)
    if db_arg is not None:
        return db_arg
    if os.environ.get("MAO_DB"):
        return Path(os.environ["MAO_DB"])
    from mao_tui.store import default_db_path

    return default_db_path()


def check_db(args: argparse.Namespace) -> None:
    """UsageError (exit 2) naming the database and what is wrong with it, before any work:
    a directory, not SQLite, truncated, under a file, or from a newer mao. Reads its header
    only; the file is never changed."""
    from mao_tui.store.check import check_database
    from mao_tui.store.migrations import SCHEMA_VERSION

    check_database(db_path_of(args), SCHEMA_VERSION)


def _launch(args: argparse.Namespace, *, simulate: bool, speed: float) -> Launch:
    from mao_tui.service.launch import Launch

    return Launch(
        project_dir=Path.cwd(),
        config_dir=getattr(args, "config", None),
        db_path=db_path_of(args),
        simulate=simulate,
        speed=speed,
        max_parallel=getattr(args, "max_parallel", None),
    )


def _max_input_bytes(launch: Launch) -> int:
    return _settings_of(launch).registry.global_.limits.max_input_bytes


def _settings_of(launch: Launch) -> Settings:
    from mao_tui.settings.layers import ConfigError

    try:
        return launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _preview_of(launch: Launch) -> Preview:
    from mao_tui.settings.layers import ConfigError

    try:
        return launch.preview()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _run(args: argparse.Namespace, launch: Launch, req: SessionRequest) -> int:
    launch, req = _checked(args, launch, req)
    if getattr(args, "apply", False):
        return _run_apply(args, launch, req)
    if args.json or args.headless:
        if getattr(args, "review_plan", False):
            raise UsageError(
                "--review-plan needs the dashboard; headless, save a plan (a `plan` line of "
                "--json output), edit it, and pass --plan FILE"
            )
        return _run_headless(launch, req, as_json=args.json)
    return _run_tui(launch, req, review_plan=getattr(args, "review_plan", False))


def _checked(
    args: argparse.Namespace, launch: Launch, req: SessionRequest
) -> tuple[Launch, SessionRequest]:
    """The options checked against the configuration (UsageError): the launch and request
    they give."""
    settings = _settings_of(launch)  # validated before any UI or model work
    if getattr(args, "budget", None) is not None:
        from dataclasses import replace

        req = replace(req, budget_usd=args.budget)
    if getattr(args, "candidates", None):
        req = _with_candidates(args.candidates, settings, req)
    if getattr(args, "cross_review", None) is not None:
        from dataclasses import replace

        req = replace(req, cross_review=args.cross_review)
        if args.cross_review and not _has_a_race(settings, req):
            raise UsageError(
                "--cross-review ranks a race's candidates, and this session has no race: add "
                "--candidates N (or candidates: on a workstream of the playbook or the plan)"
            )
    if req.playbook not in settings.playbooks:
        from mao_tui.playbooks.runner import require_playbook

        require_playbook(settings, req.playbook)
    req = _fit_input(args, settings, req)
    if not launch.simulate:
        _require_a_runnable_model(settings, req)
    return _with_apply_options(args, settings, launch, req), req


def _with_candidates(
    asked: list[tuple[str, int]], settings: Settings, req: SessionRequest
) -> SessionRequest:
    """--candidates [KEY=]N: each KEY must be one of the playbook's workstreams."""
    from dataclasses import replace

    playbook = settings.playbooks.get(req.playbook)
    keys = {w.key for w in playbook.workstreams} if playbook else set()
    unknown = sorted(k for k, _ in asked if k and k not in keys)
    if unknown:
        raise UsageError(
            f"--candidates {unknown[0]}=N: {req.playbook!r} has no workstream {unknown[0]!r} "
            f"(it has {', '.join(sorted(keys))})"
        )
    return replace(req, candidates=dict(asked))


def _has_a_race(settings: Settings, req: SessionRequest) -> bool:
    """Whether some workstream runs candidates: asked here, in the plan given, or the playbook."""
    playbook = settings.playbooks.get(req.playbook)
    rows = req.fixed_plan.workstreams if req.fixed_plan is not None else []
    return bool(
        req.candidates
        or any(ws.candidates for ws in rows)
        or (playbook is not None and any(w.candidates for w in playbook.workstreams))
    )


def _require_a_runnable_model(settings: Settings, req: SessionRequest) -> None:
    """Before any request and before the dashboard opens: when no model the plan routes to can
    run (no key, retired, tool not on PATH), say once what to set, and stop (exit 2). When some
    can, the session runs on those and the others are skipped, each in the fallback log."""
    import os

    from mao_tui.engine import policy
    from mao_tui.engine.availability import missing_keys, unavailable_reason
    from mao_tui.engine.rule_plan import rule_based_plan

    plan = req.fixed_plan or rule_based_plan(settings, req.playbook, req.sections)
    routed = list(dict.fromkeys(m for ws in [*plan.workstreams, plan.synthesis] for m in ws.chain))
    today = policy.today()
    reasons = {m: unavailable_reason(settings, m, os.environ, today) for m in routed}
    if not routed or any(reason is None for reason in reasons.values()):
        return
    keys = missing_keys(settings, routed, os.environ)
    if keys:
        what = keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + f" or {keys[-1]}"
        advice = f"set {what} (one is enough)"
    else:
        advice = "; ".join(f"{m}: {r}" for m, r in reasons.items())
    raise UsageError(
        f"no model routed for {req.playbook!r} can run here: {advice}; "
        "or add --simulate to run it on the built-in simulator (no keys, no real model calls)"
    )


def _with_apply_options(
    args: argparse.Namespace, settings: Settings, launch: Launch, req: SessionRequest
) -> Launch:
    """--apply, --yes, --workspace, --fix-rounds and --sim-failing-tests, checked up front."""
    from dataclasses import replace

    if not hasattr(args, "apply"):
        return launch
    if args.yes and not args.apply:
        raise UsageError("--yes goes with --apply (it skips the question before writing files)")
    if args.sim_failing_tests and not launch.simulate:
        raise UsageError("--sim-failing-tests shapes the simulator's answers; add --simulate")
    playbook = settings.playbooks[req.playbook]
    if args.apply and playbook.output != "files":
        raise UsageError(
            f"--apply writes files, and playbook {req.playbook!r} has output "
            f"{playbook.output!r}, not 'files'"
        )
    for flag, given in (("--worktree", args.worktree), ("--in-place", args.in_place)):
        if given and not args.apply:
            raise UsageError(f"{flag} goes with --apply (it says where the files are applied)")
    if args.with_uncommitted and not args.apply:
        raise UsageError("--with-uncommitted goes with --apply")
    if args.in_place and (args.worktree or args.with_uncommitted):
        other = "--worktree" if args.worktree else "--with-uncommitted"
        raise UsageError(f"--in-place writes into the workspace itself; {other} does not")
    if args.apply and getattr(args, "review_plan", False):
        raise UsageError("--review-plan needs the dashboard; --apply runs headless")
    if args.apply and not args.yes and not sys.stdin.isatty():
        raise UsageError(
            "--apply asks before writing files, and there is no terminal to ask on; "
            "pass --yes to apply without asking"
        )
    workspace = None
    if args.workspace is not None:
        workspace = args.workspace.expanduser().resolve()
        if not workspace.is_dir():
            raise UsageError(f"--workspace {args.workspace}: not a directory")
    if args.apply:
        _check_project_files(settings, req.playbook, workspace or launch.project_dir)
        if not args.in_place and not (workspace is None and launch.fresh_workspace):
            _check_isolation(args, workspace or launch.project_dir)
    return replace(
        launch,
        workspace=workspace if workspace is not None else launch.workspace,
        fix_rounds=args.fix_rounds,
        sim_failing_first=args.sim_failing_tests,
        worktree=args.worktree,
        with_uncommitted=args.with_uncommitted,
        in_place=args.in_place,
    )


def _check_isolation(args: argparse.Namespace, workspace: Path) -> None:
    """Before any model work: a worktree needs a commit to start from, and --worktree git."""
    from mao_tui.repo.git import repo_root, run_git

    root = repo_root(workspace)
    if root is None:
        if args.worktree:
            raise UsageError(
                f"--worktree: {workspace} is not inside a git repository (outside git the "
                "session works in a temporary copy; pass no --worktree)"
            )
        return
    head = run_git(root, ["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
    if head.returncode != 0:
        raise UsageError(
            f"{root} has no commit yet, and the session works in a git worktree from HEAD: "
            "commit once, or pass --in-place to write into the workspace itself"
        )


def _check_project_files(settings: Settings, playbook: str, workspace: Path) -> None:
    """A project file detection cannot read is bad input: exit 2 before any model work."""
    from mao_tui.checks.model import ProjectFileError
    from mao_tui.checks.resolve import resolve_checks

    try:
        resolve_checks(settings, playbook, workspace)
    except ProjectFileError as exc:
        raise UsageError(f"cannot tell how to verify: {exc}") from None


def _run_apply(args: argparse.Namespace, launch: Launch, req: SessionRequest) -> int:
    """--apply: the session headless, then apply, verify and fix (mao_tui.service.apply_run)."""
    from mao_tui.domain import EventSink, SessionStatus
    from mao_tui.render.headless import JsonLinesSink, ProgressSink
    from mao_tui.service.apply_run import auto_confirm, run_and_apply, terminal_confirm

    pipe = _PipeWatch()
    sink: EventSink = (
        JsonLinesSink(sys.stdout, pipe.closed) if args.json else ProgressSink(sys.stderr)
    )
    confirm = auto_confirm(None)  # FilesApplied lists every file anyway
    if not args.yes:
        confirm = terminal_confirm(sys.stderr)
    try:
        outcome = asyncio.run(
            _cancelled_by_sigterm(run_and_apply(launch, req, [sink], confirm), pipe)
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_PIPE if pipe.is_closed else EXIT_INTERRUPTED
    if pipe.is_closed:
        return EXIT_PIPE
    if not args.json:
        sys.stderr.write(f"mao: {outcome.summary}\n")
    if outcome.session is not None and outcome.session.status is not SessionStatus.DONE:
        return _exit_code(outcome.session.status)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _fit_input(args: argparse.Namespace, settings: Settings, req: SessionRequest) -> SessionRequest:
    """Refuse input larger than the smallest context window in the plan, with the numbers;
    cut the spec to fit only when the user asked to (--truncate)."""
    from dataclasses import replace

    from mao_tui.engine.budget import check_fit, truncate_to_fit
    from mao_tui.engine.rule_plan import rule_based_plan

    plan = req.fixed_plan or rule_based_plan(settings, req.playbook, req.sections)
    spec = "".join(s.text for s in req.sections) if req.sections else req.spec_text
    fit = check_fit(settings, plan, req.task + spec)
    if fit.fits:
        return req
    numbers = (
        f"the task and spec are about {fit.estimated_tokens:,} tokens (4 characters per token), "
        f"over {fit.limit_tokens:,}: 80% of {fit.model}'s {fit.smallest_window:,}-token context "
        "window, the smallest in the plan"
    )
    if req.sections:
        raise UsageError(f"{numbers}; choose fewer --sections")
    if not getattr(args, "truncate", False):
        raise UsageError(f"{numbers}; choose --sections, shorten the spec, or pass --truncate")
    sys.stderr.write(f"mao: {numbers}; --truncate: cutting the spec to fit\n")
    return replace(req, spec_text=truncate_to_fit(req.spec_text, fit, len(req.task)))


def _exit_code(status: str) -> int:
    return {"done": EXIT_OK, "cancelled": EXIT_INTERRUPTED}.get(status, EXIT_FAILED)


def _run_headless(launch: Launch, req: SessionRequest, *, as_json: bool) -> int:
    from mao_tui.domain import EventSink
    from mao_tui.render.headless import JsonLinesSink, ProgressSink
    from mao_tui.service.launch import run_session

    pipe = _PipeWatch()
    sink: EventSink = (
        JsonLinesSink(sys.stdout, pipe.closed) if as_json else ProgressSink(sys.stderr)
    )
    try:
        finished = asyncio.run(_cancelled_by_sigterm(run_session(launch, req, [sink]), pipe))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_PIPE if pipe.is_closed else EXIT_INTERRUPTED
    if pipe.is_closed:
        return EXIT_PIPE
    if not as_json:
        synthesis = _last_synthesis_text(launch, req.session_id)
        if synthesis:
            from mao_tui.domain.sanitize import shown

            try:
                sys.stdout.write(shown(synthesis.rstrip()) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                from mao_tui.render.headless import silence

                silence(sys.stdout)
                return EXIT_PIPE
    return _exit_code(finished.status)


class _PipeWatch:
    """Cancels the session when its JSON reader goes away (``mao demo --json | head``): a
    closed stdout is a normal end, so the session is stored ``cancelled`` (or ``done``, when
    only its last line was lost) and mao exits 141 without a traceback."""

    def __init__(self) -> None:
        self.task: asyncio.Task[object] | None = None
        self.is_closed = False

    def closed(self, event: EngineEvent) -> None:
        from mao_tui.domain import SessionFinished

        self.is_closed = True
        if self.task is not None and not isinstance(event, SessionFinished):
            self.task.cancel()


async def _cancelled_by_sigterm(work: Awaitable[T], pipe: _PipeWatch | None = None) -> T:
    """``work``, cancelled like Ctrl+C cancels it when SIGTERM arrives: the session ends
    ``cancelled``, streamed text is written and every connection and subprocess is closed."""
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    if pipe is not None:
        pipe.task = task
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
        return await work
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _last_synthesis_text(launch: Launch, session_id: str) -> str:
    from mao_tui.store import Store

    async def read() -> str:
        store = await Store.open(launch.db_path)
        try:
            detail = await store.get_session(session_id)
        finally:
            await store.close()
        if detail and detail.qa_report:  # output kind qa_report: the score and the report
            return detail.qa_report.markdown
        return detail.synthesis.text if detail and detail.synthesis else ""

    return asyncio.run(read())


def require_terminal(what: str, instead: str) -> None:
    """The dashboard reads keys and draws on a terminal: without one (a pipe, /dev/null, cron)
    it would write escape codes into the pipe and wait for keys that never come."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"{what} needs a terminal on stdin and stdout; {instead}")


def _run_tui(launch: Launch, req: SessionRequest, *, review_plan: bool = False) -> int:
    """The dashboard on this session; it stays open for reruns until the user quits."""
    from dataclasses import replace

    require_terminal(
        "the dashboard", "add --headless (progress lines) or --json (one event per line)"
    )

    from mao_tui.service.live_session import OpenSession

    app_ref: list[MaoApp] = []
    if review_plan:
        req = replace(req, review=_plan_reviewer(launch, app_ref))
    session = OpenSession(launch, req)
    title = f"mao · {req.command}"
    return run_dashboard(launch, session, title, launch.settings().keybindings, app_ref)


def run_dashboard(
    launch: Launch,
    session: OpenSession,
    title: str,
    keymap: Mapping[str, str],
    app_ref: list[MaoApp] | None = None,
) -> int:
    """The app on ``session``'s dashboard until the user quits; exit 2 when the session's
    preparation (after the first frame) refused its request."""
    from mao_tui.service.live_session import AppBackend
    from mao_tui.tui.app import MaoApp

    app = MaoApp(
        session.run,
        control=session,
        simulated=launch.simulate,
        title=title,
        backend=AppBackend(launch),
        keymap=keymap,
    )
    if app_ref is not None:
        app_ref.append(app)
    code = app.run()
    if session.usage_error is not None:
        sys.stderr.write(f"mao: error: {session.usage_error}\n")
        return EXIT_USAGE
    return EXIT_INTERRUPTED if code is None else code


def _plan_reviewer(
    launch: Launch, app_ref: list[MaoApp]
) -> Callable[[Plan], Awaitable[Plan | None]]:
    """--review-plan: the plan review screen, shown from the session's worker."""
    import os

    from mao_tui.engine import policy
    from mao_tui.engine.availability import unavailable_reason
    from mao_tui.service.launch import simulator_env
    from mao_tui.tui.plan_review import PlanReviewScreen

    settings = launch.settings()
    env = simulator_env(settings) if launch.simulate else os.environ
    today = policy.today()
    unavailable = {
        model_id: unavailable_reason(settings, model_id, env, today)
        for model_id in settings.registry.models
    }

    async def review(plan: Plan) -> Plan | None:
        return await app_ref[0].push_screen_wait(PlanReviewScreen(plan, settings, unavailable))

    return review


def _with_plan_options(
    args: argparse.Namespace, launch: Launch, req: SessionRequest
) -> SessionRequest:
    """--no-planner, --plan FILE and --max-parallel, checked before anything runs."""
    import json
    from dataclasses import replace

    req = replace(req, use_planner=not args.no_planner)
    if args.plan is None:
        return req
    from mao_tui.engine.orchestrator_plan import PlanInvalid, apply_proposal
    from mao_tui.engine.rule_plan import rule_based_plan

    settings = _settings_of(launch)
    from mao_tui.service.inputs import read_text

    text = read_text(args.plan, "plan file", "--plan", _max_input_bytes(launch), "JSON")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{args.plan}:{exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(raw, dict) and raw.get("type") == "plan" and isinstance(raw.get("plan"), dict):
        event_plan = raw["plan"]
        raw = {
            "rationale": event_plan.get("rationale", ""),
            "workstreams": event_plan.get("workstreams", []),
            "synthesis_chain": (event_plan.get("synthesis") or {}).get("chain"),
        }
    draft = rule_based_plan(settings, req.playbook, req.sections)
    try:
        plan = apply_proposal(raw, draft, settings, "file")
    except PlanInvalid as exc:
        raise UsageError(f"{args.plan}: the plan cannot be used: {exc}") from None
    return replace(req, fixed_plan=plan)
