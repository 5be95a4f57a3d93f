"""The discovery endpoints, answered from a :class:`~mao_tui.simulator.catalog.Catalog` in each
provider's own shape.

- Anthropic ``GET /v1/models``: ``data``, ``has_more``, ``first_id``, ``last_id``; newest first;
  paged by ``limit`` (default 20, at most 1000) and ``after_id`` / ``before_id``.
- OpenAI ``GET /v1/models``: ``{"object": "list", "data": [...]}``, one page.
- Gemini ``GET /{v1,v1beta,v1alpha}/models``: ``models`` and ``nextPageToken``; paged by
  ``pageSize`` (default 50, at most 1000) and ``pageToken``.

Anthropic and OpenAI share a path, and so does Gemini on ``v1``: the SDK's own headers tell
them apart (``anthropic-version``; ``x-goog-api-key``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mao_tui.simulator import replies
from mao_tui.simulator.catalog import Catalog, MarketModel, Vendor
from mao_tui.simulator.routes import Api
from mao_tui.simulator.sse import dumps

_PATH = re.compile(r"^/(?P<version>v1|v1beta|v1alpha)/models/?$")
_PAGE_TOKEN = re.compile(r"^sim-page-(\d+)$")


def vendor_for(method: str, path: str, headers: dict[str, str]) -> Vendor | None:
    """Whose discovery endpoint this request is for; None when it is no discovery request."""
    match = _PATH.match(path)
    if method != "GET" or match is None:
        return None
    if "x-goog-api-key" in headers:
        return "gemini"
    if match["version"] != "v1":
        return "gemini"
    return "anthropic" if "anthropic-version" in headers else "openai"


def answer(
    catalog: Catalog, vendor: Vendor, query: dict[str, list[str]], request_number: int
) -> replies.ErrorReply:
    """The page the query asks for, or the provider's error (a bad key, a bad parameter)."""
    if vendor in catalog.unauthorized:
        return _unauthorized(vendor, request_number)
    models = sorted(catalog.of(vendor), key=lambda m: (m.released, m.id), reverse=True)
    try:
        if vendor == "anthropic":
            body = _anthropic_page(models, query, catalog.page_size)
        elif vendor == "openai":
            body = {"object": "list", "data": [_openai(m) for m in models]}
        else:
            body = _gemini_page(models, query, catalog.page_size)
    except ValueError as exc:
        api: Api = "openai_chat" if vendor == "openai" else vendor
        return replies.plain_error(api, 400, str(exc), request_number)
    headers = {"content-type": "application/json"}
    return replies.ErrorReply(200, headers, dumps(body).encode())


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _size(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ValueError(f"{name}: expected an integer from 1 to 1000, got {raw!r}")
    return int(raw)


def _timestamp(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def _anthropic_page(
    models: list[MarketModel], query: dict[str, list[str]], page_size: int | None
) -> dict[str, Any]:
    limit = _size(_first(query, "limit"), page_size or 20, "limit")
    ids = [m.id for m in models]
    after, before = _first(query, "after_id"), _first(query, "before_id")
    for cursor in (after, before):
        if cursor is not None and cursor not in ids:
            raise ValueError(f"invalid cursor: {cursor}")
    if before is not None:
        end = ids.index(before)
        page = models[max(0, end - limit) : end]
        more = end - limit > 0
    else:
        start = ids.index(after) + 1 if after is not None else 0
        page = models[start : start + limit]
        more = start + limit < len(models)
    return {
        "data": [_anthropic(m) for m in page],
        "has_more": more,
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }


def _anthropic(m: MarketModel) -> dict[str, Any]:
    return {
        "type": "model",
        "id": m.id,
        "display_name": m.display_name,
        "created_at": _timestamp(m.released).isoformat().replace("+00:00", "Z"),
        "lifecycle": m.lifecycle,
        "line": m.line,
        "max_input_tokens": m.input_tokens,
        "max_tokens": m.output_tokens,
        "retires_at": (
            _timestamp(m.retires).isoformat().replace("+00:00", "Z") if m.retires else None
        ),
    }


def _openai(m: MarketModel) -> dict[str, Any]:
    return {
        "id": m.id,
        "object": "model",
        "created": int(_timestamp(m.released).timestamp()),
        "owned_by": "system",
        "shutdown_date": m.retires,
    }


def _gemini_page(
    models: list[MarketModel], query: dict[str, list[str]], page_size: int | None
) -> dict[str, Any]:
    size = _size(_first(query, "pageSize"), page_size or 50, "pageSize")
    token = _first(query, "pageToken")
    start = 0
    if token:
        match = _PAGE_TOKEN.match(token)
        if match is None:
            raise ValueError(f"pageToken: invalid page token {token!r}")
        start = int(match[1])
    page = models[start : start + size]
    body: dict[str, Any] = {"models": [_gemini(m) for m in page]}
    if start + size < len(models):
        body["nextPageToken"] = f"sim-page-{start + size}"
    return body


def _gemini(m: MarketModel) -> dict[str, Any]:
    return {
        "name": f"models/{m.id}",
        "version": "001",
        "displayName": m.display_name,
        "description": f"{m.display_name} (simulated)",
        "inputTokenLimit": m.input_tokens,
        "outputTokenLimit": m.output_tokens,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


def _unauthorized(vendor: Vendor, request_number: int) -> replies.ErrorReply:
    if vendor == "anthropic":
        return replies.anthropic_error(
            401, "authentication_error", "invalid x-api-key", request_number
        )
    if vendor == "gemini":
        return replies.gemini_error(
            400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."
        )
    return replies.openai_error(
        401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sim-****."
    )
