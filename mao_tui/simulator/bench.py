"""Simulated answers for `mao bench --simulate`: each task carries a correct and a plausible
wrong answer (its ``simulated/`` folder); the runner registers them here and marks each
session's spec with :data:`MARK` (task and sample number). A synthesis answering such a request
gives one of the two, chosen by a SHA-256 of model, task and sample (not a CRC: its parity is
affine in the input, so the samples would be correlated). Deterministic: some tasks pass and
some fail per arm, and more samples give more chances (best-of-N)."""

from __future__ import annotations

import hashlib
import json
import re

MARK = "(simulated bench task: {task}, sample {sample})"
_MARK = re.compile(r"\(simulated bench task: (?P<task>[A-Za-z0-9_.-]+), sample (?P<sample>\d+)\)")
# task name → (correct files, wrong files), each path → content
_ANSWERS: dict[str, tuple[dict[str, str], dict[str, str]]] = {}


def register(task: str, correct: dict[str, str], wrong: dict[str, str]) -> None:
    _ANSWERS[task] = (correct, wrong)


def mark(task: str, sample: int) -> str:
    return MARK.format(task=task, sample=sample)


def correct_for(model: str, task: str, sample: int) -> bool:
    digest = hashlib.sha256(f"{model}|{task}|{sample}".encode()).digest()
    return digest[0] % 2 == 0


def answer(request_text: str, model: str) -> tuple[str, str] | None:
    """(thinking, answer) for a bench task's synthesis, or None when the request is none."""
    found = _MARK.search(request_text)
    if found is None or found["task"] not in _ANSWERS:
        return None
    task, sample = found["task"], int(found["sample"])
    right = correct_for(model, task, sample)
    files = _ANSWERS[task][0 if right else 1]
    manifest = json.dumps(
        {"files": [{"path": p, "content": c} for p, c in sorted(files.items())]}, indent=1
    )
    thinking = f"The task is {task}; I write the change as whole files so the tests can run.\n"
    text = (
        f"## Solution\n\nThe change for {task}, as whole files.\n\n"
        f"```json mao-files\n{manifest}\n```\n"
    )
    return thinking, text
