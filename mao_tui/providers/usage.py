"""Reading token counts from SDK usage objects, where every field may be missing.

The SDKs build response objects without validation, so a field the server left out is either
None or not there at all (OpenAI's ``input_tokens_details`` on a minimal stream); a count that
is absent is 0, never an ``AttributeError``.
"""

from __future__ import annotations


def count(obj: object, *path: str) -> int:
    """The integer at ``obj.a.b…``; 0 when any step is missing, None, or not a number."""
    value: object = obj
    for name in path:
        if value is None:
            return 0
        value = getattr(value, name, None)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)
