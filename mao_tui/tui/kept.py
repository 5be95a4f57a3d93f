"""Dialogs built once and shown again: the second time, nothing is composed, mounted or styled.

Opening the help or the model picker while seven models stream cost ~40 ms from key to frame,
half of it building the dialog (its widgets, their styles, their first render). A kept dialog
is installed in the app, so closing it only takes it off the stack and the next press pushes
the same screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App
from textual.screen import Screen

S = TypeVar("S", bound=Screen[Any])


def kept(app: App[Any], name: str, kind: type[S], make: Callable[[], S] | None = None) -> S:
    """The ``kind`` of screen installed as ``name``; made (by ``make``, else ``kind()``) the
    first time it is asked for."""
    if app.is_screen_installed(name):
        screen = app.get_screen(name)
        if isinstance(screen, kind):
            return screen
        app.uninstall_screen(name)
    screen = make() if make is not None else kind()
    app.install_screen(screen, name)
    return screen
