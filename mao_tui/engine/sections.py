"""Numbered sections of a Markdown spec: `## 2.`, `## 2 Storage`, `## Section 2: Data`, `### 2.1`.

A section runs from its heading to the next heading of the same or a higher level, so `2` includes
`2.1`. Headings inside fenced code blocks are not headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(
    r"^(?P<hashes>#{1,6})\s+(?:section\s+|§\s*)?(?P<number>\d+(?:\.\d+)*)\.?\)?"
    r"(?:\s*[:\-–—]\s*|\s+|$)(?P<title>.*?)\s*#*\s*$",
    re.IGNORECASE,
)
_ANY_HEADING = re.compile(r"^(#{1,6})\s")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    number: str
    title: str
    level: int
    text: str  # the heading line and everything under it

    @property
    def label(self) -> str:
        return f"{self.number} {self.title}".strip()


class SectionError(ValueError):
    pass


def parse_sections(markdown: str) -> list[Section]:
    lines = markdown.splitlines()
    headings: list[tuple[int, int, re.Match[str] | None]] = []  # (line, level, numbered match)
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _ANY_HEADING.match(line)
        if m:
            headings.append((i, len(m.group(1)), _HEADING.match(line)))
    sections = []
    for idx, (start, level, match) in enumerate(headings):
        if match is None:
            continue
        end = next((ln for ln, lv, _ in headings[idx + 1 :] if lv <= level), len(lines))
        sections.append(
            Section(
                number=match["number"],
                title=match["title"].strip(),
                level=level,
                text="\n".join(lines[start:end]).strip() + "\n",
            )
        )
    return sections


def parse_selection(value: str) -> list[str]:
    """`2,3` or `2, 3.1` → ["2", "3.1"]; a clear error for anything else."""
    parts = [p.strip() for p in value.split(",")]
    if not value.strip() or any(not re.fullmatch(r"\d+(?:\.\d+)*", p) for p in parts):
        raise SectionError(
            f"--sections expects section numbers separated by commas, e.g. 2,3 (got {value!r})"
        )
    return list(dict.fromkeys(parts))


def select_sections(markdown: str, wanted: list[str], spec_name: str) -> list[Section]:
    found = parse_sections(markdown)
    by_number: dict[str, Section] = {}
    for s in found:
        by_number.setdefault(s.number, s)
    missing = [n for n in wanted if n not in by_number]
    if missing:
        listing = "; ".join(s.label for s in found if "." not in s.number) or "none"
        raise SectionError(
            f"{spec_name}: no section {', '.join(missing)}; numbered sections found: {listing}"
        )
    return [by_number[n] for n in wanted]


def outline(markdown: str) -> str:
    """The numbered headings, one per line: context for section workstreams and the planner."""
    return "\n".join(f"{'  ' * (s.level - 1)}{s.label}" for s in parse_sections(markdown))
