"""service/launch.py and service/session_request.py: the settings are read once per launch, and a
session's request is built and checked the same way for every front end."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest
from fixtures.launches import fast_launch

from mao_tui.domain.errors import UsageError
from mao_tui.engine import controller as controller_module
from mao_tui.service import launch as launch_module
from mao_tui.service import live_session
from mao_tui.service.launch import Launch, run_session
from mao_tui.service.session_request import (
    CLI_FIELDS,
    HOME_FIELDS,
    MCP_FIELDS,
    SessionInputs,
    build_request,
)
from mao_tui.settings import loader


def _launch(tmp_path: Path) -> Launch:
    return fast_launch(tmp_path)


async def test_a_simulated_session_reads_the_settings_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Any] = []
    real = loader.load_settings  # Launch.settings imports it when first asked

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "load_settings", counting)
    launch = _launch(tmp_path)
    inputs = SessionInputs(playbook="develop", task="add search", project_dir=tmp_path)
    req = build_request(launch.settings(), inputs)
    finished = await run_session(launch, req, [])
    assert finished.status == "done"
    assert len(reads) == 1


def test_the_simulator_overlay_points_every_http_provider_at_it(tmp_path: Path) -> None:
    settings = _launch(tmp_path).settings()
    pointed = launch_module.pointed_at_simulator(settings, "http://127.0.0.1:9")
    for pid, cfg in pointed.registry.providers.items():
        if cfg.kind in ("cli", "pal"):
            assert cfg == settings.registry.providers[pid]
        else:
            assert cfg.base_url is not None and cfg.base_url.startswith("http://127.0.0.1:9")
            assert cfg.timeout_s == launch_module.SIM_TIMEOUT_S


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (CLI_FIELDS, "--sections needs --spec FILE: the sections are the spec's"),
        (MCP_FIELDS, "sections needs spec_file: the sections are the spec's"),
        (HOME_FIELDS, "Sections needs a spec file: the sections are the spec's"),
    ],
)
def test_each_front_end_hears_of_its_own_field(tmp_path: Path, fields: Any, message: str) -> None:
    settings = _launch(tmp_path).settings()
    inputs = SessionInputs(playbook="develop", task="x", project_dir=tmp_path, sections="2")
    with pytest.raises(UsageError) as caught:
        build_request(settings, inputs, fields)
    assert str(caught.value) == message


def test_one_check_for_an_empty_task_and_an_unknown_playbook(tmp_path: Path) -> None:
    settings = _launch(tmp_path).settings()
    with pytest.raises(UsageError, match=r"^the task is empty; say what to do$"):
        build_request(settings, SessionInputs(playbook="develop", task=" ", project_dir=tmp_path))
    with pytest.raises(UsageError, match=r"^no playbook named 'nope'; known playbooks: "):
        build_request(settings, SessionInputs(playbook="nope", task="x", project_dir=tmp_path))


async def test_a_dashboard_session_imports_the_engine_in_a_thread_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's ~200 modules are imported off the event loop, before the controller is made:
    on the loop they were a stall of the dashboard that had just opened."""
    calls: list[tuple[bool, tuple[str, ...]]] = []
    real = live_session._import_all

    def spying(names: tuple[str, ...]) -> None:
        calls.append((threading.current_thread() is threading.main_thread(), names))
        real(names)

    made: list[int] = []
    real_controller = controller_module.LiveSessionController.__init__

    def making(self: Any, *args: Any, **kwargs: Any) -> None:
        made.append(len(calls))
        real_controller(self, *args, **kwargs)

    monkeypatch.setattr(live_session, "_import_all", spying)
    monkeypatch.setattr(controller_module.LiveSessionController, "__init__", making)
    launch = _launch(tmp_path)
    inputs = SessionInputs(playbook="develop", task="add search", project_dir=tmp_path)
    session = live_session.OpenSession(launch, build_request(launch.settings(), inputs))
    finished = asyncio.Event()

    async def sink(event: Any) -> None:
        if event.type == "session_finished":
            finished.set()

    worker = asyncio.create_task(session.run(sink))
    await asyncio.wait_for(finished.wait(), 60)
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    assert len(calls) == 1 and made == [1]
    in_main, names = calls[0]
    assert not in_main
    assert {"mao_tui.engine.controller", "mao_tui.simulator.server"} <= set(names)
