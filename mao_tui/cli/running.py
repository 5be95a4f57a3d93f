"""Running one session from the command line: the launch, headless or the dashboard,
apply and verification, and the exit status (the options are checked in request_checks)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mao_tui.cli.request_checks import checked, settings_of
from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from mao_tui.domain import EngineEvent, Plan
    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.service.live_session import OpenSession
    from mao_tui.settings.digest import Preview
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


def make_launch(args: argparse.Namespace, *, simulate: bool, speed: float) -> Launch:
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
    return settings_of(launch).registry.global_.limits.max_input_bytes


def preview_of(launch: Launch) -> Preview:
    from mao_tui.settings.layers import ConfigError

    try:
        return launch.preview()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def run_checked(args: argparse.Namespace, launch: Launch, req: SessionRequest) -> int:
    launch, req = checked(args, launch, req)
    if getattr(args, "apply", False):
        return _run_apply(args, launch, req)
    if args.json or args.headless:
        if getattr(args, "review_plan", False):
            raise UsageError(
                "--review-plan needs the dashboard; headless, save a plan (a `plan` line of "
                "--json output), edit it, and pass --plan FILE"
            )
        return _run_headless(launch, req, as_json=args.json)
    return run_tui(launch, req, review_plan=getattr(args, "review_plan", False))


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
            cancelled_by_sigterm(run_and_apply(launch, req, [sink], confirm), pipe)
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
        finished = asyncio.run(cancelled_by_sigterm(run_session(launch, req, [sink]), pipe))
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


async def cancelled_by_sigterm(work: Awaitable[T], pipe: _PipeWatch | None = None) -> T:
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


def run_tui(launch: Launch, req: SessionRequest, *, review_plan: bool = False) -> int:
    """The dashboard on this session; it stays open for reruns until the user quits."""
    from dataclasses import replace

    require_terminal(
        "the dashboard", "add --headless (progress lines) or --json (one event per line)"
    )

    from mao_tui.service.live_session import OpenSession

    app_ref: list[MaoApp] = []
    if review_plan:
        req = replace(req, review=plan_reviewer(launch, app_ref))
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


def plan_reviewer(
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


def with_plan_options(
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

    settings = settings_of(launch)
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
