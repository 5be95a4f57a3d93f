"""A synthesis's edits: whole files and hunks together, through the Workbench's apply and into
the fix round."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fixtures.apply_fix import workbench_over

from mao_tui.domain import WorkstreamStatus
from mao_tui.engine.chain import Outcome
from mao_tui.engine.edits import synthesis_edits
from mao_tui.engine.files import FileBlock, manifest_block
from mao_tui.engine.fix_loop import Workbench
from mao_tui.settings.schema import VerificationCommand


def _hunk(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "big.py").write_text("".join(f"line_{i} = {i}\n" for i in range(2_500)))
    (root / "small.py").write_text("a = 1\n")
    return root


def test_whole_files_and_hunks_together(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    answer = (
        manifest_block([FileBlock("new.py", "n = 1\n"), FileBlock("small.py", "a = 2\n")])
        + "\nAnd the large file:\n\n```python\n"
        + _hunk("big.py", "line_1200 = 1200\n", "line_1200 = -1\n")
        + "```\n"
        + _hunk("small.py", "a = 1\n", "a = 3\n")  # the manifest gives small.py whole
        + _hunk("big.py", "no such line\n", "x\n")
    )
    edits = synthesis_edits(root, answer)
    assert edits.source == "manifest" and edits.hunks == 3
    files = {f.path: f.content for f in edits.files}
    assert set(files) == {"new.py", "small.py", "big.py"}
    assert files["small.py"] == "a = 2\n"
    assert "line_1200 = -1\n" in files["big.py"] and files["big.py"].count("\n") == 2_500
    assert [(r.hunk.number, r.reason.split(";")[0]) for r in edits.rejected] == [
        (2, "the answer also gives this file whole"),
        (3, "SEARCH matches nothing in the file, even ignoring each line's leading and "
            "trailing whitespace: copy the lines exactly as they are now"),
    ]  # fmt: skip


def test_a_fenced_block_of_hunks_is_never_taken_as_a_whole_file(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    answer = "### `small.py`\n\n```python\n" + _hunk("small.py", "a = 1\n", "a = 9\n") + "```\n"
    edits = synthesis_edits(root, answer)
    assert [(f.path, f.content) for f in edits.files] == [("small.py", "a = 9\n")]
    assert edits.source == "fenced" and edits.error == "" and edits.rejected == []


def test_without_hunks_it_is_the_synthesis_files_as_before(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    edits = synthesis_edits(root, manifest_block([FileBlock("x.py", "x\n")]))
    assert ([f.path for f in edits.files], edits.source, edits.hunks) == (["x.py"], "manifest", 0)
    none = synthesis_edits(root, "no files here")
    assert none.files == [] and none.source == "none" and "no mao-files manifest" in none.error


def _bench(root: Path, synthesis: str, rounds: int) -> Workbench:
    failing = VerificationCommand(name="tests", argv=[sys.executable, "-c", "raise SystemExit(1)"])
    return workbench_over(root, synthesis, [failing], rounds)[0]


async def test_a_rejected_hunk_is_refused_in_the_apply_and_reaches_the_fix_round(
    tmp_path: Path,
) -> None:
    root = _workspace(tmp_path)
    answer = _hunk("big.py", "line_7 = 7\n", "line_7 = 70\n") + _hunk("big.py", "gone\n", "x\n")
    bench = _bench(root, answer, rounds=1)
    proposal = bench.propose()
    kinds = [(c.path, c.kind, c.reason[:28]) for c in proposal.changes]
    assert kinds == [
        ("big.py", "modify", ""),
        ("big.py", "refused", "hunk 2: SEARCH matches nothi"),
    ]
    applied = await bench.apply(proposal)
    assert [f.status for f in applied.files] == ["written", "refused"]
    assert "line_7 = 70\n" in (root / "big.py").read_text()
    assert not (await bench.verify()).passed
    sent: list[str] = []

    async def follow_up(ws: Any, prompts: tuple[str, str]) -> Outcome:
        sent.append(prompts[1])
        return Outcome(WorkstreamStatus.DONE, "opus-5.5", "fixed")

    bench._controller.follow_up = follow_up  # type: ignore[method-assign]
    await bench.fix()
    (prompt,) = sent
    assert "### Edits that were not applied" in prompt
    assert "- hunk 2 for `big.py`: SEARCH matches nothing in the file" in prompt


async def test_rejected_hunks_alone_get_a_fix_round_when_verification_passes(
    tmp_path: Path,
) -> None:
    from mao_tui.service.apply_run import _loop

    root = _workspace(tmp_path)
    answer = _hunk("big.py", "line_7 = 7\n", "line_7 = 70\n") + _hunk("big.py", "gone\n", "x\n")
    bench = _bench(root, answer, rounds=1)
    bench.commands = [VerificationCommand(name="ok", argv=[sys.executable, "-c", "pass"])]
    sent: list[str] = []

    async def follow_up(ws: Any, prompts: tuple[str, str]) -> Outcome:
        sent.append(prompts[1])
        return Outcome(WorkstreamStatus.DONE, "opus-5.5", "fixed")

    async def yes(proposal: Any) -> bool:
        return True

    bench._controller.follow_up = follow_up  # type: ignore[method-assign]
    outcome = await _loop(bench, yes)
    (prompt,) = sent  # one fix round, for the rejected hunk alone
    assert "No verification command failed, but edits could not be applied." in prompt
    assert "- hunk 2 for `big.py`: SEARCH matches nothing" in prompt
    # the same synthesis again: the first hunk is in already, the second still matches nothing
    assert (outcome.ok, outcome.summary) == (False, "nothing applied: every file was refused")
    assert [c.kind for c in bench.propose().changes] == ["refused", "refused"]


async def test_rejected_hunks_without_rounds_left_fail_the_apply(tmp_path: Path) -> None:
    from mao_tui.service.apply_run import _loop

    root = _workspace(tmp_path)
    answer = _hunk("big.py", "line_7 = 7\n", "line_7 = 70\n") + _hunk("big.py", "gone\n", "x\n")
    bench = _bench(root, answer, rounds=0)
    bench.commands = [VerificationCommand(name="ok", argv=[sys.executable, "-c", "pass"])]

    async def yes(proposal: Any) -> bool:
        return True

    outcome = await _loop(bench, yes)
    assert not outcome.ok
    assert outcome.summary.startswith("applied; verification passed")
    assert outcome.summary.endswith("; 1 hunk(s) could not be applied")
