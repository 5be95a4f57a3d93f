"""Remake every SVG in screenshots/, in one command.

    python scripts/screenshots.py                  # all of them (about 3 minutes)
    python scripts/screenshots.py --snapshots-only # only the copies of the snapshot tests (seconds)

Two kinds:

* Copies of the accepted snapshot tests (``SNAPSHOTS`` below): the recorded session of
  tests/fixtures/develop_session.py and the simulated sessions of tests/tui/test_snapshots.py, with
  fixed ids, times and sizes. This script copies the SVGs pytest-textual-snapshot keeps in
  tests/tui/__snapshots__; it never accepts a snapshot. After an intended change to a screen, accept
  it first and look at it: ``pytest tests/tui/test_snapshots.py --snapshot-update -k NAME``.
* Shots of the real app on the simulator (``SCRIPTS`` below), each made by its own script:
  the demo live and finished, the journal, the QA report, the apply/verify/fix loop, and a
  raced row's candidates compared.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"
SNAPSHOTS_DIR = ROOT / "tests" / "tui" / "__snapshots__"

# screenshots/NAME.svg ← tests/tui/__snapshots__/MODULE/TEST.svg
SNAPSHOTS: dict[str, str] = {
    "dashboard.svg": "test_tui/test_snapshot_dashboard_200x60.svg",
    "dashboard-80x24.svg": "test_tui/test_snapshot_dashboard_80x24.svg",
    "dashboard-running.svg": "test_snapshots/test_snapshot_running_dashboard.svg",
    "dashboard-finished.svg": "test_snapshots/test_snapshot_finished_dashboard.svg",
    "fallback-detail.svg": "test_snapshots/test_snapshot_fallback_detail.svg",
    "home.svg": "test_snapshots/test_snapshot_home.svg",
    "history.svg": "test_snapshots/test_snapshot_history.svg",
    "review.svg": "test_snapshots/test_snapshot_review.svg",
    "help.svg": "test_snapshots/test_snapshot_help.svg",
    "plan-review.svg": "test_snapshots/test_snapshot_plan_review.svg",
    "model-picker.svg": "test_snapshots/test_snapshot_model_picker.svg",
    "attempts.svg": "test_snapshots/test_snapshot_attempts.svg",
    "export.svg": "test_snapshots/test_snapshot_export.svg",
    "hunk-review.svg": "test_hunk_review_snapshots/test_snapshot_hunk_review_wide.svg",
    "hunk-review-narrow.svg": "test_hunk_review_snapshots/test_snapshot_hunk_review_narrow.svg",
    "compare.svg": "test_compare_snapshots/test_snapshot_compare.svg",
}

# The scripts that run the real app, and what each writes into screenshots/.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "demo_screenshots.py": ("demo-live.svg", "demo-finished.svg"),
    "journal_screenshot.py": ("journal.svg",),
    "qa_screenshot.py": ("qa-report.svg",),
    "apply_screenshots.py": ("apply-diff.svg", "verification.svg"),
    "ledger_screenshot.py": ("ledger.svg",),
    "compare_screenshot.py": ("compare-race.svg",),
}


def copy_snapshots() -> None:
    for name, snapshot in SNAPSHOTS.items():
        source = SNAPSHOTS_DIR / snapshot
        if not source.exists():
            raise SystemExit(f"{source.relative_to(ROOT)} is missing: run its snapshot test first")
        shutil.copyfile(source, OUT / name)
        sys.stdout.write(f"copied {snapshot} → screenshots/{name}\n")


def run_scripts() -> None:
    for script in SCRIPTS:
        subprocess.run([sys.executable, str(ROOT / "scripts" / script)], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--snapshots-only", action="store_true", help="copy the snapshot SVGs; run no real session"
    )
    args = parser.parse_args()
    copy_snapshots()
    if not args.snapshots_only:
        run_scripts()


if __name__ == "__main__":
    main()
