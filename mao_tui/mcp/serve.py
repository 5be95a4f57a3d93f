"""`mao mcp serve`: mao as an MCP server over stdio, for Claude Code or any MCP host.

Tools: ``develop``, ``qa`` and ``journal`` run a session of that playbook, through the same entry
points as the commands of the same name, and answer with its result (the synthesized output, the
QA report, the journal entry and where it was written); ``session`` shows a stored session.
While a session runs, every progress line mao prints headless (plan, attempts, fallbacks,
finished workstreams) goes to the client as an MCP progress notification. Sessions are stored
in the same database as the dashboard's (``--db``, ``$MAO_DB``), so the user can watch one in
``mao`` (History) or review it later.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

# At module level, not under TYPE_CHECKING: the SDK reads the tools' annotations at run time
# to find the Context parameter. This module is imported only by `mao mcp serve`.
from mcp.server.mcpserver import Context

from mao_tui.domain import EngineEvent, OutputWritten
from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.settings.schema import Settings

DEVELOP_HELP = (
    "Build a feature with several models in parallel: plan, workstreams with fallbacks, "
    "synthesis. Returns the synthesized output and the session id. `spec_file` is a "
    "Markdown spec or PRD (a path, relative to the project); `sections` (e.g. '2,3') "
    "builds those numbered sections of it. `simulate` runs on mao's built-in simulator "
    "(no keys, no cost)."
)
QA_HELP = (
    "Review code on five dimensions (five reviewers, structured findings, a weighted "
    "score computed by code) and return one merged, de-duplicated report. `targets`: "
    "files, globs or directories relative to the project; or `diff`: a git revision, "
    "to review the changes since it. `spec_file`: a PRD to check compliance with."
)
JOURNAL_HELP = (
    "Write a journal entry (three perspectives, one entry) about a stored mao session "
    "(`session_id`, an id or prefix; default: the latest) or, with `since` (e.g. "
    "'2 weeks ago'), about this git repository's recent commits. Returns the entry "
    "and the file it was written to."
)
SESSION_HELP = (
    "Show one stored mao session in full: plan, every attempt, fallbacks, synthesis. "
    "`session_id` is an id or a unique prefix of one; empty lists the recent sessions."
)
INSTRUCTIONS = (
    "mao runs one piece of software work across several frontier models: a plan splits it into "
    "workstreams, each on the model best suited to it with a fallback chain, and a synthesis "
    "model merges the results. `develop` runs a session and returns the synthesized output "
    "(progress arrives as notifications; a session takes minutes). `qa` reviews code on five "
    "dimensions and returns a scored report; `journal` writes a journal entry about a stored "
    "session or recent git history. `session` shows a stored session by id. The user can watch "
    "or review any session in the `mao` dashboard."
)


class _Lines(io.StringIO):
    """What :class:`ProgressSink` writes, one line at a time, for the client."""

    def take(self) -> list[str]:
        lines = [line for line in self.getvalue().splitlines() if line.strip()]
        self.seek(0)
        self.truncate()
        return lines


@dataclass
class ProgressRelay:
    """An engine sink: mao's headless progress lines as MCP progress notifications."""

    ctx: Context
    sent: int = 0
    outputs: list[str] = field(default_factory=list)  # files a playbook's output kind wrote

    def __post_init__(self) -> None:
        from mao_tui.render.headless import ProgressSink

        self._lines = _Lines()
        self._sink = ProgressSink(self._lines)

    async def __call__(self, event: EngineEvent) -> None:
        await self._sink(event)
        if isinstance(event, OutputWritten):
            self.outputs.append(
                f"{event.kind} written to {event.path}"
                if event.path
                else f"{event.kind} not written: {event.error}"
            )
        for line in self._lines.take():
            self.sent += 1  # progress must grow with every notification; the line says what
            await self.ctx.report_progress(self.sent, None, line)


def build_server(launch: Launch) -> MCPServer:
    from mcp.server.mcpserver import MCPServer

    from mao_tui import __version__

    server: MCPServer = MCPServer("mao", version=__version__, instructions=INSTRUCTIONS)

    @server.tool(description=DEVELOP_HELP)
    async def develop(
        task: str,
        ctx: Context,
        spec_file: str | None = None,
        sections: str | None = None,
        simulate: bool = False,
        use_planner: bool = True,
    ) -> str:
        req = develop_request(launch, task, spec_file, sections, simulate, use_planner)
        return await _tool_errors(_run_request(launch, req, ctx))

    @server.tool(description=QA_HELP)
    async def qa(
        ctx: Context,
        targets: list[str] | None = None,
        diff: str | None = None,
        spec_file: str | None = None,
        task: str | None = None,
        simulate: bool = False,
        use_planner: bool = True,
    ) -> str:
        req = qa_request(launch, targets or [], diff, spec_file, task, simulate, use_planner)
        return await _tool_errors(_run_request(launch, req, ctx))

    @server.tool(description=JOURNAL_HELP)
    async def journal(
        ctx: Context,
        session_id: str | None = None,
        since: str | None = None,
        simulate: bool = False,
        use_planner: bool = True,
    ) -> str:
        req = journal_request(launch, session_id, since, simulate, use_planner)
        return await _tool_errors(_run_request(launch, req, ctx))

    @server.tool(description=SESSION_HELP)
    async def session(session_id: str = "", limit: int = 20) -> str:
        return await _tool_errors(show_sessions(launch, session_id.strip(), limit))

    return server


async def _tool_errors(work: Awaitable[str]) -> str:
    """The tool's answer; a UsageError becomes the client's tool error, worded as mao words it."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        return await work
    except UsageError as exc:
        raise ToolError(str(exc)) from None


async def _run_request(launch: Launch, request: Awaitable[SessionRequest], ctx: Context) -> str:
    return await run(launch, await request, ctx)


async def show_sessions(launch: Launch, session_id: str, limit: int) -> str:
    """One stored session in full, or (no id) the recent ones."""
    from mao_tui.service.session_reports import print_session, print_sessions

    out = io.StringIO()
    if session_id:
        await print_session(launch.db_path, session_id, out)
    else:
        await print_sessions(launch.db_path, max(1, min(limit, 200)), out)
    return out.getvalue()


async def journal_request(
    launch: Launch, session_id: str | None, since: str | None, simulate: bool, use_planner: bool
) -> SessionRequest:
    """The session `mao journal` would run."""
    from mao_tui.service import session_request

    return await session_request.journal_request(
        _settings(launch),
        db_path=launch.db_path,
        project_dir=launch.project_dir,
        session=session_id or None,
        since=since or None,
        simulated=simulate,
        use_planner=use_planner,
    )


async def develop_request(
    launch: Launch,
    task: str,
    spec_file: str | None,
    sections: str | None,
    simulate: bool,
    use_planner: bool,
) -> SessionRequest:
    """The same session `mao develop` would run, checked the same way (a UsageError if not)."""
    from mao_tui.service.session_request import MCP_FIELDS, SessionInputs, build_request

    inputs = SessionInputs(
        playbook="develop",
        task=task,
        project_dir=launch.project_dir,
        simulated=simulate,
        spec_path=_in_project(launch, spec_file),
        sections=sections or None,
        use_planner=use_planner,
    )
    req = build_request(_settings(launch), inputs, MCP_FIELDS)
    _check_fit(launch, req)
    return req


async def qa_request(
    launch: Launch,
    targets: list[str],
    diff: str | None,
    spec_file: str | None,
    task: str | None,
    simulate: bool,
    use_planner: bool,
) -> SessionRequest:
    """The session `mao qa` would run (its own preparation: targets, diff, PRD, fit)."""
    from mao_tui.service import session_request

    return session_request.qa_request(
        _settings(launch),
        playbook="qa",
        targets=targets,
        project_dir=launch.project_dir,
        diff=diff or None,
        prd=_in_project(launch, spec_file),
        task=task or None,
        simulated=simulate,
        use_planner=use_planner,
        err=io.StringIO(),  # what is reviewed and skipped: in the session's record, not stderr
    )


def _in_project(launch: Launch, path: str | None) -> Path | None:
    """A path the client gave, relative to the project (None when not given)."""
    if not path:
        return None
    given = Path(path)
    return given if given.is_absolute() else launch.project_dir / given


def _settings(launch: Launch) -> Settings:
    from mao_tui.settings.loader import ConfigError

    try:
        return launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _check_fit(launch: Launch, req: SessionRequest) -> None:
    from mao_tui.engine.budget import check_fit
    from mao_tui.engine.rule_plan import rule_based_plan

    settings = _settings(launch)
    plan = rule_based_plan(settings, req.playbook, req.sections)
    spec = "".join(s.text for s in req.sections) if req.sections else req.spec_text
    fit = check_fit(settings, plan, req.task + spec)
    if not fit.fits:
        raise UsageError(
            f"the task and spec are about {fit.estimated_tokens:,} tokens, over "
            f"{fit.limit_tokens:,} ({fit.model}'s context window is {fit.smallest_window:,}); "
            "choose sections or shorten the spec"
        )


async def run(launch: Launch, req: SessionRequest, ctx: Context) -> str:
    """Run the session to its end; the answer names it and carries its synthesized output."""
    from mao_tui.service.launch import run_session
    from mao_tui.store import Store

    session_launch = replace(launch, simulate=req.simulated, faults=False)
    relay = ProgressRelay(ctx)
    finished = await run_session(session_launch, req, [relay])
    store = await Store.open(launch.db_path)
    try:
        detail = await store.get_session(finished.session_id)
    finally:
        await store.close()
    synthesis = detail.synthesis.text.strip() if detail and detail.synthesis else ""
    if detail is not None and detail.qa_report is not None:  # output kind qa_report
        synthesis = detail.qa_report.markdown.strip()
    totals = finished.totals
    head = (
        f"mao session {finished.session_id}: {finished.status}"
        f"{' (simulated)' if req.simulated else ''}; "
        f"{totals.input_tokens:,} tokens in, {totals.output_tokens:,} out"
        f"; review it with `mao sessions show {finished.session_id}` or in `mao` (History)"
    )
    if relay.outputs:
        head += "\n" + "\n".join(relay.outputs)
    if not synthesis:
        return f"{head}\n\nNo synthesized output: the session ended {finished.status}."
    return f"{head}\n\n{synthesis}\n"


async def serve(launch: Launch) -> None:
    await build_server(launch).run_stdio_async()
