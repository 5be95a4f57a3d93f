"""Journal scripts made to fit their source: the simulated perspectives and entry quote the work
items and friction the request's source material lists, so a simulated entry reads like one
about that session or that git history (see ``mao_tui/playbooks/journal_source.py`` for the
material's sections)."""

from __future__ import annotations

import re

JOURNAL_KEYS = ("technical_summary", "process_reflection", "lessons_learned")
SYNTHESIS_SCRIPT = "journal_synthesis"
# The engine labels each perspective in the synthesis prompt as ``### Title (by Model)``.
_PERSPECTIVE = re.compile(
    r"^#{2,4} (Technical summary|Process reflection|Lessons learned) \(by ", re.M
)
_WORK = re.compile(r"^## The work\s*\n+(?P<about>[^\n]+)", re.M)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
MAX_ITEMS = 6
MAX_FRICTION = 4


def is_journal_synthesis(request_text: str) -> bool:
    return _PERSPECTIVE.search(request_text) is not None


def _bullets(text: str, heading: str, limit: int) -> list[str]:
    match = re.search(
        rf"^### {re.escape(heading)}\s*\n(?P<body>.*?)(?=^#{{2,4}} |\Z)", text, re.M | re.S
    )
    if match is None:
        return []
    items = [line[2:].strip() for line in match["body"].splitlines() if line.startswith("- ")]
    return [i for i in items if not i.startswith("none recorded")][:limit]


def _title(about: str) -> str:
    """What the entry is about, short: without its trailing ``(mao session …)`` or
    ``(N commits)``, up to its first colon, at most 80 characters on a word boundary."""
    title = re.sub(r"\s*\([^()]*\)\s*$", "", about).strip().rstrip(".")
    if title.startswith("git history of "):
        title = "Work on " + title.removeprefix("git history of ")
    head = re.split(r"[:;]| — ", title, maxsplit=1)[0].strip()
    if len(head) >= 12:
        title = head
    if len(title) > 80:
        title = title[:80].rsplit(" ", 1)[0]
    return title or "The work"


def _name(item: str) -> str:
    """A work item's name: a workstream's title, or a commit's subject."""
    if " — " in item:
        return item.split(" — ", 1)[0]
    return item.split(": ", 1)[1] if ": " in item else item


def facts(request_text: str) -> dict[str, str]:
    """The values of the journal scripts' ``{{placeholders}}``, from the request's material."""
    match = _WORK.search(request_text)
    about = match["about"].strip() if match else "the work"
    items = _bullets(request_text, "Work items", MAX_ITEMS)
    friction = _bullets(request_text, "Friction", MAX_FRICTION)
    summary = _bullets(request_text, "Summary", 12)
    git = any(s.startswith("repository:") for s in summary)
    first = friction[0].split(" — ", 1)[0] if friction else ""
    return {
        "about": about,
        "title": _title(about),
        "source_kind": "the commits" if git else "the session record",
        "unit": "commit" if git else "workstream",
        "item_count": str(len(items)),
        "work_items": "\n".join(f"- {i}" for i in items) or "- (the record lists no work items)",
        "friction": "\n".join(f"- {f}" for f in friction)
        or "- nothing went wrong enough to be recorded",
        "friction_count": str(len(friction)) if friction else "no",
        "first_friction": first or "nothing failed along the way",
        "friction_summary": (
            f"The record shows {len(friction)} friction point(s); none needed a person. Each "
            "was absorbed by a retry, a fallback or a follow-up change, at a cost in wall-clock "
            "time rather than quality:"
            if friction
            else "Nothing in the record went wrong: no fallbacks, no retries, no failures."
        ),
        "first_item": _name(items[0]) if items else "the first piece of work",
        "last_item": _name(items[-1]) if items else "the last piece of work",
    }


def fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), text)
