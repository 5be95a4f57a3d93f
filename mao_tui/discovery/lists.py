"""The stored model lists: one JSON file in the user data directory, validated on the way in and
out. A list belongs to the endpoint it came from, so a list fetched from one server (a proxy, the
simulator) never speaks for another."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mao_tui.settings.schema import ProviderConfig

FILE_NAME = "models.json"
# Where each SDK sends requests when neither the configuration nor the environment says.
_DEFAULT_ENDPOINT = {
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "openai_chat": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "gemini": ("GOOGLE_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
}
LISTED_KINDS = frozenset(_DEFAULT_ENDPOINT)
Lifecycle = Literal["active", "deprecated", "retired"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OfferedModel(_Strict):
    """One entry of a provider's list, in the fields the three providers have between them."""

    id: str = Field(min_length=1)  # the name requests use (Gemini's without ``models/``)
    display_name: str | None = None
    created: datetime | None = None
    lifecycle: Lifecycle | None = None  # Anthropic's; OpenAI's shutdown_date makes deprecated
    retires: date | None = None  # Anthropic retires_at, OpenAI shutdown_date
    input_token_limit: int | None = Field(default=None, gt=0)  # Gemini, Anthropic
    output_token_limit: int | None = Field(default=None, gt=0)


class ProviderList(_Strict):
    provider: str
    kind: str
    endpoint: str  # the base URL the list came from
    fetched_at: datetime
    models: list[OfferedModel]


class StoredLists(_Strict):
    format: Literal[1] = 1
    providers: dict[str, ProviderList] = Field(default_factory=dict)


class ListsError(Exception):
    """The stored file could not be read or is not a list mao wrote."""


def lists_path() -> Path:
    """``models.json`` in the platform's user data directory, beside the session database."""
    return Path(platformdirs.user_data_dir("mao", appauthor=False)) / FILE_NAME


def endpoint_of(cfg: ProviderConfig, env: Mapping[str, str]) -> str:
    """The base URL the provider's SDK will use: configuration, then environment, then default."""
    variable, default = _DEFAULT_ENDPOINT.get(cfg.kind, ("", ""))
    url = cfg.base_url or (env.get(variable, "").strip() if variable else "") or default
    return url.rstrip("/")


def load_lists(path: Path | None = None) -> StoredLists | None:
    """The stored lists; None when none were ever fetched. Raises :class:`ListsError`."""
    path = path or lists_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ListsError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return StoredLists.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ListsError(
            f"{path}: not a model list mao wrote ({where}: {first['msg']}); "
            "run `mao models --refresh` to replace it"
        ) from None


_CACHE: dict[Path, tuple[tuple[int, int], StoredLists | None]] = {}


def load_lists_cached(path: Path | None = None) -> StoredLists | None:
    """:func:`load_lists`, read again only when the file changed (routes are resolved many
    times a session)."""
    path = path or lists_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        _CACHE.pop(path, None)
        return None
    except OSError:
        return load_lists(path)
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    lists = load_lists(path)
    _CACHE[path] = (stamp, lists)
    return lists


def save_lists(lists: StoredLists, path: Path | None = None) -> Path:
    """Write atomically (a reader never sees half a file); returns the path."""
    path = path or lists_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".models-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(lists.model_dump_json(indent=1))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
