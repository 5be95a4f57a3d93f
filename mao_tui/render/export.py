"""A stored session, exported whole: Markdown to read or share, JSON for scripts.

Both come from the store's read model, which holds no API key (keys are never stored), so no
export can contain one.
"""

from __future__ import annotations

import json
from typing import Literal

from mao_tui.domain.stored import SessionDetail
from mao_tui.render.session_markdown import session_markdown

ExportFormat = Literal["markdown", "json"]
JSON_FORMAT = "mao-session/1"


def render(detail: SessionDetail, fmt: ExportFormat) -> str:
    return to_json(detail) if fmt == "json" else session_markdown(detail, "full")


def to_json(detail: SessionDetail) -> str:
    data = {"format": JSON_FORMAT, **detail.model_dump(mode="json")}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
