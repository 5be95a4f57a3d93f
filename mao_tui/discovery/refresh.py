"""``mao models --refresh``: ask every provider with a key for its model list, store what came
back (a provider that could not be asked keeps its previous list), and say, per provider, what
happened; then what the lists say about the registry.

Exit status: 0 when every provider with a key answered; 1 when one could not be asked (no
provider has a key, a key was refused, the network was down); 2 for a configuration error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mao_tui.discovery.compare import Finding, compare
from mao_tui.discovery.fetch import fetch_all
from mao_tui.discovery.lists import (
    LISTED_KINDS,
    ListsError,
    ProviderList,
    StoredLists,
    endpoint_of,
    load_lists,
    save_lists,
)
from mao_tui.providers.base import ErrorKind
from mao_tui.settings.api_keys import NO_KEY, find_key
from mao_tui.settings.schema import Settings


@dataclass
class Refreshed:
    lines: list[str] = field(default_factory=list)  # one per provider, in registry order
    asked: int = 0
    failed: int = 0
    path: Path | None = None
    stored: StoredLists | None = None
    fetched: int = 0  # providers whose list came back this time

    @property
    def ok(self) -> bool:
        return self.asked > 0 and self.failed == 0


def _when(listing: ProviderList) -> str:
    return listing.fetched_at.strftime("%Y-%m-%d %H:%M UTC")


async def refresh(settings: Settings, env: Mapping[str, str], path: Path) -> Refreshed:
    result = Refreshed(path=path)
    try:
        previous = load_lists(path) or StoredLists()
    except ListsError as exc:
        result.lines.append(f"  (the stored file is replaced: {exc})")
        previous = StoredLists()
    wanted = {}
    notes: dict[str, str] = {}
    for pid, cfg in settings.registry.providers.items():
        if cfg.kind not in LISTED_KINDS:
            notes[pid] = f"not asked: kind {cfg.kind} has no model list"
            continue
        key = find_key(cfg.api_key_env, env) if cfg.api_key_env else NO_KEY
        if key is None:
            keep = _kept(previous.providers.get(pid))
            notes[pid] = f"no key (set {' or '.join(cfg.api_key_env)}): not asked; {keep}"
            result.failed += 1
            continue
        wanted[pid] = (cfg, key)
    fetched = {f.provider: f for f in await fetch_all(wanted, env)}
    stored = StoredLists(providers=dict(previous.providers))
    for pid, cfg in settings.registry.providers.items():
        if pid in notes:
            result.lines.append(f"  {pid:<12} {notes[pid]}")
            continue
        got = fetched[pid]
        result.asked += 1
        if got.listing is not None:
            result.fetched += 1
            stored.providers[pid] = got.listing
            result.lines.append(
                f"  {pid:<12} {len(got.listing.models)} models from {got.listing.endpoint}"
            )
            continue
        assert got.error is not None
        result.failed += 1
        why = {
            ErrorKind.AUTH: "its key was refused",
            ErrorKind.CONNECTION: "could not connect (offline?)",
            ErrorKind.TIMEOUT: "no answer in time (offline?)",
        }.get(got.error.kind, "it failed")
        keep = _kept(previous.providers.get(pid))
        result.lines.append(
            f"  {pid:<12} {why} at {endpoint_of(cfg, env)}: {got.error.message}; {keep}"
        )
    result.stored = stored
    if stored.providers != previous.providers:
        save_lists(stored, path)
    return result


def _kept(previous: ProviderList | None) -> str:
    if previous is None:
        return "sessions use the shipped registry for it"
    return f"sessions keep its list of {_when(previous)}"


def render_findings(findings: list[Finding]) -> list[str]:
    sections = (
        ("not_offered", "Models the provider does not offer"),
        ("new_in_family", "New models of a routed family"),
        ("limits", "Limits that differ from the registry"),
    )
    lines: list[str] = []
    for kind, title in sections:
        of_kind = [f for f in findings if f.kind == kind]
        if not of_kind:
            continue
        lines += ["", f"{title}:"]
        lines += [f"  {f.message}" for f in of_kind]
    if not findings:
        lines += ["", "The registry agrees with every list: nothing to report."]
    return lines


def report(settings: Settings, env: Mapping[str, str], result: Refreshed) -> str:
    lines = ["Model lists (asked of every provider with a key):", *result.lines]
    if result.path is not None and result.fetched:
        lines.append(f"Stored in {result.path}; sessions read it at start (no network call)")
    if result.asked == 0:
        lines.append(
            "No provider could be asked: sessions go on with the shipped registry "
            "(and any list stored before)."
        )
    lines += render_findings(compare(settings, result.stored, env))
    return "\n".join(lines) + "\n"
