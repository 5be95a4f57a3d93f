"""The Textual dashboard. ``from mao_tui.tui import MaoApp`` imports Textual; this package does not.

The TUI never imports the engine, providers or store: it renders the engine's event stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mao_tui.tui.app import MaoApp, SessionRunner

__all__ = ["MaoApp", "SessionRunner"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mao_tui.tui import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
