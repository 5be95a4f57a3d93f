"""Figure 5, history at scale: listing, the History screen, full-text search, persisting deltas.

A database of 10,000 sessions (~30 KB of text each: spec, plan, five workstreams' thinking and
answers, synthesis; one in ten with a failed attempt and a fallback) is written through the
store's own write path (``write_event`` and the sink's text append, so every migration's triggers
and indexes, FTS included, are maintained as in real use), many sessions per transaction. The
text is the simulator's scripts with words varied per session, a topic word shared by 1% of
sessions and a reference word unique to each. It is cached between runs (keyed by the schema).

Measured: ``mao sessions`` (the command, wall time) and the store's list query alone; the History
screen's open time (push → first results painted); searches for a unique word, a 1% word and a
word in every session; and the CPU a streaming session costs with the store's sink against
without it (the real engine and SDKs; the simulator runs in another process so that its CPU is
not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import hashlib
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.figures import BenchResult, Figure, Goal, median, profile_lines
from mao_tui.domain import (
    SYNTHESIS_KEY,
    AttemptFinished,
    AttemptStarted,
    AttemptStatus,
    EngineEvent,
    FallbackEvent,
    Plan,
    PlanReady,
    SessionFinished,
    SessionStarted,
    SessionStatus,
    SynthesisFinished,
    TokenTotals,
    WorkstreamFinished,
    WorkstreamStatus,
    new_id,
)
from mao_tui.engine.rule_plan import rule_based_plan
from mao_tui.samples import DEMO_TASK, demo_spec
from mao_tui.settings.loader import load_settings, shipped_config_dir
from mao_tui.settings.schema import Settings
from mao_tui.simulator.scripts import script_for
from mao_tui.store import Store
from mao_tui.store.migrations import MIGRATIONS
from mao_tui.store.streamed import APPEND_TEXT
from mao_tui.store.writes import write_event

SESSIONS = 10_000
PER_TRANSACTION = 50
SEED_VERSION = 1  # bump when the seeded content changes
LIST_GOAL = Goal("<=", 100, "≤ 100 ms")
SEARCH_GOAL = Goal("<=", 50, "≤ 50 ms")
PERSIST_GOAL = Goal("<=", 5, "≤ 5% extra CPU")
COMMON_WORD = "ranking"  # in the core logic's answer: every session
TOPICS = 100  # each topic word is in 1% of the sessions
REPEATS = 7

_WORD = re.compile(r"[A-Za-z]{5,}")


# -- the seeded database ----------------------------------------------------------------------


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ru", "te", "so", "va", "ne", "pi", "dr", "qu", "zo", "xe", "fa"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(3, 5))))
    return sorted(words)


def _vary(text: str, rng: random.Random, vocab: list[str], share: float = 0.08) -> str:
    return _WORD.sub(lambda m: rng.choice(vocab) if rng.random() < share else m.group(0), text)


class Corpus:
    """Per-workstream variants of the simulator's scripts, built once."""

    VARIANTS = 40

    def __init__(self, rng: random.Random) -> None:
        self.vocab = _pseudo_words(rng, 5000)
        self.topics = [f"topic{w}" for w in _pseudo_words(rng, TOPICS)]
        keys = ["schemas", "storage", "core_logic", "implementation", "tests", SYNTHESIS_KEY]
        self.variants: dict[str, list[tuple[str, str]]] = {}
        for key in keys:
            script = script_for(key)
            self.variants[key] = [
                (_vary(script.thinking, rng, self.vocab), _vary(script.answer, rng, self.vocab))
                for _ in range(self.VARIANTS)
            ]

    def text(self, key: str, rng: random.Random) -> tuple[str, str]:
        return rng.choice(self.variants[key])


def unique_word(index: int) -> str:
    return f"ref{index:05d}zq"


def session_events(
    index: int, plan: Plan, corpus: Corpus, rng: random.Random, at: datetime
) -> Iterator[EngineEvent | tuple[str, str, str]]:
    """One finished session as the engine would emit it; ``(attempt_id, thinking, answer)``
    tuples stand for the streamed text the sink appends before the attempt's end."""
    sid = new_id()
    topic = corpus.topics[index % TOPICS]
    tick = iter(range(1, 10_000))

    def later() -> datetime:
        return at + timedelta(seconds=next(tick))

    yield SessionStarted(
        session_id=sid,
        at=at,
        command="develop",
        playbook="develop",
        task=f"{DEMO_TASK} Focus: {topic} ({unique_word(index)}).",
        simulated=index % 3 == 0,
        project_dir=f"/home/dev/project{index % 7}",
        spec_text=demo_spec(),
    )
    yield PlanReady(session_id=sid, at=later(), plan=plan)
    usage = TokenTotals(input_tokens=4200, output_tokens=1900, thinking_tokens=600, cost_usd=0.04)
    for ws in [*plan.workstreams, plan.synthesis]:
        chain = ws.chain
        thinking, answer = corpus.text(ws.key, rng)
        if ws.key == "core_logic":
            answer += f"\n\nTracking: {topic}, {unique_word(index)}.\n"
        failed_first = ws.key == "schemas" and index % 10 == 0 and len(chain) > 1
        models = [chain[0], chain[1]] if failed_first else [chain[0]]
        for n, model in enumerate(models, start=1):
            attempt = new_id()
            yield AttemptStarted(
                session_id=sid,
                at=later(),
                attempt_id=attempt,
                workstream=ws.key,
                model=model,
                provider="anthropic",
                api_model=model,
                attempt_no=n,
                thinking=True,
            )
            ok = n == len(models)
            yield attempt, thinking, answer if ok else answer[: len(answer) // 3]
            yield AttemptFinished(
                session_id=sid,
                at=later(),
                attempt_id=attempt,
                workstream=ws.key,
                model=model,
                status=AttemptStatus.OK if ok else AttemptStatus.FAILED,
                error_kind=None if ok else "timeout",
                error_message=None if ok else "no data for 3.0 s",
                usage=usage,
                elapsed_s=9.5,
            )
            if not ok:
                yield FallbackEvent(
                    session_id=sid,
                    at=later(),
                    workstream=ws.key,
                    workstream_title=ws.title,
                    from_model=model,
                    to_model=models[n],
                    reason="timeout",
                )
        if ws.key == SYNTHESIS_KEY:
            yield SynthesisFinished(
                session_id=sid,
                at=later(),
                model=models[-1],
                status=WorkstreamStatus.DONE,
                text=answer,
                usage=usage,
            )
        else:
            yield WorkstreamFinished(
                session_id=sid,
                at=later(),
                workstream=ws.key,
                model=models[-1],
                status=WorkstreamStatus.DONE,
                usage=usage,
            )
    yield SessionFinished(
        session_id=sid, at=later(), status=SessionStatus.DONE, totals=usage, elapsed_s=48.0
    )


async def seed(path: Path, count: int, settings: Settings) -> None:
    """Write ``count`` sessions through the store's write path."""
    rng = random.Random(8)
    corpus = Corpus(rng)
    plan = rule_based_plan(settings, "develop")
    newest = datetime(2026, 11, 1, tzinfo=UTC)
    spacing = timedelta(days=365) / max(count, 1)
    store = await Store.open(path)
    try:
        for first in range(0, count, PER_TRANSACTION):
            async with store.transaction() as conn:
                for index in range(first, min(first + PER_TRANSACTION, count)):
                    at = newest - spacing * (count - index)
                    for item in session_events(index, plan, corpus, rng, at):
                        if isinstance(item, tuple):
                            attempt, thinking, answer = item
                            await conn.execute(APPEND_TEXT, (thinking, answer, attempt))
                        else:
                            await write_event(conn, item)
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _schema_key() -> str:
    digest = hashlib.sha256("\n".join(MIGRATIONS).encode()).hexdigest()[:12]
    return f"v{len(MIGRATIONS)}-{digest}-s{SEED_VERSION}"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mao-benchmarks"


def seeded_db(count: int, settings: Settings, where: Path | None) -> tuple[Path, float | None]:
    """The seeded database (from the cache when it is there) and the seconds seeding took."""
    directory = where or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"history-{count}-{_schema_key()}.db"
    if path.exists():
        return path, None
    partial = path.with_suffix(".partial")
    for leftover in directory.glob(partial.name + "*"):
        leftover.unlink()
    t0 = time.perf_counter()
    asyncio.run(seed(partial, count, settings))
    seconds = time.perf_counter() - t0
    partial.rename(path)
    return path, seconds


# -- the measurements ------------------------------------------------------------------------


def _ms_runs(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up: caches, the page cache
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _with_store(db: Path, action: Callable[[Store], Awaitable[object]]) -> Callable[[], object]:
    async def go() -> object:
        store = await Store.open(db)
        try:
            await store.mark_interrupted()
            return await action(store)
        finally:
            await store.close()

    return lambda: asyncio.run(go())


def _mao(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("mao")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "mao_tui", *args]


def measure_list(db: Path, repeats: int) -> list[Figure]:
    from benchmarks.startup import by_package, importtime_of, top_level_ms

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAO_")}

    def command() -> None:
        subprocess.run(_mao("sessions", "--db", str(db)), env=env, capture_output=True, check=True)

    command_ms = _ms_runs(command, repeats)
    query_ms = _ms_runs(_with_store(db, lambda s: s.list_sessions(30)), repeats)
    statement = (
        f"import sys; sys.argv = ['mao', 'sessions', '--db', {str(db)!r}]; "
        "from mao_tui.cli import main; main()"
    )
    imports = importtime_of(statement, env)
    command_fig = Figure(
        "history.sessions_command_ms",
        f"`mao sessions` over {db_sessions(db):,} sessions (command wall time), median of "
        f"{repeats}",
        round(median(command_ms), 1),
        "ms",
        LIST_GOAL,
        detail=f"min {min(command_ms):.0f}, max {max(command_ms):.0f} ms; its imports take "
        f"{top_level_ms(imports):.0f} ms (python -X importtime), the store's work "
        f"{median(query_ms):.0f} ms",
    )
    if command_fig.value is not None and command_fig.value > LIST_GOAL.value:
        command_fig.dominated_by = [
            f"imports: {top_level_ms(imports):.0f} ms; by package (self): "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in by_package(imports)[:8]),
            "slowest modules (self): "
            + ", ".join(f"{n} {us / 1000:.0f} ms" for us, _c, _d, n in sorted(imports)[-6:][::-1]),
            f"the store's work (open, mark interrupted, list 30): {median(query_ms):.0f} ms",
        ]
    query_fig = Figure(
        "history.list_query_ms",
        f"list query alone (open store, mark interrupted, 30 newest), median of {repeats}",
        round(median(query_ms), 1),
        "ms",
        LIST_GOAL,
    )
    return [command_fig, query_fig]


def db_sessions(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])


def measure_search(db: Path, corpus_seed_topics: list[str], repeats: int) -> Figure:
    figure_id = "history.search_ms"
    if not hasattr(Store, "search_sessions"):
        return Figure(
            figure_id,
            "full-text search",
            None,
            "ms",
            SEARCH_GOAL,
            status="not built",
            detail="not built yet: the store has no search_sessions()",
        )
    count = db_sessions(db)
    queries = {
        "a word in one session": unique_word(count // 2),
        "a word in 1% of sessions": corpus_seed_topics[7],
        "a word in every session": COMMON_WORD,
    }
    rows = []
    worst = ("", 0.0)
    for kind, word in queries.items():
        hits: list[Any] = []

        async def search(store: Store, word: str = word, hits: list[Any] = hits) -> None:
            hits[:] = await store.search_sessions(word)

        ms = median(_ms_runs(_with_store(db, search), repeats))
        rows.append(f"{kind} ({word!r}): {ms:.1f} ms, {len(hits)} sessions returned")
        if ms > worst[1]:
            worst = (kind, ms)
    open_ms = median(_ms_runs(_with_store(db, lambda s: asyncio.sleep(0)), repeats))
    rows.append(f"(opening and closing the store alone: {open_ms:.1f} ms, included above)")
    return Figure(
        figure_id,
        f"full-text search (store.search_sessions, limit 200), slowest kind: {worst[0]}",
        round(worst[1], 1),
        "ms",
        SEARCH_GOAL,
        detail="\n".join(rows),
    )


def search_profile(db: Path, word: str) -> list[str]:
    """Where a slow search goes: the FTS5 functions timed one by one over every matching row."""
    query = f'"{word}"*'
    parts = {
        "rows matched (count)": "SELECT count(*) FROM search WHERE search MATCH ?",
        "session id of every matching row": (
            "SELECT s.id FROM search JOIN sessions s ON s.search_row = search.rowid"
            " WHERE search MATCH ?"
        ),
        "bm25() of every matching row": (
            "SELECT bm25(search, 10.0, 1.0) FROM search WHERE search MATCH ?"
        ),
        "snippet() of every matching row": (
            "SELECT snippet(search, -1, '[', ']', '…', 12) FROM search WHERE search MATCH ?"
        ),
        "for comparison, the best 200 rows by rank, snippets for those only": (
            "SELECT s.id, snippet(search, -1, '[', ']', '…', 12) FROM search"
            " JOIN sessions s ON s.search_row = search.rowid"
            " WHERE search MATCH ? ORDER BY rank LIMIT 200"
        ),
    }
    lines = [f"the search query's parts, timed alone with sqlite3 for {query}:"]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for label, sql in parts.items():
            t0 = time.perf_counter()
            try:
                rows = conn.execute(sql, (query,)).fetchall()
            except sqlite3.OperationalError as exc:
                lines.append(f"  {label}: {exc}")
                continue
            ms = (time.perf_counter() - t0) * 1000
            n = rows[0][0] if label.startswith("rows") else len(rows)
            lines.append(f"  {label}: {ms:,.0f} ms ({n:,} rows)")
    return lines


def measure_history_screen(db: Path, repeats: int) -> Figure:
    figure_id = "history.screen_open_ms"
    try:
        from mao_tui.service.launch import Launch
        from mao_tui.service.live_session import AppBackend
        from mao_tui.service.ports import HistoryQuery
        from mao_tui.tui.app import MaoApp
        from mao_tui.tui.history import HistoryScreen
    except ImportError as exc:
        return Figure(
            figure_id,
            "History screen open time",
            None,
            "ms",
            status="not built",
            detail=f"not built yet ({exc})",
        )

    async def once(profiler: cProfile.Profile | None = None) -> float:
        with tempfile.TemporaryDirectory() as project:
            launch = Launch(project_dir=Path(project), config_dir=None, db_path=db)
            app = MaoApp(backend=AppBackend(launch))
            async with app.run_test(size=(200, 60)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                if profiler is not None:
                    profiler.enable()
                t0 = time.perf_counter()
                app.action_history()
                while not (isinstance(app.screen, HistoryScreen) and app.screen.searches):
                    await asyncio.sleep(0.002)
                painted = asyncio.Event()
                app.screen.call_after_refresh(painted.set)
                await painted.wait()
                elapsed = (time.perf_counter() - t0) * 1000
                if profiler is not None:
                    profiler.disable()
        return elapsed

    times = [asyncio.run(once()) for _ in range(repeats + 1)][1:]
    backend = AppBackend(Launch(project_dir=Path.cwd(), config_dir=None, db_path=db))
    query_ms = median(_ms_runs(lambda: asyncio.run(backend.search(HistoryQuery())), repeats))
    figure = Figure(
        figure_id,
        "History screen open time (key → first results painted, headless 200x60), "
        f"median of {repeats}",
        round(median(times), 1),
        "ms",
        Goal("<=", LIST_GOAL.value, f"{LIST_GOAL.text} (the list goal)"),
        detail=f"min {min(times):.0f}, max {max(times):.0f} ms; of which the backend's query "
        f"(open the store, the {HistoryQuery().limit} newest sessions): {query_ms:.0f} ms",
    )
    if repeats > 1 and figure.value is not None and figure.value > LIST_GOAL.value:
        profiler = cProfile.Profile()
        asyncio.run(once(profiler))
        figure.dominated_by = [
            f"the backend's query: {query_ms:.0f} ms; cProfile of one open (key → painted), "
            "mao_tui frames by cumulative time:",
            *profile_lines(profiler, limit=6, sort="cumtime", only=("mao_tui/",)),
            "all frames by own time:",
            *profile_lines(profiler, limit=6),
        ]
    return figure


# -- persisting deltas: CPU with and without the store ---------------------------------------

_SIMULATOR = """
import asyncio, sys
from mao_tui.simulator.server import Simulator
async def main():
    sim = Simulator(speed=float(sys.argv[1]))
    await sim.start()
    print(sim.base_url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sim.stop()
asyncio.run(main())
"""


@contextlib.contextmanager
def simulator_process(speed: float) -> Iterator[str]:
    """The simulator in a child process (its CPU is not ours); yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SIMULATOR, str(speed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None


REPLAY_SPEEDUP = 10.0


@dataclass
class StreamingRun:
    cpu_s: float
    wall_s: float
    events: list[tuple[float, EngineEvent]]  # (seconds since the start, event) as a sink saw them


async def streaming_session(base_url: str) -> StreamingRun:
    """One real develop session without the store: its CPU, and its events for replays."""
    from mao_tui.engine.pool import ProviderPool
    from mao_tui.engine.session import SessionRequest, SessionRun
    from mao_tui.service.launch import simulator_env, simulator_overlay

    base = load_settings([shipped_config_dir()])
    settings = load_settings([shipped_config_dir()], simulator_overlay(base, base_url))
    loop = asyncio.get_running_loop()
    events: list[tuple[float, EngineEvent]] = []
    t0 = loop.time()

    async def output(event: EngineEvent) -> None:  # stands for the dashboard or headless output
        events.append((loop.time() - t0, event))

    pool = ProviderPool(settings, simulator_env(settings))
    engine = SessionRun(settings, pool, [output])
    req = SessionRequest(
        command="develop",
        playbook="develop",
        task=DEMO_TASK,
        spec_text=demo_spec(),
        simulated=True,
        use_planner=False,
    )
    try:
        cpu0, t0 = time.process_time(), loop.time()
        await engine.run(req, rule_based_plan(settings, "develop"))
        cpu1, t1 = time.process_time(), loop.time()
    finally:
        await pool.aclose()
    return StreamingRun(cpu1 - cpu0, t1 - t0, events)


async def replay(
    events: list[tuple[float, EngineEvent]],
    db: Path | None,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, float]:
    """(process CPU s, event-loop thread CPU s) of handing a recorded session's events to the
    store's sink (to nothing when ``db`` is None), ``REPLAY_SPEEDUP`` times faster than they came,
    with the sink's flush interval shortened as much: the same transactions, in less time."""
    from mao_tui.store.sink import FLUSH_INTERVAL_S

    store = await Store.open(db) if db is not None else None
    sink = store.sink(flush_interval=FLUSH_INTERVAL_S / REPLAY_SPEEDUP) if store else None
    loop = asyncio.get_running_loop()
    try:
        if profiler is not None:
            profiler.enable()
        cpu0, thread0, t0 = time.process_time(), time.thread_time(), loop.time()
        for offset, event in events:
            delay = t0 + offset / REPLAY_SPEEDUP - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if sink is not None:
                await sink(event)
        if sink is not None:
            await sink.aclose()  # the last flush is part of what persisting costs
        cpu1, thread1 = time.process_time(), time.thread_time()
        if profiler is not None:
            profiler.disable()
    finally:
        if store is not None:
            await store.close()
    return cpu1 - cpu0, thread1 - thread0


def measure_persistence(smoke: bool) -> Figure:
    speed = 0.0 if smoke else 3.0  # 0: unpaced
    sessions, replays = (1, 1) if smoke else (3, 10)
    with tempfile.TemporaryDirectory(prefix="mao-bench-persist-") as tmp:
        with simulator_process(0.0) as fast:
            asyncio.run(streaming_session(fast))  # warm-up: SDK imports, first clients
        with simulator_process(speed) as url:
            runs = [asyncio.run(streaming_session(url)) for _ in range(sessions)]
        events = runs[0].events
        stored: list[tuple[float, float]] = []
        bare: list[tuple[float, float]] = []
        for i in range(replays):  # interleaved: a slower phase of the machine weighs on both
            stored.append(asyncio.run(replay(events, Path(tmp) / f"{i}.db")))
            bare.append(asyncio.run(replay(events, None)))
        profiler = cProfile.Profile()
        asyncio.run(replay(events, Path(tmp) / "profiled.db", profiler))
    base_cpu = median(r.cpu_s for r in runs)
    wall = median(r.wall_s for r in runs)
    store_cpu = median(c for c, _ in stored) - median(c for c, _ in bare)
    loop_cpu = median(t for _, t in stored) - median(t for _, t in bare)
    extra = 100 * store_cpu / base_cpu
    deltas = sum(1 for _, e in events if e.type == "delta")
    figure = Figure(
        "history.persist_cpu_pct",
        "extra CPU for persisting a streaming session (the store's sink over the session's "
        "own CPU)",
        round(extra, 1),
        "%",
        PERSIST_GOAL,
        detail=(
            f"a {wall:.1f} s develop session ({len(events):,} events, {deltas:,} deltas) costs "
            f"{base_cpu:.2f} s CPU without the store (median of {sessions}; the real engine and "
            f"SDKs, headless, the simulator at speed {speed:g} in another process); the store's "
            f"sink costs {1000 * store_cpu:.0f} ms on that session's events (median of "
            f"{replays} replays at {REPLAY_SPEEDUP:g}x speed, flush interval scaled to match), "
            f"{100 * store_cpu / wall:.1f}% of one core"
            + (" (below zero: less than this measurement's noise)" if store_cpu < 0 else "")
        ),
    )
    if not smoke and extra > PERSIST_GOAL.value:
        figure.dominated_by = [
            f"of the store's {1000 * store_cpu:.0f} ms: {1000 * loop_cpu:.0f} ms in the event "
            f"loop's thread, {1000 * (store_cpu - loop_cpu):.0f} ms in SQLite's thread (SQL, "
            "FTS indexing, commits)",
            "cProfile of one replay (the event loop's thread), by own time:",
            *profile_lines(profiler, limit=8),
        ]
    return figure


# -- the benchmark ----------------------------------------------------------------------------


def run(*, smoke: bool = False, sessions: int | None = None) -> BenchResult:
    result = BenchResult("history", "", [])
    count = sessions or (30 if smoke else SESSIONS)
    repeats = 1 if smoke else REPEATS
    settings = load_settings([shipped_config_dir()])
    with tempfile.TemporaryDirectory(prefix="mao-bench-history-") as tmp:
        db, seeded_s = seeded_db(count, settings, Path(tmp) if smoke else None)
        size_mb = db.stat().st_size / 1e6
        text_mb = _text_mb(db)
        result.notes.append(
            f"database: {count:,} sessions, {size_mb:,.0f} MB on disk, {text_mb:,.0f} MB of text"
            + (f", seeded in {seeded_s:.0f} s" if seeded_s else f", from the cache ({db})")
        )
        result.figures.extend(measure_list(db, repeats))
        topics = Corpus(random.Random(8)).topics
        search = measure_search(db, topics, repeats)
        result.figures.append(search)
        result.figures.append(measure_history_screen(db, repeats))
        if not smoke and search.value is not None and search.value > SEARCH_GOAL.value:
            search.dominated_by = search_profile(db, COMMON_WORD)
    result.figures.append(measure_persistence(smoke))
    return result


def _text_mb(db: Path) -> float:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        spec = " + length(spec_text)" if "spec_text" in columns else ""
        row = conn.execute(
            "SELECT (SELECT coalesce(sum(length(thinking_text) + length(output_text)), 0)"
            " FROM attempts) + (SELECT coalesce(sum(length(text)), 0) FROM syntheses)"
            f" + (SELECT coalesce(sum(length(task) + length(plan_json){spec}), 0) FROM sessions)"
        ).fetchone()
    return float(row[0]) / 1e6
