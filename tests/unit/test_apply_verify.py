"""Applying a synthesis's files safely, and running verification commands."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from mao_tui.engine.apply import apply_changes, plan_changes
from mao_tui.engine.files import FileBlock, extract_files
from mao_tui.engine.verify import run_command

ANSWER = """\
Here is the merged code.

```python
# snippets/schemas.py
class Snippet: ...
```

### `snippets/store.py`

```python
def save(): ...
```

File: README.md
```markdown
# Snippets
```

```python
print("no path: not a file")
```

```python
# snippets/schemas.py
class Snippet:
    title: str
```
"""


def test_files_are_found_by_path_comment_or_path_line_and_the_last_wins() -> None:
    files = {f.path: f.content for f in extract_files(ANSWER)}
    assert list(files) == ["snippets/store.py", "README.md", "snippets/schemas.py"]
    assert files["snippets/schemas.py"] == "# snippets/schemas.py\nclass Snippet:\n    title: str\n"
    assert files["snippets/store.py"] == "def save(): ...\n"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.py", "climbs out with .."),
        ("src/../../outside.py", "climbs out with .."),
        (".git/hooks/pre-commit", "is inside .git/"),
        ("escape/evil.py", "leaves the workspace through a symlink"),
        ("gitlink/config", "is inside .git/ through a symlink"),
    ],
)
def test_writes_outside_the_workspace_are_refused(tmp_path: Path, path: str, reason: str) -> None:
    root = tmp_path / "ws"
    (root / ".git").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "gitlink").symlink_to(root / ".git")
    (change,) = plan_changes(root, [FileBlock(path, "x\n")])
    assert (change.kind, change.reason) == ("refused", reason)
    assert apply_changes(root, [change], tmp_path / "backup") == []
    assert list(outside.iterdir()) == []


def test_apply_backs_up_replaces_atomically_and_shows_a_diff(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "old.py").write_text("a = 1\n")
    os.chmod(root / "pkg" / "old.py", 0o640)
    (root / "same.py").write_text("same\n")
    blocks = [FileBlock("pkg/old.py", "a = 2\n"), FileBlock("pkg/new/mod.py", "b = 1\n"),
              FileBlock("same.py", "same\n")]  # fmt: skip
    changes = plan_changes(root, blocks)
    assert [c.kind for c in changes] == ["modify", "create", "unchanged"]
    assert "-a = 1\n+a = 2\n" in changes[0].diff
    assert changes[1].diff.startswith("--- /dev/null\n+++ b/pkg/new/mod.py")
    written = apply_changes(root, changes, tmp_path / "backup")
    assert written == ["pkg/old.py", "pkg/new/mod.py"]
    assert (root / "pkg" / "old.py").read_text() == "a = 2\n"
    assert (root / "pkg" / "old.py").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "backup" / "pkg" / "old.py").read_text() == "a = 1\n"
    assert not [p for p in root.rglob("*.mao")]  # no temporary files left


async def test_a_command_runs_without_a_shell_and_streams_its_output(tmp_path: Path) -> None:
    lines: list[str] = []

    async def on_line(line: str) -> None:
        lines.append(line)

    code = "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)"
    result = await run_command([sys.executable, "-c", code], tmp_path, 30, on_line)
    assert (result.exit_code, result.ok, result.timed_out) == (3, False, False)
    assert sorted(lines) == ["one", "two"]
    shell = await run_command(["echo", "$HOME;", "rm", "-rf", "x"], tmp_path, 30, on_line)
    assert shell.output == "$HOME; rm -rf x"  # arguments, never a shell


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time;"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(c.pid));"
        "print('started', flush=True); time.sleep(60)"
    )

    child: int | None = None

    async def on_line(line: str) -> None:
        nonlocal child
        if line == "started":  # the child's pid is on disk: watch it before the kill
            child = os.pidfd_open(int(pid_file.read_text()))

    result = await run_command([sys.executable, "-c", code], tmp_path, 1.5, on_line)
    assert result.timed_out and result.exit_code is None
    assert child is not None
    # A pidfd becomes readable when its process has ended: an event to await, not a sleep.
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(child, ended.set)
    try:
        await asyncio.wait_for(ended.wait(), 10)
    finally:
        loop.remove_reader(child)
        os.close(child)


async def test_a_missing_command_is_reported_not_raised(tmp_path: Path) -> None:
    async def on_line(line: str) -> None:
        return None

    result = await run_command(["no-such-tool-xyz"], tmp_path, 5, on_line)
    assert result.exit_code is None and "cannot run 'no-such-tool-xyz'" in result.error
