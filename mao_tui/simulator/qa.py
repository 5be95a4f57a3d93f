"""The simulated QA panel: reviewers that read the code listing in their prompt and answer with
the JSON the qa prompts ask for, citing real files and lines; and a synthesis that categorizes
the merged findings it is given.

Each reviewer looks for a few patterns of its dimension (a bare ``except``, ``Any``, ``eval``,
a SQL string built with an f-string...), as a quick human reviewer would; error handling and
security both flag a swallowed exception, so the report has a duplicate to merge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

REVIEWER_KEYS = ("prd_compliance", "error_handling", "type_safety", "architecture", "security")
_FILE = re.compile(
    r"^#### File: (?P<path>.+?) \((?P<n>\d+) lines?\)\n\n(?P<fence>```|~~~~)\n", re.M
)
_LINE = re.compile(r"^ *(?P<no>\d+) \| (?P<code>.*)$")
_FINDINGS_BLOCK = re.compile(r"```json qa-findings\n(?P<body>.*?)\n```", re.S)
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    severity: str
    title: str
    detail: str
    fix: str


def _r(pattern: str, severity: str, title: str, detail: str, fix: str) -> _Rule:
    return _Rule(re.compile(pattern), severity, title, detail, fix)


_SWALLOWED = _r(
    r"except(\s+Exception)?\s*:\s*(pass)?\s*$",
    "high",
    "Exception swallowed by a bare except",
    "Every failure here, including bugs, is silently ignored; the caller cannot tell that the "
    "operation did not happen.",
    "Catch the specific exceptions this code can recover from and re-raise or log the rest.",
)
_RULES: dict[str, list[_Rule]] = {
    "error_handling": [
        _SWALLOWED,
        _r(
            r"\bopen\([^)]*\)(?!\s*as\b)(?!.*\bwith\b)",
            "medium",
            "File opened without a context manager",
            "If anything between open() and close() raises, the file handle leaks.",
            "Use `with open(...) as f:` so the file is closed on every path.",
        ),
        _r(
            r"\bint\(\s*input\(|json\.loads\(",
            "medium",
            "Unvalidated parse of external input",
            "A malformed value raises an uncaught ValueError that reaches the user as a traceback.",
            "Catch the parse error and report which input was invalid and why.",
        ),
    ],
    "security": [
        _r(
            r"\beval\(|\bexec\(",
            "critical",
            "eval() on data that can come from outside",
            "Anyone who controls this string runs arbitrary code in the process.",
            "Parse the value (ast.literal_eval or json.loads) instead of evaluating it.",
        ),
        _r(
            r"(execute|executescript)\(\s*f[\"']|(SELECT|INSERT|UPDATE|DELETE)[^\"']*[\"']\s*[%+]",
            "high",
            "SQL built by string formatting",
            "A crafted value can change the query (SQL injection).",
            "Pass values as parameters: execute('... WHERE id = ?', (value,)).",
        ),
        _r(
            r"(?i)(password|secret|api_key|token)\s*=\s*[\"'][^\"']+[\"']",
            "high",
            "Secret hard-coded in source",
            "The credential is in version control and every copy of the code.",
            "Read it from the environment or a secrets store; rotate the exposed value.",
        ),
        _r(
            r"shell\s*=\s*True|os\.system\(",
            "high",
            "Shell command built from a string",
            "Shell metacharacters in any interpolated value run extra commands.",
            "Run an argv list with subprocess.run([...]) and no shell.",
        ),
        _SWALLOWED,
    ],
    "type_safety": [
        _r(
            r"\bAny\b",
            "medium",
            "Any defeats type checking here",
            "Values typed Any are unchecked wherever they flow; mistakes surface at run time.",
            "Give the precise type, or a TypedDict / dataclass for structured data.",
        ),
        _r(
            r"#\s*type:\s*ignore",
            "low",
            "type: ignore hides a type error",
            "The suppressed error may be a real bug; nothing records why it is safe.",
            "Fix the underlying type, or narrow the ignore to its error code with a reason.",
        ),
        _r(
            r"^\s*def \w+\((?:(?!->).)*\)\s*:\s*$",
            "low",
            "Function without type annotations",
            "Callers get no checking of arguments or return value.",
            "Annotate the parameters and the return type.",
        ),
    ],
    "architecture": [
        _r(
            r"^\s*global\s+\w+",
            "medium",
            "Mutable global state",
            "Module-level state couples every caller and makes the code hard to test and reuse.",
            "Pass the state explicitly or keep it in an object the caller owns.",
        ),
        _r(
            r"^(?:import|from)\s+\S+.*\*",
            "low",
            "Wildcard import blurs the module boundary",
            "Names arrive from elsewhere invisibly; a change there silently changes this module.",
            "Import the names used, explicitly.",
        ),
    ],
    "prd_compliance": [
        _r(
            r"\b(TODO|FIXME|XXX)\b|raise NotImplementedError|^\s*\.\.\.\s*$",
            "high",
            "Requirement left unimplemented",
            "The code marks this behaviour as not done; the requirement it serves is not met.",
            "Implement the behaviour the requirement describes and add a test for it.",
        ),
    ],
}
_BASE_SCORE = {
    "prd_compliance": 88,
    "error_handling": 84,
    "type_safety": 86,
    "architecture": 90,
    "security": 92,
}
_PENALTY = {"critical": 30, "high": 15, "medium": 8, "low": 3, "info": 0}
_THINKING = {
    "prd_compliance": "I read the requirements first and then trace each to the code. Markers of "
    "unfinished work are the clearest evidence of a gap, so I look for those, then check that "
    "each file does what the task says it should.",
    "error_handling": "I follow each failure path: where can this raise, and who handles it? "
    "Broad excepts that swallow errors matter most; then resources opened without a guard and "
    "parses of external input that can fail.",
    "type_safety": "I look at the signatures first: which functions are unannotated, where Any "
    "leaks in, where type: ignore hides something. Each of those is a place a mistake passes "
    "the checker.",
    "architecture": "Stepping back: how are the modules split, which way do dependencies point, "
    "is there hidden global state? A few structural findings are worth more than many local ones.",
    "security": "I consider every input an attacker controls and follow it to a sink: eval, SQL, "
    "the shell, secrets in the source. Then I rate what an attacker would gain.",
}


def _files(request_text: str) -> list[tuple[str, list[tuple[int, str]]]]:
    files = []
    for m in _FILE.finditer(request_text):
        end = request_text.find("\n" + m["fence"] + "\n", m.end())
        body = request_text[m.end() : end if end >= 0 else len(request_text)]
        lines = []
        for raw in body.splitlines():
            lm = _LINE.match(raw)
            if lm:
                lines.append((int(lm["no"]), lm["code"]))
        files.append((m["path"], lines))
    return files


def review(key: str, request_text: str) -> tuple[str, str]:
    """(thinking, answer) of reviewer ``key`` for the code in ``request_text``."""
    files = _files(request_text)
    findings: list[dict[str, object]] = []
    for path, lines in files:
        for rule in _RULES[key]:
            for no, code in lines:
                if rule.pattern.search(code):
                    findings.append(
                        {
                            "severity": rule.severity,
                            "file": path,
                            "line": no,
                            "title": rule.title,
                            "detail": f"`{code.strip()[:80]}`: {rule.detail}",
                            "suggested_fix": rule.fix,
                        }
                    )
                    break  # one finding per rule and file: the first place it occurs
    penalty = sum(_PENALTY[str(f["severity"])] for f in findings)
    score = max(20, _BASE_SCORE[key] - penalty)
    summary = (
        f"{len(findings)} finding{'s' if len(findings) != 1 else ''} across {len(files)} "
        f"file{'s' if len(files) != 1 else ''}; score {score}."
    )
    answer = json.dumps({"score": score, "summary": summary, "findings": findings}, indent=2)
    return _THINKING[key], f"```json\n{answer}\n```\n"


_KIND_FOR = {
    "Exception swallowed": "error_handling",
    "eval()": "security",
    "SQL built": "security",
    "Secret hard-coded": "security",
    "Shell command": "security",
    "Any defeats": "type_safety",
    "type: ignore": "type_safety",
    "without type annotations": "type_safety",
    "global state": "architecture",
    "Wildcard import": "architecture",
    "unimplemented": "prd_compliance",
    "context manager": "error_handling",
    "Unvalidated parse": "error_handling",
}
_CATEGORY_NAME = {
    "security": "Untrusted input reaches dangerous sinks",
    "error_handling": "Failures hidden or unhandled",
    "type_safety": "Gaps in static typing",
    "architecture": "Structure and coupling",
    "prd_compliance": "Requirements not yet met",
}


def is_qa_synthesis(request_text: str) -> bool:
    return _FINDINGS_BLOCK.search(request_text) is not None


def synthesis(request_text: str) -> tuple[str, str]:
    """(thinking, answer) of the QA synthesis: categories by the underlying problem."""
    m = _FINDINGS_BLOCK.search(request_text)
    findings: list[dict[str, Any]] = json.loads(m["body"]) if m else []
    groups: dict[str, list[str]] = {}
    worst_of: dict[str, int] = {}
    for f in findings:
        title = str(f.get("title", ""))
        reviewers = f.get("reviewers") or ["prd_compliance"]
        kind = next((k for part, k in _KIND_FOR.items() if part in title), str(reviewers[0]))
        groups.setdefault(kind, []).append(str(f["id"]))
        rank = _SEVERITY.get(str(f.get("severity")), 4)
        worst_of[kind] = min(worst_of.get(kind, 4), rank)
    kinds = sorted(groups, key=lambda kind: worst_of[kind])
    worst = [f for f in findings if f.get("severity") in ("critical", "high")]
    merged = [str(f["id"]) for f in findings if len(f.get("reviewers") or []) > 1]
    lines = [
        "## Verdict",
        "",
        f"{len(findings)} findings after merging; {len(worst)} of them critical or high. "
        + (
            "Fix those before anything else: they are the ones a user or an attacker will meet."
            if worst
            else "Nothing blocks a release; the rest is hygiene."
        ),
        "",
        "## What to fix first",
        "",
    ]
    for kind in kinds:
        lines.append(f"- **{_CATEGORY_NAME.get(kind, kind)}**: {', '.join(groups[kind])}")
    if merged:
        lines += [
            "",
            f"Several reviewers reported the same problem ({', '.join(merged)}); they agree on "
            "the fix.",
        ]
    categories = [
        {"name": _CATEGORY_NAME.get(kind, kind), "fix_kind": kind, "findings": groups[kind]}
        for kind in kinds
    ]
    block = json.dumps({"categories": categories}, indent=1)
    thinking = (
        "The reviewers overlap where error handling and security meet, and code has already "
        "merged those. I group the rest by the underlying problem rather than by reviewer, so "
        "each category has one owner, and order them by their worst finding."
    )
    return thinking, "\n".join(lines) + f"\n\n```json qa-categories\n{block}\n```\n"


def break_json(answer: str) -> str:
    """The ``bad_json`` fault: the same answer made invalid as a careless model might, a
    finding's severity outside the schema (else the JSON's last closing brace dropped)."""
    broken = re.sub(r'"severity": "\w+"', '"severity": "severe"', answer, count=1)
    if broken != answer:
        return broken
    index = answer.rfind("}")
    return answer[:index] + answer[index + 1 :] if index >= 0 else answer + "{"
