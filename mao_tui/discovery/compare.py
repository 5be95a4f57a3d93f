"""The stored lists against the registry: which models a provider does not offer (what sessions
skip), which new models joined a routed family, and which limits differ from the registry's."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from mao_tui.discovery.lists import (
    ListsError,
    OfferedModel,
    ProviderList,
    StoredLists,
    endpoint_of,
    load_lists_cached,
)
from mao_tui.settings.schema import ModelConfig, Settings

log = logging.getLogger(__name__)
FindingKind = Literal["not_offered", "new_in_family", "limits"]
_VERSION = re.compile(r"^(\d+(\.\d+)*|\d{8}|preview|latest|exp|experimental)$")
_SNAPSHOT = re.compile(r"^-(\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    provider: str
    message: str
    model: str | None = None  # the registry's model id, when it is about one
    routed: bool = False


def current_lists(
    settings: Settings, stored: StoredLists | None, env: Mapping[str, str]
) -> dict[str, ProviderList]:
    """The stored lists that speak for the configured providers: same kind, same endpoint."""
    if stored is None:
        return {}
    current = {}
    for pid, listing in stored.providers.items():
        cfg = settings.registry.providers.get(pid)
        if cfg is None or cfg.kind != listing.kind or endpoint_of(cfg, env) != listing.endpoint:
            continue
        current[pid] = listing
    return current


def offered(listing: ProviderList, api_model: str) -> OfferedModel | None:
    """The entry under which the provider offers ``api_model``: the same id, or a dated
    snapshot of it (``claude-x-20261112``); None when it is absent or listed as retired."""
    for entry in listing.models:
        if entry.lifecycle == "retired":
            continue
        if entry.id == api_model or _SNAPSHOT.match(entry.id.removeprefix(api_model) or "x"):
            return entry
    return None


def retired_entry(listing: ProviderList, api_model: str) -> OfferedModel | None:
    return next((e for e in listing.models if e.id == api_model and e.lifecycle == "retired"), None)


def not_offered_reason(listing: ProviderList, model: ModelConfig) -> str | None:
    """Why the provider's stored list says the model cannot be called, or None if it can."""
    if offered(listing, model.api_model) is not None:
        return None
    when = listing.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
    gone = retired_entry(listing, model.api_model)
    if gone is not None:
        since = f" on {gone.retires.isoformat()}" if gone.retires else ""
        return (
            f"{listing.provider} lists {model.api_model} as retired{since} (model list of {when})"
        )
    return f"{model.api_model} is not in {listing.provider}'s model list of {when}"


def unavailable(
    settings: Settings, stored: StoredLists | None, env: Mapping[str, str]
) -> dict[str, str]:
    """Every registry model its provider's stored list does not offer, with the reason."""
    lists = current_lists(settings, stored, env)
    found = {}
    for model_id, model in settings.registry.models.items():
        listing = lists.get(model.provider)
        reason = not_offered_reason(listing, model) if listing is not None else None
        if reason is not None:
            found[model_id] = reason
    return found


def stored_unavailable(settings: Settings) -> dict[str, str]:
    """:func:`unavailable` by the lists stored in the user data directory, for the endpoints
    this process's providers use; an unreadable file is logged and ignored (the registry then
    stands as it is; `mao models` shows the error)."""
    try:
        stored = load_lists_cached()
    except ListsError as exc:
        log.warning("model lists ignored: %s", exc)
        return {}
    return unavailable(settings, stored, os.environ)


def routed_models(settings: Settings) -> dict[str, list[str]]:
    """Each routed model with the routes (and ``universal_fallback``) that use it."""
    used: dict[str, list[str]] = {}
    for key, route in settings.routing.routes.items():
        for model_id in dict.fromkeys([route.primary, *route.fallbacks]):
            used.setdefault(model_id, []).append(key)
    used.setdefault(settings.routing.universal_fallback, []).append("universal_fallback")
    return used


def family_key(model_name: str) -> str:
    """``claude-opus-4-5`` and ``claude-opus-5-5`` → ``claude-opus``; ``gemini-3-pro-preview``
    and ``gemini-3.1-pro-preview`` → ``gemini-pro``: the name without versions and dates."""
    parts = model_name.lower().removeprefix("models/").split("-")
    return "-".join(p for p in parts if not _VERSION.match(p))


def compare(
    settings: Settings, stored: StoredLists | None, env: Mapping[str, str]
) -> list[Finding]:
    lists = current_lists(settings, stored, env)
    routed = routed_models(settings)
    findings: list[Finding] = []
    for model_id, model in settings.registry.models.items():
        listing = lists.get(model.provider)
        if listing is None:
            continue
        uses = routed.get(model_id)
        reason = not_offered_reason(listing, model)
        if reason is not None:
            tail = (
                f"; used by {', '.join(uses)}: sessions replace it before any request"
                if uses
                else "; not routed"
            )
            findings.append(
                Finding(
                    "not_offered",
                    model.provider,
                    f"{model_id}: {reason}{tail}",
                    model_id,
                    bool(uses),
                )
            )
            continue
        entry = offered(listing, model.api_model)
        assert entry is not None
        for name, mine, theirs in (
            ("context_window", model.context_window, entry.input_token_limit),
            ("max_output_tokens", model.max_output_tokens, entry.output_token_limit),
        ):
            if theirs is not None and theirs != mine:
                findings.append(
                    Finding(
                        "limits",
                        model.provider,
                        f"{model_id} ({model.api_model}): {name} is {mine:,} in the registry, "
                        f"{theirs:,} in {listing.provider}'s list",
                        model_id,
                        bool(uses),
                    )
                )
    findings += _new_in_family(settings, lists, routed)
    return findings


def _new_in_family(
    settings: Settings, lists: Mapping[str, ProviderList], routed: Mapping[str, list[str]]
) -> list[Finding]:
    """Listed models the registry lacks, of the family of a routed model and newer than the
    newest routed member the provider still offers (all of them when it offers none)."""
    known = {(m.provider, m.api_model) for m in settings.registry.models.values()}
    families: dict[tuple[str, str], list[str]] = {}
    newest: dict[tuple[str, str], datetime] = {}
    for model_id in routed:
        model = settings.registry.models.get(model_id)
        if model is None or model.provider not in lists:
            continue
        family = (model.provider, family_key(model.api_model))
        families.setdefault(family, []).append(model_id)
        entry = offered(lists[model.provider], model.api_model)
        if entry is not None and entry.created is not None:
            newest[family] = max(newest.get(family, entry.created), entry.created)
    findings = []
    for pid, listing in lists.items():
        entries = sorted(listing.models, key=lambda e: (e.created is None, e.created), reverse=True)
        for entry in entries:
            if entry.lifecycle == "retired" or entry.id.endswith("-latest"):
                continue  # gone, or an alias of a model listed under its own name
            if any(offered(_only(listing, entry), api) for (p, api) in known if p == pid):
                continue  # the registry has it, perhaps as a dated snapshot
            family = (pid, family_key(entry.id))
            relatives = families.get(family)
            if not relatives:
                continue
            since = newest.get(family)
            if since is not None and (entry.created is None or entry.created <= since):
                continue  # older than what the routes already use
            name = f" ({entry.display_name})" if entry.display_name else ""
            released = f", released {entry.created.date().isoformat()}" if entry.created else ""
            findings.append(
                Finding(
                    "new_in_family",
                    pid,
                    f"{entry.id}{name}{released}: same family as routed "
                    f"{', '.join(relatives)}; not in the registry",
                )
            )
    return findings


def _only(listing: ProviderList, entry: OfferedModel) -> ProviderList:
    return listing.model_copy(update={"models": [entry]})
