"""The repository map: symbols per language, the ranking, the budget, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.git_repo import committed_repo

from mao_tui.repo.map import CHARS_PER_TOKEN, build_map, file_excerpt
from mao_tui.repo.rank import pagerank, rank_files
from mao_tui.repo.tag_cache import TagCache, content_key
from mao_tui.repo.tags import FileTags, Symbol, extract_tags

PY = '''"""A module."""
import os

LIMIT = 5


@decorator
def top(a: int,
        b: str = "x") -> int:
    def inner():
        return 1
    return helper(a)


class Store(Base):
    size: int = 0

    def save(self, item) -> None:  # stores it
        # and more
        local = 1

    @property
    def count(self) -> int:
        return 0
'''


def test_python_symbols_are_top_level_and_members_with_signatures() -> None:
    tags = extract_tags("m.py", PY)
    assert tags.lang == "python"
    shown = [(s.name, s.depth, s.signature) for s in tags.symbols]
    assert shown == [
        ("LIMIT", 0, "LIMIT = 5"),
        ("top", 0, 'def top(a: int, b: str = "x") -> int'),
        ("Store", 0, "class Store(Base)"),
        ("save", 1, "def save(self, item) -> None"),
        ("count", 1, "def count(self) -> int"),
    ]
    assert tags.refs["helper"] == 1
    assert "inner" in tags.refs  # a local function is used, not shown


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "a.js",
            "export function alpha(a) { return beta(a) }\nconst g = (q) => q;\n"
            "class D { run(x) { return 1 } }\n",
            ["alpha", "g", "D", "run"],
        ),
        (
            "a.ts",
            "export interface Opts { a: number }\nexport type Id = string;\n"
            "export async function load(id: Id): Promise<Opts> { return {a: 1} }\n",
            ["Opts", "Id", "load"],
        ),
        (
            "a.go",
            "package m\ntype Server struct { port int }\n"
            "func (s *Server) Start(p int) error { return nil }\nconst Max = 3\n",
            ["Server", "Start", "Max"],
        ),
        (
            "a.rs",
            "pub struct P { x: i32 }\nimpl P { pub fn new(x: i32) -> Self { P { x } } }\n",
            ["P", "P", "new"],
        ),
        ("a.c", "static int add(int a, int b) { return a + b; }\n", ["add"]),
        ("a.rb", "class Greeter\n  def hello(name)\n  end\nend\n", ["Greeter", "hello"]),
    ],
)
def test_other_languages_give_their_definitions(name: str, text: str, expected: list[str]) -> None:
    names = [s.name for s in extract_tags(name, text).symbols if s.kind != "property"]
    assert names == expected


def test_a_language_without_a_grammar_has_no_symbols() -> None:
    assert extract_tags("notes.unknownext", "def f(): pass") == FileTags(None)


def test_pagerank_follows_edges_and_restarts_at_the_personal_nodes() -> None:
    edges = {"a": {"c": 1.0}, "b": {"c": 1.0}}
    rank = pagerank(["a", "b", "c"], edges, {})
    assert rank["c"] > rank["a"] == pytest.approx(rank["b"])
    assert sum(rank.values()) == pytest.approx(1.0)
    personal = pagerank(["a", "b", "c"], edges, {"a": 1.0})
    assert personal["a"] > personal["b"]
    assert pagerank([], {}, {}) == {}


def _sym(name: str) -> Symbol:
    return Symbol(name, "function", 0, f"def {name}()")


def test_a_definition_used_by_many_files_outranks_one_used_by_one() -> None:
    files = {
        "core.py": FileTags("python", (_sym("shared_helper"), _sym("lonely_helper"))),
        "a.py": FileTags("python", (), {"shared_helper": 1}),
        "b.py": FileTags("python", (), {"shared_helper": 1}),
        "c.py": FileTags("python", (), {"shared_helper": 1, "lonely_helper": 1}),
    }
    ranking = rank_files(files, "something unrelated")
    assert ranking.files["core.py"] == max(ranking.files.values())
    shared = ranking.definitions[("core.py", "shared_helper")]
    assert shared > ranking.definitions[("core.py", "lonely_helper")]


def test_the_task_pulls_the_file_it_names_up() -> None:
    files = {
        "core.py": FileTags("python", (_sym("shared"),)),
        "a.py": FileTags("python", (_sym("rate_limit"),), {"shared": 1}),
        "b.py": FileTags("python", (_sym("other"),), {"shared": 1}),
    }
    plain = rank_files(files, "")
    named = rank_files(files, "add a burst to `rate_limit`")
    assert named.files["a.py"] > plain.files["a.py"]
    assert named.files["a.py"] > named.files["b.py"]
    by_path = rank_files(files, "change b.py")
    assert by_path.files["b.py"] > by_path.files["a.py"]
    nested = {f"pkg/{k}": v for k, v in files.items()} | {"other/b.py": files["b.py"]}
    suffix = rank_files(nested, "change pkg/b.py")  # a path's tail names the file
    assert suffix.files["pkg/b.py"] > suffix.files["other/b.py"] > suffix.files["pkg/a.py"]


def _sample_repo(root: Path) -> Path:
    return committed_repo(
        root,
        {
            "app/limits.py": (
                "def check_quota(user: str, used: int) -> bool:\n    return used < 5\n"
            ),
            "app/api.py": (
                "from app.limits import check_quota\n\n"
                "def handle_request(user: str) -> str:\n    return str(check_quota(user, 1))\n"
            ),
            "app/cli.py": "from app.limits import check_quota\n\ncheck_quota('x', 2)\n",
            "README.md": "# Sample\n",
            "data.bin": "\0\1\2binary",
            "notes.weird": "plain notes\n",
            ".gitignore": "ignored.py\n",
        },
    )


def test_the_map_lists_symbols_ranked_for_the_task(tmp_path: Path) -> None:
    root = _sample_repo(tmp_path / "repo")
    (root / "ignored.py").write_text("def hidden(): pass\n")
    (root / "app" / "new.py").write_text("def fresh(): pass\n")  # untracked, not ignored
    cache = TagCache(tmp_path / "cache")
    repo_map = build_map(root / "app", "make handle_request refuse when over quota", 500, cache)
    assert repo_map is not None
    assert repo_map.root == root.resolve()
    text = repo_map.text
    assert text.startswith("app/api.py:\n  def handle_request(user: str) -> str\n")
    assert "app/limits.py:\n  def check_quota(user: str, used: int) -> bool\n" in text
    assert "\nREADME.md\n" in text and "\nnotes.weird\n" in text  # name only
    assert "data.bin" not in text and "hidden" not in text
    assert "def fresh()" in text
    assert repo_map.ranked_files[0] == "app/api.py"
    assert repo_map.tokens == len(text) // CHARS_PER_TOKEN


def test_the_map_keeps_to_its_budget(tmp_path: Path) -> None:
    files = {
        f"pkg/mod{i}.py": f"def function_{i}(x: int) -> int:\n    return x\n" for i in range(60)
    }
    root = committed_repo(tmp_path / "repo", files)
    for budget in (15, 40, 100):
        repo_map = build_map(root, "function_7", budget, TagCache(None))
        assert repo_map is not None
        assert len(repo_map.text) <= budget * CHARS_PER_TOKEN
        assert 0 < repo_map.files_shown < 60
    assert build_map(root, "function_7", 15, TagCache(None)).text.startswith(  # type: ignore[union-attr]
        "pkg/mod7.py:"
    )


def test_outside_git_there_is_no_map(tmp_path: Path) -> None:
    assert build_map(tmp_path, "anything", 100, TagCache(None)) is None


def test_a_second_build_parses_nothing(tmp_path: Path) -> None:
    files = {f"m{i}.py": PY.replace("top", f"top{i}") * 3 for i in range(40)}
    root = committed_repo(tmp_path / "repo", files)
    folder = tmp_path / "cache"
    cold = build_map(root, "top3", 400, TagCache(folder))
    warm = build_map(root, "top3", 400, TagCache(folder))  # a new process: the disk side
    assert cold is not None and warm is not None
    assert (cold.cache_hits, cold.cache_misses) == (0, 40)
    assert (warm.cache_hits, warm.cache_misses) == (40, 0)
    assert warm.text == cold.text


def test_the_cache_survives_deletion_and_bad_entries_and_stays_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache = TagCache(folder, max_entries=5)
    tags = extract_tags("m.py", PY)
    keys = [content_key("python", f"{i}".encode()) for i in range(8)]
    for key in keys:
        cache.put(key, tags)
    assert cache.prune() == 3
    assert len(list(folder.rglob("*.json"))) == 5
    fresh = TagCache(folder)
    assert fresh.get(keys[-1]) == tags
    assert fresh.get(keys[0]) is None  # pruned: the oldest went
    next(folder.rglob("*.json")).write_text("{not json")
    assert sum(TagCache(folder).get(k) is not None for k in keys) == 4
    for item in folder.rglob("*.json"):
        item.unlink()
    assert TagCache(folder).get(keys[-1]) is None


def test_file_excerpt_cuts_with_a_marker_and_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "long.py").write_text("x = 1\n" * 100)
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    excerpt = file_excerpt(root, "long.py", 60)
    assert excerpt is not None and excerpt.startswith("x = 1\n" * 10)
    assert "[mao: cut here, 540 more characters (90 lines)]" in excerpt
    assert file_excerpt(root, "long.py", 10_000) == "x = 1\n" * 100
    assert file_excerpt(root, "link.txt", 100) is None
    assert file_excerpt(root, "missing.py", 100) is None


def test_past_the_time_budget_files_are_listed_by_name_only(tmp_path: Path) -> None:
    from mao_tui.repo.map import collect_tags

    root = committed_repo(tmp_path / "repo", {"a.py": "def a(): pass\n", "b.py": "def b(): pass\n"})
    assert all(t.lang for t in collect_tags(root, TagCache(None)).values())
    late = collect_tags(root, TagCache(None), seconds=-1.0)
    assert late == {"a.py": FileTags(None), "b.py": FileTags(None)}


def test_a_parser_failure_shows_the_file_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = committed_repo(tmp_path / "repo", {"a.py": "def a(): pass\n"})

    def broken(path: str, text: str) -> FileTags:
        raise RuntimeError("grammar crashed")

    monkeypatch.setattr("mao_tui.repo.map.extract_tags", broken)
    repo_map = build_map(root, "a", 100, TagCache(None))
    assert repo_map is not None and repo_map.text == "a.py\n"
