"""How responsive is the dashboard while seven models stream?

    python benchmarks/responsiveness.py                 # 7 streams x 100 tokens/s for 20 s, 200x60
    python benchmarks/responsiveness.py --seconds 5 --size 80x24 --json

The real app (``MaoApp`` and its dashboard) runs headless under ``run_test``. A paced fake runner
(``--source fake``, the default) streams thinking then Markdown answers into it at the given rate,
like the engine's sink would; ``--source simulator`` runs the real engine, SDKs and store against
the built-in simulator instead (a seven-workstream playbook in a temporary config layer).

While the streams run, a key is pressed every ``--key-every`` seconds (down/up in the plan table,
alternating), and the benchmark reports:

- key latency: from posting the key event to the end of the first screen update after the key's
  binding ran (a headless app skips writing to the terminal; the benchmark renders each update to
  terminal sequences anyway, so that cost is counted);
- event-loop stall: how late a 10 ms ticker wakes up;
- CPU: process time over wall time while streaming;
- backlog: messages still queued on the dashboard and characters received but not yet shown,
  when the streams end; and whether every panel shows exactly the text that was sent, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from mao_tui.domain import (  # noqa: E402
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    Delta,
    EventSink,
    Plan,
    PlannedWorkstream,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
)
from mao_tui.simulator.scripts import SCRIPTED_KEYS, script_for  # noqa: E402
from mao_tui.tui.app import MaoApp  # noqa: E402
from mao_tui.tui.dashboard import DashboardScreen  # noqa: E402

CHARS_PER_TOKEN = 4
TICKER_S = 0.010
KEYS = ("down", "down", "up", "up")


@dataclass(frozen=True)
class Config:
    seconds: float = 20.0
    streams: int = 7
    tokens_per_s: float = 100.0
    tokens_per_delta: int = 3
    size: tuple[int, int] = (200, 60)
    key_every: float = 0.2
    source: str = "fake"
    render_output: bool = True  # render each screen update to terminal sequences, as a tty would


@dataclass
class Result:
    config: dict[str, Any]
    keys_pressed: int = 0
    keys_answered: int = 0
    key_p50_ms: float = math.nan
    key_p99_ms: float = math.nan
    key_max_ms: float = math.nan
    stall_p50_ms: float = math.nan
    stall_p99_ms: float = math.nan
    stall_max_ms: float = math.nan
    cpu_percent: float = math.nan
    chars_sent: int = 0
    deltas_sent: int = 0
    backlog_messages: int = 0
    backlog_chars: int = 0
    text_intact: bool = False
    problems: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


# -- the paced fake runner ------------------------------------------------------------------


class PacedRunner:
    """Streams ``streams`` workstreams at ``tokens_per_s`` each for ``seconds``, then ends."""

    SESSION_ID = "01BENCH0000000000000000000"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        keys = [k for k in SCRIPTED_KEYS if k != SYNTHESIS_KEY]
        self.keys = [f"{keys[i % len(keys)]}_{i + 1}" for i in range(cfg.streams)]
        self.sent: dict[str, dict[str, list[str]]] = {
            k: {"thinking": [], "text": []} for k in self.keys
        }
        self.chars_sent = 0
        self.deltas_sent = 0
        self.streaming_over = asyncio.Event()

    def _script(self, index: int, key: str) -> tuple[str, str]:
        base = key.rsplit("_", 1)[0]
        script = script_for(base)
        total = int(self.cfg.seconds * self.cfg.tokens_per_s * CHARS_PER_TOKEN) + 1
        thinking = script.thinking
        answer_parts = [script.answer]
        while sum(len(p) for p in answer_parts) + len(thinking) < total:
            answer_parts.append(f"\n\n## Part {len(answer_parts) + 1}\n\n{script.answer}")
        return thinking, "".join(answer_parts)

    async def __call__(self, sink: EventSink) -> SessionFinished:
        now = datetime.now(UTC)
        sid = self.SESSION_ID
        await sink(
            SessionStarted(
                session_id=sid,
                command="develop",
                playbook="develop",
                task="Benchmark: seven models streaming at once",
                simulated=True,
                project_dir=str(ROOT),
            )
        )
        chain = ["sonnet-5.5", "opus-5.5"]
        plan = Plan(
            playbook="develop",
            workstreams=[
                PlannedWorkstream(key=k, title=k.replace("_", " ").title(), route="x", chain=chain)
                for k in self.keys
            ],
            synthesis=PlannedWorkstream(
                key=SYNTHESIS_KEY, title="Synthesis", route="synthesis", chain=chain
            ),
        )
        await sink(PlanReady(session_id=sid, plan=plan))
        scripts = {k: self._script(i, k) for i, k in enumerate(self.keys)}
        for k in self.keys:
            await sink(
                AttemptStarted(
                    session_id=sid,
                    attempt_id=f"att-{k}",
                    workstream=k,
                    model="sonnet-5.5",
                    provider="anthropic",
                    api_model="sonnet-5.5",
                    attempt_no=1,
                    thinking=True,
                )
            )
        del now
        step = self.cfg.tokens_per_delta * CHARS_PER_TOKEN
        interval = self.cfg.tokens_per_delta / self.cfg.tokens_per_s
        loop = asyncio.get_running_loop()
        start = loop.time()
        positions = dict.fromkeys(self.keys, 0)
        tick = 0
        while loop.time() - start < self.cfg.seconds:
            tick += 1
            for k in self.keys:
                thinking, answer = scripts[k]
                pos = positions[k]
                if pos < len(thinking):
                    channel, text = "thinking", thinking[pos : pos + step]
                else:
                    offset = pos - len(thinking)
                    channel, text = "text", answer[offset : offset + step]
                if not text:
                    continue
                positions[k] = pos + len(text)
                self.sent[k][channel].append(text)
                self.chars_sent += len(text)
                self.deltas_sent += 1
                await sink(
                    Delta(
                        session_id=sid,
                        attempt_id=f"att-{k}",
                        workstream=k,
                        channel="thinking" if channel == "thinking" else "text",
                        text=text,
                    )
                )
            await asyncio.sleep(max(0.0, start + tick * interval - loop.time()))
        self.streaming_over.set()
        usage = TokenTotals(input_tokens=1000, output_tokens=2000, cost_usd=0.01)
        for k in self.keys:
            await sink(
                AttemptFinished(
                    session_id=sid,
                    attempt_id=f"att-{k}",
                    workstream=k,
                    model="sonnet-5.5",
                    status=AttemptStatus.OK,
                    usage=usage,
                    elapsed_s=self.cfg.seconds,
                )
            )
            await sink(
                WorkstreamFinished(
                    session_id=sid,
                    workstream=k,
                    model="sonnet-5.5",
                    status=WorkstreamStatus.DONE,
                    usage=usage,
                )
            )
        finished = SessionFinished(
            session_id=sid,
            status=SessionStatus.DONE,
            totals=TokenTotals(),
            elapsed_s=self.cfg.seconds,
        )
        await sink(finished)
        return finished


# -- probes ---------------------------------------------------------------------------------


class Probes:
    """The ticker, the key presser and the display hook."""

    def __init__(self, app: MaoApp, cfg: Config) -> None:
        self.app = app
        self.cfg = cfg
        self.stalls: list[float] = []
        self.latencies: list[float] = []
        self.pressed = 0
        self._pending: list[tuple[float, float | None]] = []  # (posted, handled)
        self._stop = asyncio.Event()

    def install(self) -> None:
        app = self.app
        original_display = app._display
        original_check = app._check_bindings

        def display(screen: Any, renderable: Any) -> None:
            original_display(screen, renderable)
            if renderable is None:
                return
            if self.cfg.render_output and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)
            now = time.perf_counter()
            still = []
            for posted, handled in self._pending:
                if handled is not None:
                    self.latencies.append(now - posted)
                else:
                    still.append((posted, handled))
            self._pending = still

        async def check_bindings(key: str, priority: bool = False) -> bool:
            handled = await original_check(key, priority)
            if handled and self._pending:
                now = time.perf_counter()
                self._pending = [(posted, now if h is None else h) for posted, h in self._pending]
            return handled

        app._display = display  # type: ignore[method-assign]
        app._check_bindings = check_bindings  # type: ignore[method-assign]

    async def ticker(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            due = loop.time() + TICKER_S
            await asyncio.sleep(TICKER_S)
            self.stalls.append(max(0.0, loop.time() - due))

    async def presser(self) -> None:
        index = 0
        while not self._stop.is_set():
            await asyncio.sleep(self.cfg.key_every)
            key = KEYS[index % len(KEYS)]
            index += 1
            self._pending.append((time.perf_counter(), None))
            self.pressed += 1
            self.app.post_message(events.Key(key, None))

    def stop(self) -> None:
        self._stop.set()


# -- running it -----------------------------------------------------------------------------


def _shown_text(panel: Any) -> tuple[str, str]:
    """(thinking, answer) as laid out in the panel once everything has settled."""
    if hasattr(panel, "shown_answer"):
        return panel.shown_thinking, panel.shown_answer
    return panel.thinking_text, panel.answer.source  # the first implementation's panel


def _backlog(screen: DashboardScreen) -> tuple[int, int]:
    pending_messages = screen._message_queue.qsize()
    pending_chars = 0
    for panel in screen.panels.values():
        pending_chars += getattr(panel, "pending_chars", 0)
    return pending_messages, pending_chars


async def _simulator_runner(cfg: Config, tmp: Path) -> tuple[Callable[..., Any], list[str]]:
    """The real engine on the simulator, with a playbook of ``cfg.streams`` workstreams."""
    session, _launch, keys = simulator_session(cfg, tmp)
    return session.run, keys  # the dashboard's own path: `mao demo`'s


def simulator_session(cfg: Config, tmp: Path) -> tuple[Any, Any, list[str]]:
    """(OpenSession, Launch, workstream keys) of ``cfg.streams`` workstreams on the simulator,
    every model at ``cfg.tokens_per_s``, no scripted faults."""
    from mao_tui.engine.session import SessionRequest
    from mao_tui.service.launch import Launch
    from mao_tui.service.live_session import OpenSession

    config = tmp / "config"
    (config / "playbooks").mkdir(parents=True)
    base = [k for k in SCRIPTED_KEYS if k not in (SYNTHESIS_KEY, "fix")]  # fix: no route
    pairs = [(base[i % len(base)], i) for i in range(cfg.streams)]
    keys = [b if i < len(base) else f"{b}_{i}" for b, i in pairs]
    lines = [
        "name: bench",
        "system_prompt: develop/system.md",
        "workstreams:",
        *[
            f"  - {{key: {k}, title: {k.title()}, route: {b}, prompt: develop/{b}.md}}"
            for k, (b, _) in zip(keys, pairs, strict=True)
        ],
        "synthesis: {route: synthesis, prompt: develop/synthesis.md}",
    ]
    (config / "playbooks" / "bench.yaml").write_text("\n".join(lines) + "\n")
    from mao_tui.simulator.pacing import MODEL_TOKENS_PER_S

    every_model = {key: cfg.tokens_per_s for key in [*MODEL_TOKENS_PER_S, ""]}
    launch = Launch(
        project_dir=tmp, config_dir=config, db_path=tmp / "bench.db", simulate=True, speed=1.0,
        faults=False, sim_tokens_per_s=every_model,
    )  # fmt: skip
    req = SessionRequest(
        command="develop", playbook="bench", task="benchmark", simulated=True, use_planner=False
    )

    return OpenSession(launch, req), launch, keys


async def measure(cfg: Config) -> Result:
    result = Result(config=asdict(cfg))
    with tempfile.TemporaryDirectory() as tmpdir:
        fake: PacedRunner | None = None
        if cfg.source == "fake":
            fake = PacedRunner(cfg)
            runner: Callable[..., Any] = fake
        else:
            runner, _ = await _simulator_runner(cfg, Path(tmpdir))
        app = MaoApp(runner, simulated=True)
        probes = Probes(app, cfg)
        async with app.run_test(size=cfg.size) as pilot:
            probes.install()
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            while not screen.panels:
                if screen.session_result is not None:
                    raise RuntimeError(f"the session ended early: {screen.session_result.error}")
                await pilot.pause(0.05)
            screen.plan_table.focus()
            tasks = [asyncio.create_task(probes.ticker()), asyncio.create_task(probes.presser())]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if fake is not None:
                await fake.streaming_over.wait()
            else:
                await asyncio.sleep(cfg.seconds)
            cpu1, wall1 = time.process_time(), time.perf_counter()
            probes.stop()
            await asyncio.gather(*tasks)
            result.backlog_messages, result.backlog_chars = _backlog(screen)
            await asyncio.wait_for(app.session_done.wait(), 120)
            await screen.settle()
            await pilot.pause()
            result.cpu_percent = round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1)
            if fake is not None:
                result.chars_sent, result.deltas_sent = fake.chars_sent, fake.deltas_sent
                intact = True
                for key in fake.keys:
                    thinking, answer = _shown_text(screen.panels[key])
                    want_thinking = "".join(fake.sent[key]["thinking"])
                    want_answer = "".join(fake.sent[key]["text"])
                    if thinking != want_thinking or answer != want_answer:
                        intact = False
                        result.problems.append(f"{key}: shown text differs from the text sent")
                result.text_intact = intact
            else:
                result.text_intact = all(len(p.answer.source) > 0 for p in screen.panels.values())
            await pilot.press("ctrl+c")
            while app.is_running:  # its session closes its store and simulator first
                await pilot.pause(0.05)
    ms = [v * 1000 for v in probes.latencies]
    stalls = [v * 1000 for v in probes.stalls]
    result.keys_pressed, result.keys_answered = probes.pressed, len(ms)
    result.key_p50_ms = round(percentile(ms, 0.50), 1)
    result.key_p99_ms = round(percentile(ms, 0.99), 1)
    result.key_max_ms = round(max(ms, default=math.nan), 1)
    result.stall_p50_ms = round(percentile(stalls, 0.50), 1)
    result.stall_p99_ms = round(percentile(stalls, 0.99), 1)
    result.stall_max_ms = round(max(stalls, default=math.nan), 1)
    if stalls:
        result.stall_p50_ms = round(statistics.median(stalls), 1)
    return result


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, e.g. 200x60 (got {text!r})"
        ) from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=Config.seconds)
    parser.add_argument("--streams", type=int, default=Config.streams)
    parser.add_argument("--tokens-per-s", type=float, default=Config.tokens_per_s)
    parser.add_argument("--tokens-per-delta", type=int, default=Config.tokens_per_delta)
    parser.add_argument("--size", type=_size, default=Config.size, metavar="WxH")
    parser.add_argument("--key-every", type=float, default=Config.key_every, metavar="S")
    parser.add_argument("--source", choices=("fake", "simulator"), default=Config.source)
    parser.add_argument("--no-render-output", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    cfg = Config(
        seconds=args.seconds,
        streams=args.streams,
        tokens_per_s=args.tokens_per_s,
        tokens_per_delta=args.tokens_per_delta,
        size=args.size,
        key_every=args.key_every,
        source=args.source,
        render_output=not args.no_render_output,
    )
    result = asyncio.run(measure(cfg))
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        print(
            f"{cfg.streams} streams x {cfg.tokens_per_s:g} tok/s for {cfg.seconds:g}s at "
            f"{cfg.size[0]}x{cfg.size[1]} ({cfg.source})\n"
            f"  key latency   p50 {result.key_p50_ms} ms   p99 {result.key_p99_ms} ms   "
            f"max {result.key_max_ms} ms   ({result.keys_answered}/{result.keys_pressed} keys)\n"
            f"  loop stall    p50 {result.stall_p50_ms} ms   p99 {result.stall_p99_ms} ms   "
            f"max {result.stall_max_ms} ms\n"
            f"  CPU           {result.cpu_percent}%\n"
            f"  sent          {result.deltas_sent} deltas, {result.chars_sent} chars\n"
            f"  backlog       {result.backlog_messages} messages, {result.backlog_chars} chars\n"
            f"  text intact   {result.text_intact}" + "".join(f"\n  ! {p}" for p in result.problems)
        )
    return 0 if result.text_intact else 1


if __name__ == "__main__":
    raise SystemExit(main())
