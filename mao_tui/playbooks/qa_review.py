"""QA by code: parse and validate each reviewer's JSON, merge duplicate findings, compute the
weighted score, apply the synthesis model's categories, and write the report.

Nothing here calls a model; ``qa_output.py`` does, and hands the texts to these functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mao_tui.domain.qa_records import (
    SEVERITY_RANK,
    QaReport,
    ReportFinding,
    Review,
    ReviewerResult,
    ReviewerStatus,
    ReviewFinding,
    Score,
)
from mao_tui.domain.sanitize import clean_json
from mao_tui.engine.orchestrator_plan import extract_json
from mao_tui.settings.schema import QaConfig

_JSON_BLOCK = re.compile(r"```json[^\n]*\n(?P<body>.*?)```", re.S)
_CATEGORIES_BLOCK = re.compile(r"```json qa-categories\n(?P<body>.*?)```", re.S)
# The heading the code listing gives each reviewed file (see qa_targets.render_listing).
FILE_HEADING = re.compile(r"^#### File: (?P<path>.+?) \((?P<lines>\d+) lines?\)$", re.M)


def reviewed_files(listing: str) -> dict[str, int]:
    """Path → line count of every file in a code listing (the session's spec text)."""
    return {m["path"]: int(m["lines"]) for m in FILE_HEADING.finditer(listing)}


def normalize_path(path: str | None) -> str | None:
    if path is None:
        return None
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path or None


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(the object)"
        got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
        problems.append(f"{where}: {err['msg']}{got}")
    return problems


def parse_review(text: str, files: Mapping[str, int]) -> tuple[Review | None, list[str]]:
    """The review in a reviewer's answer, or the problems that make it unusable (one per
    line, each naming the field), which the repair round sends back to the model.

    Beyond the schema, each finding must name a reviewed file (or none) and a line inside it.
    """
    try:
        raw = extract_json(text)
    except ValueError as exc:
        return None, [str(exc)]
    try:
        review = Review.model_validate(raw)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    problems: list[str] = []
    findings = []
    for i, f in enumerate(review.findings):
        path = normalize_path(f.file)
        if path is not None and files and path not in files:
            problems.append(
                f"findings.{i}.file: {f.file!r} is not a reviewed file; "
                f"reviewed: {', '.join(sorted(files))}"
            )
        elif path is not None and f.line is not None and f.line > files.get(path, f.line):
            problems.append(
                f"findings.{i}.line: {f.line} is past the end of {path} ({files[path]} lines)"
            )
        findings.append(f.model_copy(update={"file": path}))
    if problems:
        return None, problems
    return review.model_copy(update={"findings": findings}), []


def repair_request(problems: Sequence[str], previous: str) -> str:
    """What the repair round appends to the reviewer's original prompt."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "\n\n## Your review could not be used\n\n"
        f"{listed}\n\nHere is what you sent:\n\n{previous[-6000:]}\n\n"
        "Send the corrected review: the same JSON shape (score 0-100, summary, findings with "
        "severity, file, line, title, detail, suggested_fix), only files and lines from the "
        "listing. Reply with the JSON block only."
    )


# -- the weighted score ----------------------------------------------------------------------


def weighted_score(
    weights: Mapping[str, float],
    scores: Mapping[str, float | None],
    *,
    min_coverage: float,
    titles: Mapping[str, str] | None = None,
) -> Score:
    """Σ weight·score / Σ weight over the reviewers with a valid review.

    With every reviewer that is the plain weighted mean (the weights sum to 100). A reviewer
    without a valid review drops out and the rest are renormalized, as long as they hold at
    least ``min_coverage`` percent of the weight; below that there is no score.
    """
    names = titles or {}
    present = {k: s for k, s in scores.items() if s is not None and k in weights}
    missing = [k for k in weights if k not in present]
    coverage = sum(weights[k] for k in present)
    missing_text = ", ".join(names.get(k, k) for k in missing)
    if not present or coverage + 1e-9 < min_coverage:
        note = (
            f"no score: only {coverage:g}% of the weight was reviewed, {min_coverage:g}% needed"
            + (f"; missing: {missing_text}" if missing else "")
        )
        return Score(value=None, coverage=coverage, missing=missing, note=note)
    value = round(sum(weights[k] * s for k, s in present.items()) / coverage, 1)
    if not missing:
        return Score(
            value=value, coverage=coverage, note=f"weighted over all {len(weights)} reviewers"
        )
    note = (
        f"renormalized over {len(present)} of {len(weights)} reviewers ({coverage:g}% of the "
        f"weight); missing: {missing_text}"
    )
    return Score(value=value, coverage=coverage, missing=missing, renormalized=True, note=note)


# -- de-duplication --------------------------------------------------------------------------

_STOPWORDS = frozenset(
    {
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without",
        "is", "are", "be", "not", "no", "and", "or", "its", "it", "this", "that", "as", "into",
    }
)  # fmt: skip
_SUFFIXES = ("ations", "ation", "ions", "ion", "ing", "ed", "es", "s")
TITLE_SIMILARITY = 0.5


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _title_words(title: str) -> set[str]:
    words = re.findall(r"[a-z0-9_]+", title.lower())
    return {_stem(w) for w in words if w not in _STOPWORDS}


def similar_titles(a: str, b: str) -> bool:
    """Do two titles name the same problem? Word overlap (stemmed, without stopwords) or
    character similarity, whichever is higher, at least :data:`TITLE_SIMILARITY`."""
    wa, wb = _title_words(a), _title_words(b)
    jaccard = len(wa & wb) / len(wa | wb) if wa | wb else 1.0
    ratio = SequenceMatcher(None, a.lower(), b.lower()).ratio()
    return max(jaccard, ratio) >= TITLE_SIMILARITY


@dataclass
class _Cluster:
    file: str | None
    line: int | None
    members: list[tuple[str, ReviewFinding]] = field(default_factory=list)

    def accepts(self, finding: ReviewFinding) -> bool:
        if (finding.file, finding.line) != (self.file, self.line):
            return False
        return any(similar_titles(finding.title, f.title) for _, f in self.members)


def dedupe(
    findings: Sequence[tuple[str, ReviewFinding]], fix_kind_of: Callable[[str], str]
) -> list[ReportFinding]:
    """Merge findings at the same file and line whose titles are similar; the merged one keeps
    the worst severity and that finding's text, and lists every reviewer. Worst first."""
    clusters: list[_Cluster] = []
    for reviewer, f in findings:
        home = next((c for c in clusters if c.accepts(f)), None)
        if home is None:
            home = _Cluster(f.file, f.line)
            clusters.append(home)
        home.members.append((reviewer, f))
    merged = []
    for c in clusters:
        reviewer, lead = min(c.members, key=lambda m: SEVERITY_RANK[m[1].severity])
        merged.append(
            ReportFinding(
                id="",
                severity=lead.severity,
                file=c.file,
                line=c.line,
                title=lead.title,
                detail=lead.detail,
                suggested_fix=lead.suggested_fix,
                reviewers=list(dict.fromkeys(r for r, _ in c.members)),
                fix_kind=fix_kind_of(reviewer),
            )
        )
    merged.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.file or "~", f.line or 0))
    return [f.model_copy(update={"id": f"F{i}"}) for i, f in enumerate(merged, 1)]


def findings_for_prompt(findings: Sequence[ReportFinding]) -> str:
    """The merged findings as the synthesis model sees them."""
    rows = [
        {
            "id": f.id,
            "severity": f.severity,
            "file": f.file,
            "line": f.line,
            "title": f.title,
            "detail": f.detail,
            "reviewers": f.reviewers,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=1, ensure_ascii=False)


def scores_for_prompt(results: Sequence[ReviewerResult], score: Score) -> str:
    lines = ["| reviewer | model | weight | score |", "|---|---|---|---|"]
    for r in results:
        shown = f"{r.score:g}" if r.score is not None else f"none ({r.status})"
        lines.append(f"| {r.title} | {r.model or '-'} | {r.weight:g}% | {shown} |")
    value = f"{score.value:g}" if score.value is not None else "none"
    return "\n".join(lines) + f"\n\nWeighted score: {value} ({score.note})"


# -- categories from the synthesis -----------------------------------------------------------


class _Category(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    fix_kind: str = ""
    findings: list[str] = Field(default_factory=list)


class _Categories(BaseModel):
    model_config = ConfigDict(extra="ignore")

    categories: list[_Category]


def parse_categories(text: str) -> tuple[list[_Category], str, str]:
    """(categories, the narrative without the block, the problem) from the synthesis answer;
    the categories are empty and the problem says why when the block is missing or invalid."""
    match = _CATEGORIES_BLOCK.search(text)
    narrative = (text[: match.start()] + text[match.end() :]).strip() if match else text.strip()
    body = match["body"] if match else None
    if body is None:
        blocks = list(_JSON_BLOCK.finditer(text))
        if not blocks:
            return [], narrative, "no ```json qa-categories block"
        body = blocks[-1]["body"]
    try:
        cats = _Categories.model_validate(clean_json(json.loads(body))).categories
    except json.JSONDecodeError as exc:
        return [], narrative, f"the categories do not parse: {exc.msg} at line {exc.lineno}"
    except ValidationError as exc:
        return [], narrative, "the categories are invalid: " + "; ".join(_pydantic_problems(exc))
    return cats, narrative, ""


def categorize(
    findings: Sequence[ReportFinding],
    categories: Sequence[_Category],
    qa: QaConfig,
    titles: Mapping[str, str],
) -> list[ReportFinding]:
    """Each finding with the category the synthesis gave it (first mention wins) and that
    category's fix kind when it is one of ``qa.fixes``; otherwise its reviewer's."""
    placed: dict[str, tuple[str, str | None]] = {}
    for cat in categories:
        kind = cat.fix_kind if cat.fix_kind in qa.fixes else None
        for fid in cat.findings:
            placed.setdefault(fid.strip(), (cat.name.strip(), kind))
    out = []
    for f in findings:
        if categories:
            name, kind = placed.get(f.id, ("Uncategorized", None))
        else:  # categorized by code: the reviewer's dimension
            name, kind = titles.get(f.reviewers[0], f.reviewers[0]), None
        out.append(f.model_copy(update={"category": name, "fix_kind": kind or f.fix_kind}))
    return out


def assign(
    findings: Sequence[ReportFinding], qa: QaConfig, model_for_route: Callable[[str], str | None]
) -> list[ReportFinding]:
    """The fixing model of each finding: the first usable model of its fix kind's route."""
    out = []
    for f in findings:
        route = qa.fixes.get(f.fix_kind, "")
        model = model_for_route(route) if route else None
        out.append(f.model_copy(update={"fix_route": route, "assigned_model": model}))
    return out


# -- the report ------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(task: str, report: QaReport) -> str:
    score = report.score
    headline = (
        f"**Weighted score: {score.value:g} / 100** ({score.note})"
        if score.value is not None
        else f"**No weighted score** ({score.note})"
    )
    lines = [f"# QA report: {_cell(task)}", "", headline, ""]
    lines += ["| reviewer | model | weight | score | status |", "|---|---|---|---|---|"]
    for r in report.reviewers:
        shown = f"{r.score:g}" if r.score is not None else "—"
        status = r.status + (f": {_cell(r.error)}" if r.error else "")
        lines.append(f"| {r.title} | {r.model or '—'} | {r.weight:g}% | {shown} | {status} |")
    count = len(report.findings)
    merged = report.raw_findings - count
    lines += [
        "",
        f"## Findings ({count}"
        + (f", {merged} duplicate{'s' if merged != 1 else ''} merged" if merged else "")
        + ")",
        "",
    ]
    if report.findings:
        lines += [
            "| id | severity | file:line | title | reviewers | category | fix by |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in report.findings:
            lines.append(
                f"| {f.id} | {f.severity} | {_cell(f.location)} | {_cell(f.title)} | "
                f"{', '.join(f.reviewers)} | {_cell(f.category)} | {f.assigned_model or '—'} |"
            )
    else:
        lines.append("No findings.")
    by_category: dict[str, list[ReportFinding]] = {}
    for f in report.findings:
        by_category.setdefault(f.category, []).append(f)
    if by_category:
        how = "the synthesis model" if report.categorized_by == "model" else "code, by reviewer"
        lines += ["", f"### Fix assignments (categorized by {how})", ""]
        for name, items in by_category.items():
            kinds = sorted({f.fix_kind for f in items})
            models = sorted({f.assigned_model or "—" for f in items})
            lines.append(
                f"- **{_cell(name)}** ({', '.join(kinds)} → {', '.join(models)}): "
                + ", ".join(f.id for f in items)
            )
    if report.synthesis_note:
        lines += ["", f"## Synthesis (by {report.synthesis_model or '—'})", ""]
        lines.append(report.synthesis_note.strip())
    if report.findings:
        lines += ["", "## Details", ""]
        for f in report.findings:
            lines += [f"### {f.id} [{f.severity}] {f.location}: {f.title}", ""]
            if f.detail:
                lines += [f.detail.strip(), ""]
            if f.suggested_fix:
                lines += [
                    f"**Suggested fix** ({f.assigned_model or 'unassigned'}): "
                    f"{f.suggested_fix.strip()}",
                    "",
                ]
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class ReviewerInput:
    """What the engine knows of one reviewer when the report is built."""

    key: str
    title: str
    model: str | None
    text: str  # its final answer ("" when no model answered)
    answered: bool  # a model finished (even if what it wrote is invalid)
    repaired: bool = False
    failure: str = ""  # why no model answered, when it did not


def reviewer_results(
    inputs: Sequence[ReviewerInput], qa: QaConfig, files: Mapping[str, int]
) -> list[ReviewerResult]:
    return [_reviewer_result(r, qa, files) for r in inputs]


def _reviewer_result(r: ReviewerInput, qa: QaConfig, files: Mapping[str, int]) -> ReviewerResult:
    def result(status: ReviewerStatus, **found: Any) -> ReviewerResult:
        weight = qa.weights.get(r.key, 0.0)
        return ReviewerResult(
            key=r.key, title=r.title, weight=weight, model=r.model, status=status, **found
        )

    if not r.answered:
        return result("failed", error=r.failure or "no model produced a review")
    review, problems = parse_review(r.text, files)
    if review is None:
        why = "invalid review after one repair round: " + "; ".join(problems)
        return result("invalid", error=why)
    return result(
        "repaired" if r.repaired else "ok",
        score=review.score,
        summary=review.summary,
        findings=review.findings,
    )


def build_report(
    task: str,
    results: Sequence[ReviewerResult],
    merged: Sequence[ReportFinding],
    score: Score,
    qa: QaConfig,
    synthesis_text: str,
    synthesis_model: str | None,
    model_for_route: Callable[[str], str | None],
) -> QaReport:
    """The report: the synthesis's categories applied when it gave valid ones, else the
    reviewers' dimensions as categories (and the synthesis note says why)."""
    titles = {r.key: r.title for r in results}
    categories, narrative, problem = (
        parse_categories(synthesis_text) if synthesis_text else ([], "", "no synthesis")
    )
    findings = assign(categorize(merged, categories, qa, titles), qa, model_for_route)
    if problem and synthesis_text:
        narrative = (
            f"{narrative}\n\n*Categorized by code (the synthesis categories were unusable: "
            f"{problem}).*"
        ).strip()
    report = QaReport(
        score=score,
        reviewers=list(results),
        findings=findings,
        raw_findings=sum(len(r.findings) for r in results),
        categorized_by="model" if categories else "code",
        synthesis_model=synthesis_model,
        synthesis_note=narrative,
    )
    return report.model_copy(update={"markdown": render_markdown(task, report)})
