"""The ledger's provenance on crafted files (engine/ledger.py): a hunk found exactly in a
candidate's file comes from it (the selected one first on a tie, the others listed), a hunk
mostly found comes from the candidate holding the largest share of it (at least the threshold),
anything else from the synthesis; a file's source is an identical candidate file, else the
source of most of its changed lines."""

from __future__ import annotations

from pathlib import Path

from mao_tui.engine.ledger import (
    SIMILAR_AT_LEAST,
    Candidate,
    RaceFiles,
    answer_files,
    changed_hunks,
    provenance,
    read_before,
)

BEFORE = "".join(f"line {n}\n" for n in range(1, 21))


def _with(lines: dict[int, str], extra: str = "") -> str:
    """BEFORE with lines replaced (1-based), then ``extra`` appended."""
    out = BEFORE.splitlines()
    for n, text in lines.items():
        out[n - 1] = text
    return "\n".join(out) + "\n" + extra


def test_changed_hunks_are_the_blocks_added_or_replaced() -> None:
    after = _with({3: "three", 4: "four"}, "tail a\ntail b\n")
    assert changed_hunks(BEFORE, after) == [(3, ["three", "four"]), (21, ["tail a", "tail b"])]
    assert changed_hunks(None, "a\nb\n") == [(1, ["a", "b"])]


def test_each_hunk_and_file_is_traced_to_its_candidate_or_the_synthesis() -> None:
    fix = {3: "def fixed():", 4: "    return 3"}
    alike = "new a\nnew b\nnew c\nnew d\nnew e\n"
    races = [
        RaceFiles(
            "implementation",
            selected=2,
            candidates=[
                Candidate(1, "sonnet-5.5", {"app.py": _with(fix), "same.py": "x = 1\n"}),
                Candidate(2, "gpt-6.2-sol", {"app.py": _with({}, alike), "same.py": "x = 1\n"}),
                Candidate(3, "opus-5.5", {"same.py": "x = 1\n", "other.py": "y\n"}),
            ],
        )
    ]
    # the synthesis took #1's fix, #2's tail with one line changed, and wrote one of its own
    tail = alike.replace("new c", "new C")
    final = _with({**fix, 10: "synthesis's own line"}, tail)
    after = {"app.py": final, "same.py": "x = 1\n", "mine.py": "print('hi')\n"}
    before = {"app.py": BEFORE}.get

    files = {f.path: f for f in provenance(races, after, before, "opus-5.5")}

    app = files["app.py"]
    hunks = [(h.start, h.lines, h.source.how, h.source.number) for h in app.hunks]
    assert hunks == [(3, 2, "exact", 1), (10, 1, "synthesis", None), (21, 5, "similar", 2)]
    assert app.hunks[2].source.ratio == 0.8 >= SIMILAR_AT_LEAST  # 4 of its 5 lines
    assert app.hunks[1].source.label == "synthesis (opus-5.5)"
    # the file: most of its changed lines are #2's (5 of 8), and not all of them exactly
    assert (app.source.how, app.source.number, app.source.model) == ("similar", 2, "gpt-6.2-sol")

    same = files["same.py"].source  # identical in every candidate: the selected one, and who else
    assert (same.how, same.number, same.also) == ("exact", 2, [1, 3])
    assert same.label == "implementation #2 gpt-6.2-sol, also in #1, #3"
    mine = files["mine.py"]
    assert mine.source.how == "synthesis" and [h.source.how for h in mine.hunks] == ["synthesis"]


def test_below_the_threshold_a_hunk_is_the_synthesis_own() -> None:
    races = [RaceFiles("w", 1, [Candidate(1, "m", {"f.py": "a\nb\nc\nd\ne\n"})])]
    after = {"f.py": "a\nb\nX\nY\nZ\n"}  # 2 of 5 lines: 40% < the threshold
    [f] = provenance(races, after, {}.get, None)
    assert f.source.how == "synthesis" and f.hunks[0].source.how == "synthesis"


def test_answer_files_apply_hunks_and_reading_before_stays_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("a = 1\nb = 2\n")
    answer = "f.py\n<<<<<<< SEARCH\nb = 2\n=======\nb = 3\n>>>>>>> REPLACE\n"
    assert answer_files(tmp_path, answer) == {"f.py": "a = 1\nb = 3\n"}
    read = read_before(tmp_path)
    (tmp_path.parent / "outside.txt").write_text("secret")
    assert read("f.py") == "a = 1\nb = 2\n"
    assert read("../outside.txt") is None and read("missing.py") is None
