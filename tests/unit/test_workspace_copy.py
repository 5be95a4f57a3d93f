"""Outside git, a session's temporary copy: made outside the folder, bounded, and landed back only
when nothing of the user's would be overwritten; a path that leaves the folder, goes into .git or
.mao, or through a symlink is refused (the record's paths come from model output)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mao_tui.repo import workspace_copy
from mao_tui.repo.workspace_copy import (
    commit_copy,
    create_copy,
    land_copy,
    list_copies,
    remove_copy,
)
from mao_tui.repo.worktree import WorktreeError

SESSION = "01jd3f00-aaaa"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "mod.py").write_text("a = 1\n")
    (folder / "other.txt").write_text("mine\n")
    return folder


def test_a_copy_is_made_outside_the_folder_and_recorded(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    copy = asyncio.run(create_copy(folder, SESSION))
    assert not Path(copy.path).is_relative_to(folder)
    assert (Path(copy.path) / "pkg" / "mod.py").read_text() == "a = 1\n"
    assert set(copy.files) == {"pkg/mod.py", "other.txt"}
    assert [c.path for c in list_copies(folder)] == [copy.path]
    with pytest.raises(WorktreeError, match="exists already"):
        asyncio.run(create_copy(folder, SESSION))
    remove_copy(copy)
    assert not Path(copy.path).exists() and list_copies(folder) == []


def test_a_folder_too_large_to_copy_is_refused_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_copy, "MAX_FILES", 1)
    with pytest.raises(WorktreeError, match="make it a git repository, or pass --in-place"):
        asyncio.run(create_copy(_folder(tmp_path), SESSION))


def test_land_refuses_a_file_you_deleted_or_changed_and_writes_nothing(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    copy = asyncio.run(create_copy(folder, SESSION))
    (Path(copy.path) / "pkg" / "mod.py").write_text("a = 2\n")
    (Path(copy.path) / "new.py").write_text("b = 1\n")
    copy = commit_copy(copy, ["pkg/mod.py", "new.py"])
    (folder / "pkg" / "mod.py").unlink()
    with pytest.raises(WorktreeError, match=r"^pkg/mod.py changed in .* nothing was landed"):
        land_copy(copy)
    assert not (folder / "new.py").exists()
    (folder / "pkg" / "mod.py").write_text("a = 1\n")  # back as it was: now it lands
    assert land_copy(copy) == ["new.py", "pkg/mod.py"]
    assert (folder / "pkg" / "mod.py").read_text() == "a = 2\n"


@pytest.mark.parametrize("path", ["../escape.py", "/etc/passwd", ".git/config", "x/.MAO/y"])
def test_a_path_out_of_the_folder_is_never_landed(tmp_path: Path, path: str) -> None:
    folder = _folder(tmp_path)
    copy = commit_copy(asyncio.run(create_copy(folder, SESSION)), [path])
    with pytest.raises(WorktreeError):
        land_copy(copy)
    assert not (tmp_path / "escape.py").exists()


def test_a_symlink_in_your_folder_is_not_followed(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    copy = asyncio.run(create_copy(folder, SESSION))
    (Path(copy.path) / "link").mkdir()
    (Path(copy.path) / "link" / "x.py").write_text("x = 1\n")
    copy = commit_copy(copy, ["link/x.py"])
    (folder / "link").symlink_to(outside)  # made after the copy: a way out of the folder
    with pytest.raises(WorktreeError, match="goes through the symlink"):
        land_copy(copy)
    assert list(outside.iterdir()) == []
