"""Which files and definitions matter for a task: a personalized PageRank over the graph in which
file A points at file B when A uses a name B defines.

An edge's weight is the square root of how often A uses the name, times a factor: ten for a name
the task mentions or a long compound name (``check_fit``, ``RepoMap``), a tenth for a private
(``_x``) name or one defined in more than five files (``run``, ``main``). The walk restarts at the
files the task names, those whose definitions it names and, less often, those using a name it
quotes (uniformly when it names none). A definition's
score is the rank flowing into it over those edges plus a share of its own file's rank, so a
definition used from many files, or in a file the task names, ranks high.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from mao_tui.repo.tags import FileTags

DAMPING = 0.85
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATHISH = re.compile(r"[\w.@+-]+(?:/[\w.@+-]+)*")
_CODELIKE = re.compile(r"_|[a-z][A-Z]|^[A-Z][a-z0-9]+[A-Z]")


def pagerank(
    nodes: list[str],
    edges: Mapping[str, Mapping[str, float]],
    personal: Mapping[str, float],
    iterations: int = 100,
    tolerance: float = 1e-9,
) -> dict[str, float]:
    """Personalized PageRank: the walk follows weighted edges with probability DAMPING and
    otherwise restarts at a node drawn from ``personal`` (uniform when it is empty); a node with
    no way out restarts likewise. Returns each node's rank; the ranks sum to 1."""
    if not nodes:
        return {}
    total = sum(personal.get(n, 0.0) for n in nodes)
    restart = {n: (personal.get(n, 0.0) / total if total else 1 / len(nodes)) for n in nodes}
    out_weight = {src: sum(dsts.values()) for src, dsts in edges.items()}
    rank = dict(restart)
    for _ in range(iterations):
        stuck = sum(rank[n] for n in nodes if not out_weight.get(n))
        new = {n: (1 - DAMPING + DAMPING * stuck) * restart[n] for n in nodes}
        for src, dsts in edges.items():
            if out_weight.get(src):
                share = DAMPING * rank[src] / out_weight[src]
                for dst, weight in dsts.items():
                    new[dst] += share * weight
        change = sum(abs(new[n] - rank[n]) for n in nodes)
        rank = new
        if change < tolerance * len(nodes):
            break
    return rank


@dataclass(frozen=True)
class Mentions:
    """What the task text names: paths or file names, and identifiers."""

    text: str
    words: frozenset[str]
    code_words: frozenset[str]  # compound or quoted names: surely code

    @classmethod
    def of(cls, task: str) -> Mentions:
        words = frozenset(_WORD.findall(task))
        quoted = set(re.findall(r"`([^`\n]+)`", task))
        code = {w for w in words if _CODELIKE.search(w) or f"{w}(" in task}
        code |= {w for q in quoted for w in _WORD.findall(q)}
        return cls(task, words, frozenset(code))


@dataclass(frozen=True)
class Ranking:
    files: dict[str, float]  # path -> rank
    definitions: dict[tuple[str, str], float]  # (path, name) -> score


def mention_weights(files: Mapping[str, FileTags], mentions: Mentions) -> dict[str, float]:
    """How strongly the task points at each file it points at (the walk's restart weights)."""
    pathish = {p.strip("./") for p in _PATHISH.findall(mentions.text)}
    folders = [p for p in pathish if "/" in p]  # engine/budget.py names mao_tui/engine/budget.py
    names = {p.rsplit("/", 1)[-1] for p in pathish}
    prose = mentions.words - {w for p in folders for w in _WORD.findall(p)}  # not in a path
    weights: dict[str, float] = {}
    for path, tags in files.items():
        name = path.rsplit("/", 1)[-1]
        stem = name.split(".", 1)[0]
        weight = 0.0
        if path in pathish or any(path.endswith("/" + p) for p in folders):
            weight += 4.0
        elif name in names and "." in name:
            weight += 2.0
        elif len(stem) >= 4 and stem in prose:
            weight += 0.5
        defined = {s.name for s in tags.symbols}
        weight += 1.0 * len(defined & mentions.code_words)
        weight += 0.2 * len({w for w in defined & mentions.words if len(w) >= 5})
        weight += 0.5 * len((set(tags.refs) - defined) & mentions.code_words)  # its callers
        if weight:
            weights[path] = weight
    return weights


def _name_factor(name: str, definers: int, mentions: Mentions) -> float:
    factor = 1.0
    if name in mentions.words:
        factor *= 10
    if len(name) >= 8 and _CODELIKE.search(name):
        factor *= 10
    if name.startswith("_"):
        factor *= 0.1
    if definers > 5:
        factor *= 0.1
    return factor


def rank_files(files: Mapping[str, FileTags], task: str) -> Ranking:
    """Rank every file and every definition of ``files`` for ``task``."""
    mentions = Mentions.of(task)
    definers: dict[str, set[str]] = defaultdict(set)
    for path, tags in files.items():
        for symbol in tags.symbols:
            definers[symbol.name].add(path)
    edges: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    carried: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    for src, tags in files.items():
        for name, count in tags.refs.items():
            targets = definers.get(name, set()) - {src}
            if not targets:
                continue
            weight = _name_factor(name, len(definers[name]), mentions) * math.sqrt(count)
            for dst in targets:
                edges[src][dst] += weight
                carried[src][(dst, name)] += weight
    nodes = sorted(files)
    ranks = pagerank(nodes, edges, mention_weights(files, mentions))
    scores: dict[tuple[str, str], float] = defaultdict(float)
    for src, flows in carried.items():
        total = sum(flows.values())
        for key, weight in flows.items():
            scores[key] += ranks[src] * weight / total
    for path, tags in files.items():
        names = {s.name for s in tags.symbols}
        for name in names:
            bonus = 10.0 if name in mentions.code_words else 1.0
            scores[(path, name)] += bonus * ranks[path] / (len(names) + 1)
    return Ranking(ranks, dict(scores))
