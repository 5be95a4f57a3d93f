"""Issue 18's third Done-when, end to end: headless `develop --apply` on the simulator in a git
repository holding a 2,500-line file. The synthesis answers with two search/replace hunks on it,
one whose SEARCH matches nothing: that hunk is refused with its reason (the `files_applied`
event), the next fix round's prompt carries it, the fix round's hunk applies, and no request
any model received holds the large file whole."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fixtures.git_repo import git

from mao_tui.cli import main
from mao_tui.simulator import server
from mao_tui.simulator.scripts import Script

LINES = 2_500
TASK = "Set line_1200 and line_2000 in big.py to negative values"


def _hunk(search: str, replace: str) -> str:
    return f"big.py\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n\n"


FIRST = _hunk("line_1200 = 1200\n", "line_1200 = -1\n") + _hunk("no such line\n", "x\n")
AFTER_FIX = _hunk("line_2000 = 2000\n", "line_2000 = -2\n")


def test_a_missing_search_is_refused_reaches_the_fix_round_and_the_big_file_is_never_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / ".mao").mkdir(parents=True)
    big = "".join(f"line_{i} = {i}\n" for i in range(LINES))
    (repo / "big.py").write_text(big)
    (repo / ".mao" / "verify.yaml").write_text(
        f"develop:\n  - {{name: ok, argv: [{sys.executable}, -c, 'pass']}}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=U", "-c", "user.email=u@x", "commit", "-q", "-m", "start")
    received: list[tuple[str | None, str]] = []
    scripted = server.script_for

    def script_for(workstream: str | None, text: str = "", **kwargs: bool) -> Script:
        received.append((workstream, text))
        if workstream == "synthesis":
            answer = AFTER_FIX if "Fix round 1 (by" in text else FIRST
            return Script("", f"The change, as hunks:\n\n{answer}")
        return scripted(workstream, text, **kwargs)

    monkeypatch.setattr(server, "script_for", script_for)
    monkeypatch.chdir(repo)
    argv = ["develop", TASK, "--simulate", "--speed", "inf", "--no-planner", "--apply", "--yes",
            "--in-place", "--json", "--fix-rounds", "1",
            "--db", str(tmp_path / "mao.db")]  # fmt: skip
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    applied = [e["files"] for e in events if e["type"] == "files_applied"]
    first = [(f["path"], f["status"], f["reason"][:42]) for f in applied[0]]
    assert first == [
        ("big.py", "written", ""),
        ("big.py", "refused", "hunk 2: SEARCH matches nothing in the file"),
    ]
    assert [(f["path"], f["status"]) for f in applied[1]] == [("big.py", "written")]
    fix_prompts = [text for ws, text in received if ws == "fix1"]
    assert fix_prompts and all("### Edits that were not applied" in t for t in fix_prompts)
    assert "- hunk 2 for `big.py`: SEARCH matches nothing in the file" in fix_prompts[0]
    assert "too long to repeat; the diff of what was applied" in fix_prompts[0]
    after_first = big.replace("line_1200 = 1200\n", "line_1200 = -1\n")
    for _, text in received:  # orchestrator, workstreams, syntheses, the fix round
        assert big not in text and after_first not in text
        assert "line_0 = 0\n" not in text or "line_2499 = 2499\n" not in text
    final = (repo / "big.py").read_text()
    assert final.count("\n") == LINES
    assert "line_1200 = -1\n" in final and "line_2000 = -2\n" in final
    assert len(FIRST) < len(big) / 100  # the answer is hunks, not the file
