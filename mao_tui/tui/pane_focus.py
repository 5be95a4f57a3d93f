"""The pane that holds the focus, marked ``-focused`` (its border brightens).

A ``:focus-within`` rule would say the same, but Textual then styles the pane's whole subtree
again at every focus change inside it: Home's form (27 nodes, ~8 ms before the first frame and at
each Tab between its fields), and on the dashboard the plan table a second time at each move
between the plan and a panel, with the six nodes Textual makes for its component classes. The
``-focused`` rules style only the pane itself, so only the pane is styled again.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

FOCUSED = "-focused"


def mark_focused_pane(screen: Screen[Any], panes: str) -> None:
    """``-focused`` on whichever of ``panes`` (a selector) holds the screen's focus, off the
    others."""
    focused = screen.focused
    holders = set(focused.ancestors_with_self) if focused is not None else set()
    changed = []
    for pane in screen.query(panes):
        inside = pane in holders
        if pane.has_class(FOCUSED) != inside:
            pane.set_class(inside, FOCUSED, update=False)
            changed.append(pane)
    if changed:
        screen.app.stylesheet.update_nodes(changed, animate=True)
