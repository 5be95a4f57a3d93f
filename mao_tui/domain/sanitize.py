"""Model output is untrusted: control characters are made visible before anything keeps or
shows them.

A model (or a server pretending to be one) can answer with terminal escape sequences: CSI
(cursor moves, colours, screen clears), OSC 52 (writes the clipboard), OSC 8 (a link whose
shown text differs from its target), BEL, and other C0/C1 controls. Printed raw, they act on
the user's terminal. :func:`clean` is applied once, where text enters mao: from a provider
(``engine/attempt.py``: every streamed delta and every error message), from model output
parsed as JSON (:func:`clean_json`: the orchestrator's plan and findings in
``engine/orchestrator_plan.py``, QA findings, the synthesis's files manifest), and from the
verification commands, which run code a model wrote (``engine/verify.py``). So the store,
the dashboard, headless output, exports, logs, search, the prompts of later models and files
written on the model's behalf all get the same clean text, and no new reader can forget to
clean it; the store keeps what was shown.

Nothing is silently dropped (except CR, see below): each control character becomes its visible
Unicode "control picture" (ESC → ␛, BEL → ␇), so a review still shows what the model sent.
The mapping is per character, so a sequence split across two streamed deltas is cleaned the
same as a whole one. Tab and newline are kept. CR is removed: a lone CR rewrites the current
terminal line, and CRLF becomes LF.
"""

from __future__ import annotations

import re

_PICTURES_BASE = 0x2400  # U+2400 SYMBOL FOR NULL … U+241F SYMBOL FOR UNIT SEPARATOR
_DEL_PICTURE = "\u2421"  # SYMBOL FOR DELETE
_C1_PICTURE = "\ufffd"  # C1 controls have no picture of their own
_KEPT = frozenset({"\n", "\t"})

_TABLE: dict[int, str | None] = {
    code: chr(_PICTURES_BASE + code) for code in range(0x20) if chr(code) not in _KEPT
}
_TABLE[0x0D] = None
_TABLE[0x7F] = _DEL_PICTURE
_TABLE.update({code: _C1_PICTURE for code in range(0x80, 0xA0)})

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` with every C0/C1 control character but newline and tab made visible (CR removed)."""
    return text.translate(_TABLE)


def is_clean(text: str) -> bool:
    """True when ``text`` holds no control character :func:`clean` would replace."""
    return _CONTROL.search(text) is None


def clean_json(value: object) -> object:
    """A parsed JSON value with every string in it (keys too) cleaned: a JSON string's
    ``\\u001b`` escapes decode to raw controls, so model output parsed as JSON is cleaned again."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): clean_json(v) for k, v in value.items()}
    return value


# Invisible characters that change how text reads without being seen: bidi embeddings,
# overrides and isolates (Trojan Source, CVE-2021-42574), marks, and zero-width characters.
# They are kept in the text (an Arabic string may need its marks, an emoji its joiner) and in
# files written on the model's behalf, and shown as ⟨U+XXXX⟩ wherever mao displays text.
INVISIBLE = frozenset(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C,
     *range(0x200B, 0x200E), 0x2060, 0xFEFF]
)  # fmt: skip
_INVISIBLE_TABLE = {code: f"⟨U+{code:04X}⟩" for code in INVISIBLE}


def shown(text: str) -> str:
    """``text`` as mao displays it: :func:`clean`, and every bidi control and zero-width
    character made visible as ``⟨U+202E⟩``."""
    return clean(text).translate(_INVISIBLE_TABLE)


def mark_invisible(text: str) -> str:
    """Only the bidi and zero-width part of :func:`shown`, for text already cleaned."""
    return text.translate(_INVISIBLE_TABLE)


def has_invisible(text: str) -> bool:
    return any(ord(ch) in INVISIBLE for ch in text)


def clean_keeping_crlf(text: str) -> str:
    """:func:`clean`, except that CR LF line endings stay (a file's content keeps them)."""
    return "\r\n".join(clean(part) for part in text.split("\r\n"))
