"""The options of a session command checked against the configuration, before any screen or
model work: each refusal is a UsageError (exit 2) that names the option and what was expected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mao_tui.domain.errors import UsageError

if TYPE_CHECKING:
    from mao_tui.engine.request import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.settings.schema import Settings


def settings_of(launch: Launch) -> Settings:
    from mao_tui.settings.layers import ConfigError

    try:
        return launch.settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def checked(
    args: argparse.Namespace, launch: Launch, req: SessionRequest
) -> tuple[Launch, SessionRequest]:
    """The options checked against the configuration (UsageError): the launch and request
    they give."""
    settings = settings_of(launch)  # validated before any UI or model work
    if getattr(args, "budget", None) is not None:
        from dataclasses import replace

        req = replace(req, budget_usd=args.budget)
    if getattr(args, "candidates", None):
        req = with_candidates(args.candidates, settings, req)
    if getattr(args, "cross_review", None) is not None:
        from dataclasses import replace

        req = replace(req, cross_review=args.cross_review)
        if args.cross_review and not has_a_race(settings, req):
            raise UsageError(
                "--cross-review ranks a race's candidates, and this session has no race: add "
                "--candidates N (or candidates: on a workstream of the playbook or the plan)"
            )
    if req.playbook not in settings.playbooks:
        from mao_tui.playbooks.runner import require_playbook

        require_playbook(settings, req.playbook)
    req = fit_input(args, settings, req)
    if not launch.simulate:
        require_a_runnable_model(settings, req)
    return with_apply_options(args, settings, launch, req), req


def with_candidates(
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


def has_a_race(settings: Settings, req: SessionRequest) -> bool:
    """Whether some workstream runs candidates: asked here, in the plan given, or the playbook."""
    playbook = settings.playbooks.get(req.playbook)
    rows = req.fixed_plan.workstreams if req.fixed_plan is not None else []
    return bool(
        req.candidates
        or any(ws.candidates for ws in rows)
        or (playbook is not None and any(w.candidates for w in playbook.workstreams))
    )


def require_a_runnable_model(settings: Settings, req: SessionRequest) -> None:
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


def with_apply_options(
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
        check_project_files(settings, req.playbook, workspace or launch.project_dir)
        if not args.in_place and not (workspace is None and launch.fresh_workspace):
            check_isolation(args, workspace or launch.project_dir)
    return replace(
        launch,
        workspace=workspace if workspace is not None else launch.workspace,
        fix_rounds=args.fix_rounds,
        sim_failing_first=args.sim_failing_tests,
        worktree=args.worktree,
        with_uncommitted=args.with_uncommitted,
        in_place=args.in_place,
    )


def check_isolation(args: argparse.Namespace, workspace: Path) -> None:
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


def check_project_files(settings: Settings, playbook: str, workspace: Path) -> None:
    """A project file detection cannot read is bad input: exit 2 before any model work."""
    from mao_tui.checks.model import ProjectFileError
    from mao_tui.checks.resolve import resolve_checks

    try:
        resolve_checks(settings, playbook, workspace)
    except ProjectFileError as exc:
        raise UsageError(f"cannot tell how to verify: {exc}") from None


def fit_input(args: argparse.Namespace, settings: Settings, req: SessionRequest) -> SessionRequest:
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
