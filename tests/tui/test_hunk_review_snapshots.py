"""The hunk review of the apply view as SVG snapshots, wide (side by side) and narrow (unified).

The proposal is the sample repository's (mao demo --repo) with three more hunks on
invoices/store.py: one accepted, one declined (r), one whose SEARCH matches nothing. Its
workspace is shown as a fixed path, so the picture never varies. After an intended change:
``pytest tests/tui/test_hunk_review_snapshots.py --snapshot-update``, look at the SVGs, then
``python scripts/screenshots.py --snapshots-only``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.apply_fix import workbench_over
from textual.app import App
from textual.pilot import Pilot

from mao_tui.domain import ApplyProposal
from mao_tui.samples.sample_repo import SAMPLE_EDITS, write_sample_repo
from mao_tui.tui.apply_screen import ApplyScreen

SnapCompare = Callable[..., bool]
WIDE, NARROW = (160, 44), (100, 40)

STORE_EDITS = '''invoices/store.py
<<<<<<< SEARCH
    def get(self, number: str) -> Invoice | None:
        return self._invoices.get(number)
=======
    def get(self, number: str) -> Invoice | None:
        """The invoice numbered ``number`` (spaces around it ignored), or None."""
        return self._invoices.get(number.strip())
>>>>>>> REPLACE

invoices/store.py
<<<<<<< SEARCH
        return sorted(self._invoices.values(), key=lambda invoice: invoice.number)
=======
        return sorted(
            self._invoices.values(), key=lambda invoice: (invoice.customer, invoice.number)
        )
>>>>>>> REPLACE

invoices/store.py
<<<<<<< SEARCH
    def remove(self, number: str) -> None:
        del self._invoices[number]
=======
    def remove(self, number: str) -> Invoice:
        return self._invoices.pop(number)
>>>>>>> REPLACE
'''


@pytest.fixture
def proposal(tmp_path: Path) -> ApplyProposal:
    repo = write_sample_repo(tmp_path / "sample")
    bench, _ = workbench_over(repo, SAMPLE_EDITS + "\n" + STORE_EDITS)
    return bench.propose().model_copy(update={"workspace": "/home/user/invoices"})


class _Host(App[None]):
    def __init__(self, proposal: ApplyProposal) -> None:
        super().__init__()
        self.proposal = proposal

    def on_mount(self) -> None:
        self.push_screen(ApplyScreen(self.proposal))


async def _on_store(pilot: Pilot[Any]) -> None:
    """store.py shown, its second hunk declined and under the cursor."""
    screen = pilot.app.screen
    assert isinstance(screen, ApplyScreen)
    await pilot.press("down", "down", "down")  # export.py, __init__.py, README.md, store.py
    await pilot.pause()
    assert screen.file is not None and screen.file.path == "invoices/store.py"
    await pilot.press("j", "r")
    await pilot.pause()


def test_snapshot_hunk_review_wide(snap_compare: SnapCompare, proposal: ApplyProposal) -> None:
    assert snap_compare(_Host(proposal), terminal_size=WIDE, run_before=_on_store)


def test_snapshot_hunk_review_narrow(snap_compare: SnapCompare, proposal: ApplyProposal) -> None:
    assert snap_compare(_Host(proposal), terminal_size=NARROW, run_before=_on_store)
