"""The apps that ``benchmarks/keys.py`` runs in tmux (a real terminal, measured from outside).

    python -m benchmarks.tty_apps bare                 # the calibration: a Static and a Footer
    python -m benchmarks.tty_apps stream --streams 7 --tokens-per-s 100

``bare`` is the floor every figure is compared with: a Textual app with a Static and a Footer
whose text flips on ``f`` (and on Esc). ``stream`` is `mao demo`'s own path (``MaoApp`` on an
``OpenSession`` of the real engine, SDKs and store against the built-in simulator) with a
playbook of ``--streams`` workstreams, every simulated model at ``--tokens-per-s``, no scripted
faults.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BARE_TEXT = ("bare app: state A", "bare app: state B")


def run_bare() -> int:
    from textual.app import App, ComposeResult
    from textual.binding import Binding, BindingType
    from textual.widgets import Footer, Static

    class Bare(App[None]):
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("f", "flip", "Flip"),
            Binding("escape", "flip", "Flip", show=False),  # Esc's own floor (see keys.py)
        ]

        def compose(self) -> ComposeResult:
            yield Static(BARE_TEXT[0], id="text")
            yield Footer()

        def action_flip(self) -> None:
            text = self.query_one("#text", Static)
            state = 1 - int(str(text.content) == BARE_TEXT[1])
            text.update(BARE_TEXT[state])

    Bare().run()
    return 0


def run_stream(streams: int, tokens_per_s: float) -> int:
    from benchmarks.responsiveness import Config, simulator_session
    from mao_tui.service.live_session import AppBackend
    from mao_tui.tui.app import MaoApp

    with tempfile.TemporaryDirectory(prefix="mao-bench-tty-") as tmpdir:
        cfg = Config(streams=streams, tokens_per_s=tokens_per_s, source="simulator")
        session, launch, _keys = simulator_session(cfg, Path(tmpdir))
        app = MaoApp(
            session.run,
            control=session,
            simulated=True,
            title="mao · develop",
            backend=AppBackend(launch),
        )
        app.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="app", required=True)
    sub.add_parser("bare")
    stream = sub.add_parser("stream")
    stream.add_argument("--streams", type=int, default=7)
    stream.add_argument("--tokens-per-s", type=float, default=100.0)
    args = parser.parse_args(argv)
    if args.app == "bare":
        return run_bare()
    return run_stream(args.streams, args.tokens_per_s)


if __name__ == "__main__":
    raise SystemExit(main())
