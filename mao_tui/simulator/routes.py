"""Which imitated API a request is for, and what the simulator needs to know from its body."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Api = Literal["anthropic", "openai_responses", "openai_chat", "gemini"]

_GEMINI_PATH = re.compile(r"^/(?:v1|v1beta|v1alpha)/models/(?P<model>[^/:]+):(?P<method>\w+)$")
_FIXED_PATHS: dict[str, Api] = {
    "/v1/messages": "anthropic",
    "/v1/responses": "openai_responses",
    "/v1/chat/completions": "openai_chat",
}
_NOT_TEXT_KEYS = frozenset({"role", "type", "model"})


@dataclass(frozen=True, slots=True)
class Route:
    api: Api
    path_model: str | None  # Gemini names the model in the path
    streaming_path: bool  # Gemini's :streamGenerateContent (others say stream in the body)


@dataclass(frozen=True, slots=True)
class ApiCall:
    api: Api
    model: str
    text: str  # system prompt plus messages, for workstream detection and input tokens
    streaming: bool
    thinking: bool  # whether the request asks to see thinking
    include_usage: bool  # chat: stream_options.include_usage
    # The thinking parameters the request set, by their wire path: {"reasoning.effort": "xhigh"}
    thinking_values: dict[str, str] = field(default_factory=dict)


def route(method: str, path: str) -> Route | None:
    if method != "POST":
        return None
    if path in _FIXED_PATHS:
        return Route(_FIXED_PATHS[path], None, False)
    match = _GEMINI_PATH.match(path)
    if match and match["method"] in ("streamGenerateContent", "generateContent"):
        return Route("gemini", match["model"], match["method"] == "streamGenerateContent")
    return None


def guess_api(path: str, headers: dict[str, str]) -> Api:
    """Whose error shape to answer an unroutable request with."""
    if (
        "/models/" in path
        or path.startswith(("/v1beta", "/v1alpha"))
        or "x-goog-api-key" in headers
    ):
        return "gemini"
    if "anthropic-version" in headers:
        return "anthropic"
    return "openai_chat"


def thinking_values(api: Api, body: dict[str, Any]) -> dict[str, str]:
    """Every thinking parameter the request set, as ``{wire path: value}``."""
    found: dict[str, object] = {}
    if api == "anthropic":
        thinking = body.get("thinking") or {}
        found["output_config.effort"] = (body.get("output_config") or {}).get("effort")
        found["thinking.budget_tokens"] = thinking.get("budget_tokens")
        if thinking.get("type") == "adaptive":
            found["thinking.type"] = "adaptive"
    elif api == "openai_responses":
        found["reasoning.effort"] = (body.get("reasoning") or {}).get("effort")
    elif api == "openai_chat":
        found["reasoning_effort"] = body.get("reasoning_effort")
        found["reasoning.effort"] = (body.get("reasoning") or {}).get("effort")
    else:
        config = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
        for snake, camel in (
            ("thinking_level", "thinkingLevel"),
            ("thinking_budget", "thinkingBudget"),
        ):
            found[f"generation_config.thinking_config.{snake}"] = config.get(
                snake, config.get(camel)
            )
    return {path: str(value) for path, value in found.items() if value not in (None, "")}


def parse_call(r: Route, body: dict[str, Any]) -> ApiCall:
    call = _parse_call(r, body)
    return replace(call, thinking_values=thinking_values(r.api, body))


def _parse_call(r: Route, body: dict[str, Any]) -> ApiCall:
    if r.api == "gemini":
        config = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
        # The SDK leaves thinkingConfig's inner keys in snake_case; accept both spellings.
        include = config.get("include_thoughts", config.get("includeThoughts"))
        return ApiCall(
            api=r.api,
            model=r.path_model or "",
            text=_text([body.get("systemInstruction"), body.get("contents")]),
            streaming=r.streaming_path,
            thinking=include is True,
            include_usage=True,
        )
    text, thinking, include_usage = _asks(r.api, body)
    return ApiCall(
        api=r.api,
        model=str(body.get("model", "")),
        text=text,
        streaming=body.get("stream") is True,
        thinking=thinking,
        include_usage=include_usage,
    )


def _asks(api: Api, body: dict[str, Any]) -> tuple[str, bool, bool]:
    """What a request to an API that names its model in the body asks for: its text, whether
    it wants to see the thinking, and (chat) whether it wants usage in the stream."""
    if api == "anthropic":
        thinking = body.get("thinking") or {}
        shown = thinking.get("type") in ("enabled", "adaptive")
        return (
            _text([body.get("system"), body.get("messages")]),
            shown and thinking.get("display") != "omitted",
            False,
        )
    if api == "openai_responses":
        reasoning = body.get("reasoning") or {}
        return (
            _text([body.get("instructions"), body.get("input")]),
            bool(reasoning.get("summary")) and reasoning.get("effort") != "none",
            False,
        )
    effort = body.get("reasoning_effort") or (body.get("reasoning") or {}).get("effort")
    return (
        _text(body.get("messages")),
        effort not in (None, "none"),
        bool((body.get("stream_options") or {}).get("include_usage")),
    )


def _text(node: object) -> str:
    parts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in _NOT_TEXT_KEYS:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return "\n".join(parts)
