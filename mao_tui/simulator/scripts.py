"""Scripted thinking and answers, chosen by the workstream key the engine puts in its prompts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mao_tui.samples.sample_repo import SAMPLE_EDITS, SAMPLE_TASK
from mao_tui.simulator import bench, candidates, journal, qa, tailored
from mao_tui.simulator.planning import plan_reply, preflight_reply

WORKSTREAM_KEY = re.compile(r"\(key: ([A-Za-z0-9_.-]+)\)")
SCRIPTED_KEYS = ("schemas", "storage", "core_logic", "implementation", "tests", "synthesis", "fix")
GENERIC = "generic"
_SAMPLE_FILES = (
    "\n## Edits\n\nThe CSV export as a new file, and two existing files changed by search/"
    "replace hunks:\n\n"
)

_ANSWER_MARKER = "<!-- answer -->\n"
_CONTRIBUTIONS = "{{contributions}}"
_MANIFEST = "{{manifest}}"
_FILE = re.compile(r"\{\{file (?P<path>[^}]+)\}\}")
_PROJECT_FILE = re.compile(r"^## (?P<path>\S+)\n\n```\w*\n(?P<body>.*?)\n```$", re.M | re.S)
# A fix round's output in the synthesis prompt (engine/fix_loop.py titles it so).
_FIX_OUTPUT = re.compile(r"^#{2,4} Fix round \d+ \(by ", re.M)
# The scripted bug of a failing first synthesis (Simulator(failing_first=True)): recency sorted
# oldest first, which the project's ranking test catches; the fix round's answer corrects it.
BUG = ("snippets/search.py", "-pair[1].updated_at.timestamp()", "pair[1].updated_at.timestamp()")
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


def script_for(
    workstream: str | None,
    request_text: str = "",
    *,
    failing_first: bool = False,
    model: str = "",
) -> Script:
    """The script for a workstream; unknown or missing keys get the generic one.

    The synthesis answer names the models that produced each workstream when the request labels
    them as ``### Title (by Model)``, and carries the demo project as its files manifest: with
    ``failing_first``, a project with :data:`BUG` in it until a fix round's output is among the
    synthesis's inputs. Fix rounds (keys ``fix1``, ``fix2``...) answer with the corrected file.
    A candidate in a race answers with the whole project, broken or not by ``model`` (a raced
    QA reviewer, with its review), and a cross-review request with a ranking
    (simulator/candidates.py).
    """
    if candidates.is_review(request_text):
        return Script(*candidates.review(model, request_text))
    base = workstream.rsplit(".", 1)[-1] if workstream else None  # section keys: s2.schemas
    if base in qa.REVIEWER_KEYS and candidates.is_candidate(request_text):  # a raced reviewer
        thinking, answer = qa.review(base, request_text)
        return Script(thinking, answer + candidates.signature(model))
    if candidates.is_candidate(request_text):
        broken = candidates.broken_for(model)
        return Script(candidates.THINKING, candidates.answer_head(model) + _manifest(broken))
    if workstream in _PLANNING:
        return Script(*_PLANNING[workstream](request_text))
    if base == "synthesis" and (solved := bench.answer(request_text, model)) is not None:
        return Script(*solved)  # `mao bench --simulate` (simulator/bench.py)
    if journal_script := _journal(base, request_text):
        return journal_script
    if base in qa.REVIEWER_KEYS:
        return Script(*qa.review(base, request_text))
    if base == "synthesis" and qa.is_qa_synthesis(request_text):
        return Script(*qa.synthesis(request_text))
    task = tailored.task_of(request_text)
    if tailored.is_off_script(task):  # a task of the user's, not the demo's snippet store
        if base == "synthesis":
            thinking, answer = tailored.synthesis(task, _contributions(request_text, for_task=True))
            if task == " ".join(SAMPLE_TASK.split()):  # mao demo --repo: hunks that apply
                answer = answer.replace(tailored.EXAMPLE_FILES, _SAMPLE_FILES)
                return Script(thinking, answer.replace(_MANIFEST, SAMPLE_EDITS))
            broken = failing_first and not _FIX_OUTPUT.search(request_text)
            return Script(thinking, answer.replace(_MANIFEST, _manifest(broken)))
        if base is not None and (part := tailored.workstream(base, task)) is not None:
            return Script(*part)
    if base and re.fullmatch(r"fix\d+", base):
        base = "fix"
    key = base if base in SCRIPTED_KEYS else GENERIC
    script = _load(key)
    answer = script.answer
    if _CONTRIBUTIONS in answer:
        answer = answer.replace(_CONTRIBUTIONS, _contributions(request_text))
    if _MANIFEST in answer:
        broken = failing_first and not _FIX_OUTPUT.search(request_text)
        answer = answer.replace(_MANIFEST, _manifest(broken))
    answer = _FILE.sub(lambda m: project_files(False)[m["path"]].rstrip("\n"), answer)
    return Script(script.thinking, answer)


def _journal(base: str | None, request_text: str) -> Script | None:
    """A journal perspective, or the journal's synthesis (told by its perspectives' headings),
    filled in from the request's source material; None for any other workstream."""
    if base in journal.JOURNAL_KEYS:
        name = base
    elif base == "synthesis" and journal.is_journal_synthesis(request_text):
        name = journal.SYNTHESIS_SCRIPT
    else:
        return None
    script, values = _load(name), journal.facts(request_text)
    return Script(journal.fill(script.thinking, values), journal.fill(script.answer, values))


@cache
def project_files(broken: bool) -> dict[str, str]:
    """The demo project (content/project.md): path → content, with :data:`BUG` if broken."""
    text = resources.files("mao_tui.simulator").joinpath("content", "project.md").read_text("utf-8")
    files = {m["path"]: m["body"] + "\n" for m in _PROJECT_FILE.finditer(text)}
    if broken:
        path, good, bad = BUG
        if good not in files[path]:
            raise ValueError(f"content/project.md: {path} no longer contains {good!r}")
        files[path] = files[path].replace(good, bad)
    return files


def _manifest(broken: bool) -> str:
    files = [{"path": path, "content": body} for path, body in project_files(broken).items()]
    body = json.dumps({"files": files}, indent=1, ensure_ascii=False)
    return f"```json mao-files\n{body}\n```\n"


@cache
def _load(key: str) -> Script:
    text = resources.files("mao_tui.simulator").joinpath("content", f"{key}.md").read_text("utf-8")
    thinking, sep, answer = text.partition(_ANSWER_MARKER)
    if not sep:
        raise ValueError(f"content/{key}.md has no {_ANSWER_MARKER.strip()} separator")
    # The files are wrapped for reading; models stream thinking as unwrapped paragraphs.
    paragraphs = (" ".join(p.split()) for p in thinking.strip().split("\n\n"))
    return Script("\n\n".join(paragraphs) + "\n", answer)


def _contributions(request_text: str, *, for_task: bool = False) -> str:
    rows = []
    for match in _OUTPUT_HEADING.finditer(request_text):
        title, model = match["title"].strip(), match["model"].strip()
        what = tailored.part_of(title) if for_task else None
        what = what or _CONTRIBUTION_BY_TITLE.get(title.lower(), "its workstream's output")
        rows.append(f"| {title} | {model} | {what} |")
    if not rows:
        return _DEFAULT_CONTRIBUTIONS
    return "| workstream | model | contribution |\n|---|---|---|\n" + "\n".join(rows)
