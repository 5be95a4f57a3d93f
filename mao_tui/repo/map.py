"""The repository map: the files of a git repository with their top-level symbols' signature
lines, most relevant to the task first, cut to a token budget.

    mao_tui/engine/budget.py:
      def check_fit(settings: Settings, plan: Plan, text: str) -> Fit
      class Fit
        def fits(self) -> bool
    docs/usage.md

Files come from ``git ls-files`` (tracked, plus untracked files .gitignore allows); binary files
(a NUL byte in the first 8 KiB) are left out, and symlinks, files over ``MAX_PARSE_BYTES`` and
languages without a grammar appear by name only. Ranking is ``rank.py``'s; the budget is met by
a binary search on how many of the ranked entries (definitions first, then names of files with
none shown) to render. Tokens are estimated at 4 characters each, as ``engine/budget.py`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.repo.git import listed_files, repo_root
from mao_tui.repo.rank import Mentions, Ranking, mention_weights, rank_files
from mao_tui.repo.tag_cache import TagCache, content_key, default_cache_dir
from mao_tui.repo.tags import FileTags, Symbol, extract_tags, language_of

CHARS_PER_TOKEN = 4  # the estimate engine/budget.py uses (this layer cannot import the engine)
DEFAULT_BUDGET_TOKENS = 2_048
MAX_PARSE_BYTES = 512 * 1024
MAX_FILES = 20_000  # beyond this, the rest of the repository is listed by nothing at all
PARSE_SECONDS = 20.0  # reading and parsing time before the remaining files go by name only
_BINARY_PROBE = 8_192


@dataclass(frozen=True)
class RepoMap:
    root: Path
    text: str
    ranked_files: tuple[str, ...]  # every listed file, most relevant first
    files_listed: int
    files_parsed: int
    symbols: int
    files_shown: int
    cache_hits: int
    cache_misses: int
    seconds: float
    tags: dict[str, FileTags] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        return len(self.text) // CHARS_PER_TOKEN


@dataclass(frozen=True)
class _Entry:
    path: str
    symbol: Symbol | None  # None: the file's name alone


def read_tags(root: Path, path: str, cache: TagCache) -> FileTags | None:
    """``path``'s tags (from the cache when its content was seen before), an empty FileTags
    for a file shown by name only, None for a file to leave out (binary, gone, unreadable)."""
    full = root / path
    try:
        info = full.lstat()
        if not full.is_file() or full.is_symlink():
            return None if not full.is_symlink() else FileTags(None)
        if info.st_size > MAX_PARSE_BYTES:
            return FileTags(None)
        data = full.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    lang = language_of(path)
    if lang is None:
        return FileTags(None)
    key = content_key(lang, data)
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        tags = extract_tags(path, data.decode("utf-8", errors="replace"))
    except Exception:  # a grammar that fails on this file: its name is still worth showing
        return FileTags(None)
    cache.put(key, tags)
    return tags


def collect_tags(
    root: Path, cache: TagCache, seconds: float = PARSE_SECONDS
) -> dict[str, FileTags]:
    """Every listed file's tags; once ``seconds`` have passed, the rest by name only (a huge
    repository's first map stays quick; the cache fills over the next ones)."""
    deadline = time.monotonic() + seconds
    tags: dict[str, FileTags] = {}
    for path in listed_files(root)[:MAX_FILES]:
        if time.monotonic() > deadline:
            tags[path] = FileTags(None)
            continue
        found = read_tags(root, path, cache)
        if found is not None:
            tags[path] = found
    return tags


def build_map(
    folder: Path,
    task: str,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    cache: TagCache | None = None,
) -> RepoMap | None:
    """The map of the git repository ``folder`` is in, for ``task``; None outside git."""
    started = time.perf_counter()
    root = repo_root(folder)
    if root is None:
        return None
    cache = cache if cache is not None else TagCache(default_cache_dir())
    hits, misses = cache.hits, cache.misses
    files = collect_tags(root, cache)
    cache.prune()
    ranking = rank_files(files, task)
    entries = _ranked_entries(files, ranking)
    text, shown = _fit(entries, files, budget_tokens * CHARS_PER_TOKEN)
    return RepoMap(
        root=root,
        text=text,
        ranked_files=tuple(sorted(files, key=lambda p: (-ranking.files.get(p, 0.0), p))),
        files_listed=len(files),
        files_parsed=sum(1 for t in files.values() if t.lang),
        symbols=sum(len(t.symbols) for t in files.values()),
        files_shown=shown,
        cache_hits=cache.hits - hits,
        cache_misses=cache.misses - misses,
        seconds=time.perf_counter() - started,
        tags=files,
    )


def _ranked_entries(files: dict[str, FileTags], ranking: Ranking) -> list[_Entry]:
    by_name = {(p, s.name): s for p, t in files.items() for s in t.symbols if s.depth == 0}
    members = {(p, s.name): s for p, t in files.items() for s in t.symbols if s.depth > 0}
    scored = sorted(ranking.definitions.items(), key=lambda kv: (-kv[1], kv[0]))
    entries = []
    for key, _score in scored:
        symbol = by_name.get(key) or members.get(key)
        if symbol is not None:
            entries.append(_Entry(key[0], symbol))
    with_symbols = {e.path for e in entries}
    rest = sorted(
        (p for p in files if p not in with_symbols), key=lambda p: (-ranking.files.get(p, 0.0), p)
    )
    return entries + [_Entry(p, None) for p in rest]


def render(entries: list[_Entry], files: dict[str, FileTags]) -> str:
    """The map text of ``entries``: files in order of their first entry, each followed by its
    chosen symbols in source order (a member under its class, indented)."""
    chosen: dict[str, set[int]] = {}
    for entry in entries:
        lines = chosen.setdefault(entry.path, set())
        if entry.symbol is not None:
            lines.add(entry.symbol.line)
            parent = _parent(files[entry.path].symbols, entry.symbol)
            if parent is not None:
                lines.add(parent.line)
    out = []
    for path, lines in chosen.items():
        out.append(f"{path}:" if lines else path)
        for symbol in files[path].symbols:
            if symbol.line in lines:
                lines.discard(symbol.line)  # one symbol per line (a Go type group shares none)
                out.append("  " * (symbol.depth + 1) + symbol.signature)
    return "\n".join(out) + "\n" if out else ""


def _parent(symbols: tuple[Symbol, ...], member: Symbol) -> Symbol | None:
    if member.depth == 0:
        return None
    parent = None
    for symbol in symbols:
        if symbol.line > member.line:
            break
        if symbol.depth == 0:
            parent = symbol
    return parent


def _fit(entries: list[_Entry], files: dict[str, FileTags], max_chars: int) -> tuple[str, int]:
    """The longest prefix of ``entries`` whose rendering fits ``max_chars``; its text and the
    number of files it shows."""
    low, high = 0, len(entries)
    best = ""
    while low < high:
        middle = (low + high + 1) // 2
        text = render(entries[:middle], files)
        if len(text) <= max_chars:
            low, best = middle, text
        else:
            high = middle - 1
    return best, len({e.path for e in entries[:low]})


def file_excerpt(root: Path, path: str, max_chars: int) -> str | None:
    """``path``'s text for a prompt, cut at ``max_chars`` with a marker saying what was cut;
    None when it is not a regular file inside ``root`` (a symlink out, gone, binary)."""
    full = root / path
    try:
        resolved = full.resolve(strict=True)
        if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
            return None
        data = resolved.read_bytes()
    except (OSError, RuntimeError):
        return None
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    text = data.decode("utf-8", errors="replace")
    if len(text) <= max_chars:
        return text
    kept = text[:max_chars]
    cut_lines = text.count("\n") - kept.count("\n")
    return (
        kept
        + f"\n[mao: cut here, {len(text) - max_chars:,} more characters ({cut_lines:,} lines)]\n"
    )


def relevant_files(files: dict[str, FileTags], text: str, limit: int) -> list[str]:
    """Up to ``limit`` paths most relevant to ``text``: those it names (by path, file name or
    a definition), most named and highest ranked first, then parsed files the ranking reaches
    from them (or, when it names none, the highest ranked)."""
    ranking = rank_files(files, text)
    named = mention_weights(files, Mentions.of(text))
    first = sorted(named, key=lambda p: (-named[p] * ranking.files[p], p))
    rest = sorted(
        (p for p in files if p not in named and files[p].symbols and ranking.files[p] > 1e-9),
        key=lambda p: (-ranking.files[p], p),
    )
    return [*first, *rest][:limit]
