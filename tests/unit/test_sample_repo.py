"""The sample repository for the demo on a real code base: one test fails for want of a feature,
and the scripted hunks, applied in a session worktree and landed, make every test pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mao_tui.engine.apply import apply_all, plan_changes
from mao_tui.engine.edits import synthesis_edits
from mao_tui.repo.map import build_map, relevant_files
from mao_tui.repo.tag_cache import TagCache
from mao_tui.repo.worktree import commit_changes, create_worktree, land
from mao_tui.samples.sample_repo import (
    SAMPLE_EDITS,
    SAMPLE_TASK,
    sample_repo_files,
    write_sample_repo,
)


def _pytest(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=root, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def test_the_sample_has_code_tests_and_one_failing_test(tmp_path: Path) -> None:
    files = sample_repo_files()
    assert {"invoices/models.py", "invoices/store.py", "tests/test_export.py"} <= set(files)
    assert not any(name.endswith(".txt") for name in files)
    root = write_sample_repo(tmp_path / "sample")
    assert "1 failed, 3 passed" in _pytest(root)
    with pytest.raises(ValueError, match="not an empty folder"):
        write_sample_repo(root)


def test_the_map_of_the_sample_points_at_the_code_the_task_needs(tmp_path: Path) -> None:
    root = write_sample_repo(tmp_path / "sample")
    repo_map = build_map(root, SAMPLE_TASK, 512, TagCache(None))
    assert repo_map is not None
    assert repo_map.ranked_files[0] == "tests/test_export.py"
    assert "  def to_csv" not in repo_map.text  # it does not exist yet
    assert "invoices/store.py:\n  class DuplicateInvoice(ValueError)\n  class InvoiceStore\n" in (
        repo_map.text
    )
    chosen = relevant_files(repo_map.tags, SAMPLE_TASK, 3)
    assert chosen == ["tests/test_export.py", "invoices/store.py", "invoices/models.py"]


async def test_the_scripted_hunks_pass_the_tests_in_a_worktree_and_land(tmp_path: Path) -> None:
    root = write_sample_repo(tmp_path / "sample")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    wt = await create_worktree(root, "01JDEMO0SESSION", parent=tmp_path / "worktrees")
    inside = Path(wt.path)
    edits = synthesis_edits(inside, SAMPLE_EDITS)
    assert edits.rejected == [] and edits.hunks == 3
    changes = plan_changes(inside, edits.files)
    assert sorted((c.path, c.kind) for c in changes) == [
        ("README.md", "modify"),
        ("invoices/__init__.py", "modify"),
        ("invoices/export.py", "create"),
    ]
    apply_all(inside, changes, tmp_path / "backups")
    assert "4 passed" in _pytest(inside)
    await commit_changes(wt, "mao: CSV export of invoices")
    assert not (root / "invoices" / "export.py").exists()  # the user's tree is untouched
    landed = await land(wt)
    assert landed.files == ("README.md", "invoices/__init__.py", "invoices/export.py")
    log = subprocess.run(
        ["git", "log", "--format=%H %s", "-2"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert log[0].endswith("mao: CSV export of invoices") and log[1].startswith(head.strip())
    assert "4 passed" in _pytest(root)
