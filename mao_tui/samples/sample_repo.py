"""A small sample repository for `mao demo` on a real code base (issue 18): an invoicing library
with its tests, one missing feature (CSV export) and the one test that fails for want of it.

The files live in ``invoices_repo/`` with a ``.txt`` suffix, so that no tool of this project
(pytest, ruff, mypy) takes them for its own code. ``SAMPLE_EDITS`` is the change a simulated
synthesis proposes, as search/replace hunks that really apply to a fresh copy: with them the
failing test passes.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from mao_tui.repo.git import run_git

SAMPLE_FOLDER = "invoices_repo"
SAMPLE_TASK = (
    "Add CSV export of invoices: invoices/export.py with to_csv(store), as tests/test_export.py "
    "expects (number, customer, total, paid)."
)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "mao demo",
    "GIT_AUTHOR_EMAIL": "demo@mao.invalid",
    "GIT_COMMITTER_NAME": "mao demo",
    "GIT_COMMITTER_EMAIL": "demo@mao.invalid",
}

SAMPLE_EDITS = '''invoices/export.py
<<<<<<< SEARCH
=======
"""Invoices as CSV: one row per invoice, RFC 4180 quoting, CR LF line endings."""

from __future__ import annotations

import csv
import io

from invoices.models import format_cents
from invoices.store import InvoiceStore

HEADER = ("number", "customer", "total", "paid")


def to_csv(store: InvoiceStore) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\\r\\n")
    writer.writerow(HEADER)
    for invoice in store.all():
        paid = "yes" if invoice.paid else "no"
        writer.writerow((invoice.number, invoice.customer, format_cents(invoice.total_cents), paid))
    return out.getvalue()
>>>>>>> REPLACE

invoices/__init__.py
<<<<<<< SEARCH
"""A small invoicing library."""
=======
"""A small invoicing library: invoices, a store, reports and CSV export."""
>>>>>>> REPLACE

README.md
<<<<<<< SEARCH
Run the tests with `python -m pytest -q`.

Missing: exporting invoices as CSV (`invoices/export.py`, see `tests/test_export.py`).
=======
Run the tests with `python -m pytest -q`.

Export: `invoices.export.to_csv(store)` gives every invoice as a CSV row.
>>>>>>> REPLACE
'''


def _walk(folder: Traversable, prefix: str = "") -> dict[str, str]:
    files: dict[str, str] = {}
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.is_dir():
            if item.name != "__pycache__":
                files.update(_walk(item, f"{prefix}{item.name}/"))
        elif item.name.endswith(".txt"):
            files[prefix + item.name.removesuffix(".txt")] = item.read_text(encoding="utf-8")
    return files


def sample_repo_files() -> dict[str, str]:
    """The sample repository's files: path -> text."""
    return _walk(resources.files(__package__).joinpath(SAMPLE_FOLDER))


def write_sample_repo(target: Path) -> Path:
    """A fresh copy of the sample repository in ``target`` (empty or missing), committed once
    on ``main``; returns its path. ValueError when ``target`` is not empty."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValueError(f"{target} is not an empty folder")
    target.mkdir(parents=True, exist_ok=True)
    for path, text in sample_repo_files().items():
        file = target / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    (target / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n", encoding="utf-8")
    run_git(target, ["init", "-q", "-b", "main"])
    run_git(target, ["add", "-A"])
    run_git(target, ["commit", "-q", "-m", "invoices: models, store, reports"], env=_IDENTITY)
    return target
