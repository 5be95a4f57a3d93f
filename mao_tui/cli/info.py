"""The commands that read: `sessions`, `config check`, `models`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from mao_tui.cli.request_checks import settings_of
from mao_tui.cli.running import EXIT_FAILED, EXIT_OK, db_path_of, make_launch


def cmd_sessions(args: argparse.Namespace) -> int:
    from mao_tui.service.session_reports import print_session, print_sessions

    db_path = db_path_of(args)  # the configuration is not read: listing needs only the store
    if args.sessions_command == "show":
        return asyncio.run(print_session(db_path, args.session_id, sys.stdout))
    return asyncio.run(print_sessions(db_path, args.limit, sys.stdout))


def cmd_config_check(args: argparse.Namespace) -> int:
    import os

    from mao_tui.settings.api_keys import find_key

    launch = make_launch(args, simulate=False, speed=1.0)
    settings = settings_of(launch)
    out = sys.stdout
    out.write("configuration layers (later wins):\n")
    for layer in launch.layers():
        out.write(f"  {'✓' if layer.is_dir() else '·'} {layer}\n")
    reg = settings.registry
    out.write(
        f"\n{len(reg.models)} models, {len(settings.routing.routes)} routes, "
        f"playbooks: {', '.join(sorted(settings.playbooks))}\n\nproviders:\n"
    )
    for pid, cfg in reg.providers.items():
        if cfg.cli is not None:  # a CLI tool: is it there, which version, are its flags known
            from mao_tui.providers.cli.bridge import probe

            key = probe(cfg.cli, os.environ).summary
        elif cfg.kind == "pal":
            from mao_tui.settings.pal import PalSettings

            key = (cfg.pal or PalSettings()).summary(os.environ)
        else:
            found = next((n for n in cfg.api_key_env if find_key([n], os.environ)), None)
            key = f"key from ${found}" if found else f"no key (set {' or '.join(cfg.api_key_env)})"
            if not cfg.api_key_env:
                key = "no key needed"
        models = ", ".join(m for m, mc in reg.models.items() if mc.provider == pid)
        out.write(f"  {pid:<10} {cfg.kind:<12} {key}\n             models: {models}\n")
    from mao_tui.engine import policy
    from mao_tui.service.models_report import alias_notes, config_warnings, price_sources

    out.write("\nprices (registry override, else the genai-prices database):\n")
    for label, model_ids in price_sources(settings).items():
        out.write(f"  {label}: {', '.join(model_ids)}\n")

    aliases = alias_notes(settings, policy.today())
    if aliases:
        out.write("\nroute aliases (the newest active model of the series):\n")
        out.writelines(f"  {line}\n" for line in aliases)
    warnings = config_warnings(settings, policy.today())
    if warnings:
        out.write(f"\n{len(warnings)} warning{'s' if len(warnings) != 1 else ''}:\n")
        out.writelines(f"  warning: {line}\n" for line in warnings)
    out.write("\nconfiguration OK\n")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    import os

    from mao_tui.discovery.lists import lists_path
    from mao_tui.engine import policy
    from mao_tui.service.models_report import render_lists, render_models

    launch = make_launch(args, simulate=False, speed=1.0)
    settings = settings_of(launch)
    path = lists_path()
    if getattr(args, "refresh", False):
        from mao_tui.discovery.refresh import refresh, report

        result = asyncio.run(refresh(settings, os.environ, path))
        sys.stdout.write(report(settings, os.environ, result) + "\n")
        sys.stdout.write(render_models(settings, os.environ, policy.today()))
        return EXIT_OK if result.ok else EXIT_FAILED
    sys.stdout.write(render_models(settings, os.environ, policy.today()))
    sys.stdout.write(render_lists(settings, os.environ, path))
    return EXIT_OK
