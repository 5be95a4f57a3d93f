"""Search/replace hunks: parsing a model's answer, applying to text, confining to the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mao_tui.engine.apply import plan_changes
from mao_tui.engine.hunks import Hunk, apply_hunk, edit_files, parse_hunks, rejection_notes


def _block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_parse_takes_the_path_from_the_line_before_in_its_usual_forms() -> None:
    answer = (
        "Here is the change.\n\n"
        "app/api.py\n```python\n<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n```\n\n"
        "```python\n`app/limits.py`\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n"
        "### **docs/x.md**:\n\n<<<<<<< SEARCH\n=======\n# X\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n"
    )
    hunks = parse_hunks(answer)
    assert [(h.path, h.search, h.replace, h.number) for h in hunks] == [
        ("app/api.py", "old\n", "new\n", 1),
        ("app/limits.py", "a\n", "b\n", 2),
        ("docs/x.md", "", "# X\n", 3),
        ("docs/x.md", "c\n", "d\n", 4),  # no path line: the block before's file
    ]
    assert not any(h.problem for h in hunks)


def test_parse_reports_blocks_without_a_path_or_left_open() -> None:
    (no_path,) = parse_hunks("Some prose here.\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n")
    assert no_path.problem.startswith("names no file")
    (open_end,) = parse_hunks("a.py\n<<<<<<< SEARCH\na\n=======\nb\n")
    assert open_end.problem == "is not closed: no >>>>>>> REPLACE line"
    (no_divider,) = parse_hunks("a.py\n<<<<<<< SEARCH\na\n")
    assert no_divider.problem == "is not closed: a SEARCH with no ======= line"
    crlf = parse_hunks(_block("a.py", "x\n", "y\n").replace("\n", "\r\n"))
    assert (crlf[0].search, crlf[0].replace) == ("x\n", "y\n")


def _hunk(search: str, replace: str, path: str = "f.py") -> Hunk:
    return Hunk(path, search, replace, 1)


def test_an_exact_match_applies_where_it_is() -> None:
    text = "a = 1\nb = 2\nc = 3\n"
    new, result = apply_hunk(text, _hunk("b = 2\n", "b = 20\nbb = 21\n"))
    assert new == "a = 1\nb = 20\nbb = 21\nc = 3\n"
    assert (result.status, result.line) == ("applied", 2)


def test_a_loose_match_ignores_whitespace_and_keeps_the_files_indentation() -> None:
    text = "class A:\n    def f(self):\n        return 1\n"
    search = "def f(self):\n    return 1\n"  # the model dropped the class's indentation
    replace = "def f(self):\n    x = 2\n    return x\n"
    new, result = apply_hunk(text, _hunk(search, replace))
    assert new == "class A:\n    def f(self):\n        x = 2\n        return x\n"
    assert result.status == "applied_loosely"
    trailing = "class A:\n    def f(self):   \n        return 1\n"
    _, loose = apply_hunk(trailing, _hunk("    def f(self):\n", "    def g(self):\n"))
    assert loose.status == "applied_loosely"


def test_a_missing_or_ambiguous_match_rejects_the_hunk_with_its_reason() -> None:
    text = "x = 1\ny = 2\nx = 1\n"
    same, missing = apply_hunk(text, _hunk("z = 3\n", "z = 4\n"))
    assert same == text and missing.status == "rejected"
    assert missing.reason.startswith("SEARCH matches nothing in the file")
    same, twice = apply_hunk(text, _hunk("x = 1\n", "x = 9\n"))
    assert same == text
    assert twice.reason == (
        "SEARCH occurs 2 times (lines 1, 3); add lines around it so that it occurs once"
    )
    new, unique = apply_hunk(text, _hunk("y = 2\nx = 1\n", "y = 2\nx = 9\n"))
    assert unique.applied and new == "x = 1\ny = 2\nx = 9\n"


def test_new_files_are_whole_and_an_empty_search_cannot_overwrite() -> None:
    new, created = apply_hunk(None, _hunk("", "print('hi')\n"))
    assert (new, created.status) == ("print('hi')\n", "applied")
    assert apply_hunk("", _hunk("", "x\n"))[0] == "x\n"
    kept, refused = apply_hunk("old\n", _hunk("", "x\n"))
    assert kept == "old\n" and "the file exists" in refused.reason
    _, absent = apply_hunk(None, _hunk("a\n", "b\n"))
    assert absent.reason.startswith("the file does not exist")


def test_line_endings_and_a_missing_final_newline_are_kept() -> None:
    new, _ = apply_hunk("a\r\nb\r\nc\r\n", _hunk("b\n", "B\nB2\n"))
    assert new == "a\r\nB\r\nB2\r\nc\r\n"
    new, _ = apply_hunk("a\nlast", _hunk("last\n", "final\n"))
    assert new == "a\nfinal"
    new, _ = apply_hunk("a\fb\nc\n", _hunk("c\n", "d\n"))  # a form feed is not a line break
    assert new == "a\fb\nd\n"


def test_hunks_of_one_file_apply_in_order_and_a_rejected_one_does_not_stop_the_rest(
    tmp_path: Path,
) -> None:
    (tmp_path / "f.py").write_text("one\ntwo\nthree\n")
    answer = (
        _block("f.py", "one\n", "ONE\n")
        + _block("f.py", "nothing\n", "x\n")
        + _block("f.py", "ONE\ntwo\n", "ONE\nTWO\n")  # sees the first hunk's result
    )
    edits = edit_files(tmp_path, parse_hunks(answer))
    assert [r.status for r in edits.results] == ["applied", "rejected", "applied"]
    assert [(f.path, f.content) for f in edits.files] == [("f.py", "ONE\nTWO\nthree\n")]
    assert (tmp_path / "f.py").read_text() == "one\ntwo\nthree\n"  # nothing written here
    note = rejection_notes(edits.rejected)
    assert note.startswith("### Edits that were not applied\n")
    assert "\n- hunk 2 for `f.py`: SEARCH matches nothing in the file" in note
    assert rejection_notes([]) == ""


def test_a_large_file_is_changed_by_hunks_not_resent(tmp_path: Path) -> None:
    lines = [f"def function_{i}(x):\n    return x + {i}\n\n" for i in range(1_000)]
    original = "".join(lines)
    assert original.count("\n") >= 2_000
    (tmp_path / "big.py").write_text(original)
    answer = _block(
        "big.py",
        "def function_500(x):\n    return x + 500\n",
        "def function_500(x):\n    return x * 500\n",
    ) + _block("big.py", "def function_999(x):\n", "def function_999(x: int) -> int:\n")
    assert len(answer) < len(original) // 100
    edits = edit_files(tmp_path, parse_hunks(answer))
    assert all(r.status == "applied" for r in edits.results)
    (change,) = plan_changes(tmp_path, edits.files)
    assert change.kind == "modify"
    changed = [
        line for line in change.diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ]
    assert changed == [
        "-    return x + 500",
        "+    return x * 500",
        "-def function_999(x):",
        "+def function_999(x: int) -> int:",
    ]
    assert change.content.count("\n") == original.count("\n")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("../outside.py", "climbs out with .."),
        (".git/config", "is inside .git/"),
        ("link/evil.py", "leaves the workspace through a symlink"),
    ],
)
def test_untrusted_paths_are_refused(tmp_path: Path, path: str, reason: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "link").symlink_to(tmp_path)
    edits = edit_files(root, parse_hunks(_block(path, "", "x\n")))
    (result,) = edits.results
    assert result.status == "rejected" and reason in result.reason
    assert edits.files == []


def test_a_file_that_is_not_utf8_is_not_edited(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    (result,) = edit_files(tmp_path, parse_hunks(_block("latin.txt", "caf\n", "x\n"))).results
    assert result.reason == "latin.txt is not UTF-8 text"
