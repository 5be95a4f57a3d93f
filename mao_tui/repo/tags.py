"""One file's symbols: its top-level definitions (with one level of members: a class's methods,
an impl's functions) and their signature lines, and the names the file uses.

The language comes from grep-ast's ``filename_to_lang``, the parser from tree-sitter-language-pack.
Definitions are found by walking the syntax tree rather than by per-language tag queries: a named
node whose type reads as a definition (``function_definition``, ``class_declaration``,
``function_item``, ``type_spec``, Ruby's ``method``...) and that names itself through its ``name``
field (or, in C and C++, its declarator) is one; wrappers (decorators, ``export``, templates,
``type (...)`` groups) are looked through. References are every identifier leaf, found with one
query per language built from the grammar's own node kinds. A language with no grammar gives no
symbols: the map then shows the file's name only.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_CHARS = 160
VALUE_CHARS = 60  # of a variable's value
_DEF_SUFFIXES = ("_definition", "_declaration", "_item", "_spec", "_specifier", "_signature")
_DEF_TYPES = frozenset({"class", "module", "method", "singleton_method", "function", "struct"})
_NOT_DEFS = ("import", "use_", "package", "extern", "export_", "expression", "field_declaration")
_WRAPPERS = frozenset(
    {
        "decorated_definition",
        "export_statement",
        "template_declaration",
        "type_declaration",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
        "attribute_item",
        "linkage_specification",
        "const_declaration",
        "var_declaration",
        "declaration_list",
    }
)
_BODY_FIELDS = ("body", "declaration_list", "members")
_NAME_KINDS = ("identifier", "constant", "name")
_VARIABLES = frozenset({"assignment", "variable_declarator", "const_spec", "var_spec"})


@dataclass(frozen=True)
class Symbol:
    """One definition: its name, kind (the node type, suffix dropped), 0-based line, the
    signature line shown in the map, and its depth (0: top level, 1: a member)."""

    name: str
    kind: str
    line: int
    signature: str
    depth: int = 0


@dataclass(frozen=True)
class FileTags:
    lang: str | None
    symbols: tuple[Symbol, ...] = ()
    refs: dict[str, int] = field(default_factory=dict)  # name -> times used


def language_of(path: str) -> str | None:
    """tree-sitter's language name for ``path``, or None when no grammar is bundled for it."""
    from grep_ast import filename_to_lang

    lang: str | None = filename_to_lang(path)
    if lang is None:
        return None
    return lang if _parser(lang) is not None else None


@functools.cache
def _parser(lang: str) -> Any:
    from tree_sitter_language_pack import get_parser

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return get_parser(lang)  # type: ignore[arg-type]
    except Exception:  # an unknown name, a grammar this build lacks
        return None


@functools.cache
def _reference_query(lang: str) -> Any:
    """A query capturing every identifier leaf of ``lang``'s grammar, or None."""
    from tree_sitter import Query
    from tree_sitter_language_pack import get_language

    language = get_language(lang)  # type: ignore[arg-type]
    kinds = set()
    for kind_id in range(language.node_kind_count):
        name = language.node_kind_for_id(kind_id)
        if not name or not language.node_kind_is_named(kind_id):
            continue
        leaf = not name.startswith(("nested_", "scoped_", "qualified_", "blank_"))
        if leaf and (name.endswith("identifier") or name == "constant"):
            kinds.add(name)
    for chosen in (sorted(kinds), ["identifier"]):
        try:
            return Query(language, "[" + " ".join(f"({k})" for k in chosen) + "] @ref")
        except Exception:  # a kind the query language refuses (hidden, aliased)
            continue
    return None


def extract_tags(path: str, text: str) -> FileTags:
    """``text`` (the content of ``path``) parsed into its symbols and references."""
    lang = language_of(path)
    if lang is None:
        return FileTags(None)
    source = text.encode("utf-8", errors="replace")
    tree = _parser(lang).parse(source)
    symbols = list(_definitions(tree.root_node.named_children, source, depth=0))
    return FileTags(lang, tuple(symbols), _references(lang, tree.root_node))


def _references(lang: str, root: Any) -> dict[str, int]:
    from tree_sitter import QueryCursor

    query = _reference_query(lang)
    if query is None:
        return {}
    captures = QueryCursor(query).captures(root)
    names = Counter(_text(node) for nodes in captures.values() for node in nodes)
    return dict(names)


def _definitions(nodes: Any, source: bytes, depth: int) -> Iterator[Symbol]:
    for node in nodes:
        if node.type in _WRAPPERS or node.type == "expression_statement":
            inner = node.child_by_field_name("definition") or node.child_by_field_name(
                "declaration"
            )
            yield from _definitions(
                node.named_children if inner is None else [inner], source, depth
            )
            continue
        name = _name_of(node) if _is_definition(node.type) else None
        if name is None or (depth and node.type in _VARIABLES):  # fields and locals: noise
            continue
        line = node.start_point[0]
        yield Symbol(name, _kind(node.type), line, _signature(node, source), depth)
        body = _body_of(node) if depth == 0 and not _is_function(node.type) else None
        if body is not None:
            yield from _definitions(body.named_children, source, depth + 1)


def _is_definition(node_type: str) -> bool:
    if node_type.startswith(_NOT_DEFS):
        return False
    return node_type in _DEF_TYPES or node_type in _VARIABLES or node_type.endswith(_DEF_SUFFIXES)


def _name_of(node: Any) -> str | None:
    if node.type == "assignment":
        left = node.child_by_field_name("left")
        return _text(left) if left is not None and left.type == "identifier" else None
    named = node.child_by_field_name("name")
    if named is None and node.type == "impl_item":
        named = node.child_by_field_name("type")
    declarator = node.child_by_field_name("declarator")
    while named is None and declarator is not None:
        if declarator.type.endswith(_NAME_KINDS):
            named = declarator
            break
        declarator = declarator.child_by_field_name("declarator") or declarator.child_by_field_name(
            "name"
        )
    if named is None:
        return None
    name = _text(named)
    return name if re.fullmatch(r"[^\s()]{1,120}", name) else None


def _body_of(node: Any) -> Any:
    for name in _BODY_FIELDS:
        body = node.child_by_field_name(name)
        if body is not None:
            return body
    if node.type in ("class", "module"):  # Ruby: members are direct children
        return node
    return None


def _is_function(node_type: str) -> bool:
    return any(word in node_type for word in ("function", "method", "lambda", "closure"))


def _kind(node_type: str) -> str:
    if node_type in _VARIABLES:
        return "variable"
    for suffix in _DEF_SUFFIXES:
        if node_type.endswith(suffix) and node_type != suffix:
            return node_type.removesuffix(suffix)
    return node_type


def _signature(node: Any, source: bytes) -> str:
    """The node's text up to its body (``def f(a, b) -> int``, ``class A(B)``) on one line; a
    variable's name with the start of its value."""
    end = node.end_byte
    body = _body_of(node) if node.type not in ("class", "module") else None
    value = node.child_by_field_name("value") or node.child_by_field_name("right")
    if node.type in _VARIABLES:
        body = None
        end = value.start_byte if value is not None else end
    elif body is not None and body.start_byte > node.start_byte:
        end = body.start_byte
    for child in node.children:  # a comment before the body is not the signature
        if child.type == "comment" and node.start_byte < child.start_byte < end:
            end = child.start_byte
    text = source[node.start_byte : end].decode("utf-8", errors="replace")
    first_lines = text if body is not None else text.split("\n", 1)[0]
    line = " ".join(first_lines.split()).rstrip("{:= ").rstrip()
    line = re.sub(r"([(\[<]) ", r"\1", re.sub(r",? ([)\]>])", r"\1", line))
    if node.type in _VARIABLES and value is not None:
        shown = " ".join(_text(value).split())
        cut = VALUE_CHARS - 1
        line = f"{line} = {shown if len(shown) <= VALUE_CHARS else shown[:cut] + '…'}"
    if len(line) > SIGNATURE_CHARS:
        line = line[: SIGNATURE_CHARS - 1] + "…"
    return line


def _text(node: Any) -> str:
    raw: bytes | None = node.text
    return "" if raw is None else raw.decode("utf-8", errors="replace")
