"""A failed check's output for a fix round: the lines around the first errors (where compilers
and test runners say what is wrong), then the end (the summary), within a line budget."""

from __future__ import annotations

import re

BEFORE, AFTER, TAIL, MAX_LINES = 5, 40, 20, 80

# The first line that looks like an error report, across the supported stacks' tools.
_ERROR = re.compile(
    r"\b(error|Error|ERROR)\b|\bFAILED\b|\bFAIL\b|^E\s{2,}|Traceback \(most recent|"
    r"panicked at|^\s*●|\bTS\d{4}\b"
)


def around_first_errors(output: str) -> str:
    lines = output.rstrip().splitlines()
    if len(lines) <= MAX_LINES:
        return "\n".join(lines)
    first = next((i for i, line in enumerate(lines) if _ERROR.search(line)), None)
    if first is None:
        return "\n".join(["[… earlier output cut]", *lines[-MAX_LINES:]])
    start = max(first - BEFORE, 0)
    end = min(first + AFTER, len(lines))
    head = lines[start:end]
    parts = [f"[… {start} earlier lines cut]"] if start else []
    parts.extend(head)
    tail_start = max(end, len(lines) - TAIL)
    if tail_start > end:
        parts.append(f"[… {tail_start - end} lines cut]")
    parts.extend(lines[tail_start:])
    return "\n".join(parts)
