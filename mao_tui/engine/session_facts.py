"""What one session knows about models and keys, shared by all its workstreams and reruns.

- ``unavailable`` models are ruled out from the start (reason ``not offered``). The stored
  model lists (``mao models --refresh``) reach a session earlier, through routing
  (engine/routing.py), which sends a route to a model's successor before any request.
- A 404 (``not_found``) marks the model unavailable for the rest of the session; a 401/403
  (``auth``) marks the provider's key bad. Every later chain skips them at once, with the
  reason, instead of paying the same failed request again.
- First contact (HTTP APIs only): while the session's first request to a model (or to a
  provider) is unanswered, other workstreams wanting the same model or provider wait for it, at
  most :data:`FIRST_CONTACT_WAIT_S`: a 404 or 401 comes back at once, and a stream that has
  begun, or the wait running out, lets them go. So two workstreams routed to a model that
  answers 404 make exactly one request to it. A CLI tool or PAL is not waited for: its first
  output can take minutes, and its failures are not HTTP statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from mao_tui.providers.base import ErrorKind

FIRST_CONTACT_WAIT_S = 3.0
NOT_OFFERED_REASON = "not offered"
NOT_FOUND_REASON = "not found earlier"
BAD_KEY_REASON = "key refused earlier"


@dataclass(frozen=True)
class Fact:
    """Why a model cannot be used in this session: a fallback's reason and detail."""

    reason: str
    detail: str


@dataclass
class Contact:
    """The first request's hold on a model or provider: :meth:`answered` lets the others go."""

    owned: list[asyncio.Event] = field(default_factory=list)

    def answered(self) -> None:
        for event in self.owned:
            event.set()
        self.owned.clear()


class SessionFacts:
    def __init__(
        self,
        unavailable: Mapping[str, str] | None = None,
        *,
        wait_s: float = FIRST_CONTACT_WAIT_S,
    ) -> None:
        self._models = {m: Fact(NOT_OFFERED_REASON, d) for m, d in (unavailable or {}).items()}
        self._keys: dict[str, Fact] = {}
        self._first: dict[str, asyncio.Event] = {}
        self._wait_s = wait_s

    def ruling(self, model_id: str, provider_id: str) -> Fact | None:
        """The fact that rules the model out, if there is one."""
        return self._keys.get(provider_id) or self._models.get(model_id)

    async def admit(
        self, model_id: str, provider_id: str, *, first_contact: bool = True
    ) -> tuple[Fact | None, Contact]:
        """Wait out another workstream's unanswered first request to this model or provider
        (``first_contact``), then the fact that rules the model out (None: go ahead). The
        returned contact holds the first requests this caller makes: call ``answered()`` when
        its stream begins or its attempt ends."""
        contact = Contact()
        fact = self.ruling(model_id, provider_id)
        if fact is not None or not first_contact:
            return fact, contact
        waits = []
        for key in (f"provider:{provider_id}", f"model:{model_id}"):
            event = self._first.get(key)
            if event is None:
                self._first[key] = event = asyncio.Event()
                contact.owned.append(event)
            elif not event.is_set():
                waits.append(event.wait())
        if waits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._wait_s):
                    await asyncio.gather(*waits)
        return self.ruling(model_id, provider_id), contact

    def learn(self, model_id: str, provider_id: str, api_model: str, kind: str, message: str,
              where: str) -> None:  # fmt: skip
        """Record what a failed attempt proved about the model or the provider's key."""
        if kind == ErrorKind.NOT_FOUND and model_id not in self._models:
            self._models[model_id] = Fact(
                NOT_FOUND_REASON,
                f"{api_model} answered not found to {where} earlier in this session "
                f"({message}); skipped without a request",
            )
        elif kind == ErrorKind.AUTH and provider_id not in self._keys:
            self._keys[provider_id] = Fact(
                BAD_KEY_REASON,
                f"{provider_id} refused its key to {where} earlier in this session "
                f"({message}); skipped without a request",
            )
