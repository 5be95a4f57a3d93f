"""Scripted thinking and answers, chosen by the workstream key the engine puts in its prompts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mao_tui.simulator.planning import plan_reply, preflight_reply

WORKSTREAM_KEY = re.compile(r"\(key: ([A-Za-z0-9_.-]+)\)")
SCRIPTED_KEYS = ("schemas", "storage", "core_logic", "implementation", "tests", "synthesis")
GENERIC = "generic"

_ANSWER_MARKER = "<!-- answer -->\n"
_CONTRIBUTIONS = "{{contributions}}"
# How the engine labels each workstream output inside the synthesis prompt.
_OUTPUT_HEADING = re.compile(r"^#{2,4} (?P<title>[^\n(]+?) \(by (?P<model>[^)\n]+)\)\s*$", re.M)

_DEFAULT_CONTRIBUTIONS = """\
| workstream | contribution |
|---|---|
| Schemas | the pydantic models and the tag and language normalisation rules |
| Storage | the SQLite repository, migrations and the candidate query |
| Core logic | the ranking formula, its edge cases and the properties to test |
| Implementation | the FastAPI app and the glue between the layers |
| Tests | the unit tests and the end-to-end HTTP test |"""

_CONTRIBUTION_BY_TITLE = {
    "schemas": "the pydantic models and the tag and language normalisation rules",
    "storage": "the SQLite repository, migrations and the candidate query",
    "core logic": "the ranking formula, its edge cases and the properties to test",
    "implementation": "the FastAPI app and the glue between the layers",
    "tests": "the unit tests and the end-to-end HTTP test",
}


_PLANNING = {"orchestrator": plan_reply, "dependency_check": preflight_reply}


@dataclass(frozen=True, slots=True)
class Script:
    thinking: str
    answer: str


def detect_workstream(text: str) -> str | None:
    """The first ``(key: ...)`` marker in a request's text, if any."""
    match = WORKSTREAM_KEY.search(text)
    return match.group(1) if match else None


def script_for(workstream: str | None, request_text: str = "") -> Script:
    """The script for a workstream; unknown or missing keys get the generic one.

    The synthesis answer names the models that produced each workstream when the request labels
    them as ``### Title (by Model)``.
    """
    if workstream in _PLANNING:
        return Script(*_PLANNING[workstream](request_text))
    base = workstream.rsplit(".", 1)[-1] if workstream else None  # section keys: s2.schemas
    key = base if base in SCRIPTED_KEYS else GENERIC
    script = _load(key)
    if _CONTRIBUTIONS in script.answer:
        answer = script.answer.replace(_CONTRIBUTIONS, _contributions(request_text))
        script = Script(script.thinking, answer)
    return script


@cache
def _load(key: str) -> Script:
    text = resources.files("mao_tui.simulator").joinpath("content", f"{key}.md").read_text("utf-8")
    thinking, sep, answer = text.partition(_ANSWER_MARKER)
    if not sep:
        raise ValueError(f"content/{key}.md has no {_ANSWER_MARKER.strip()} separator")
    # The files are wrapped for reading; models stream thinking as unwrapped paragraphs.
    paragraphs = (" ".join(p.split()) for p in thinking.strip().split("\n\n"))
    return Script("\n\n".join(paragraphs) + "\n", answer)


def _contributions(request_text: str) -> str:
    rows = []
    for match in _OUTPUT_HEADING.finditer(request_text):
        title, model = match["title"].strip(), match["model"].strip()
        what = _CONTRIBUTION_BY_TITLE.get(title.lower(), "its workstream's output")
        rows.append(f"| {title} | {model} | {what} |")
    if not rows:
        return _DEFAULT_CONTRIBUTIONS
    return "| workstream | model | contribution |\n|---|---|---|\n" + "\n".join(rows)
