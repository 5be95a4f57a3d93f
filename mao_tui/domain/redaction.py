"""Keys and tokens in mao's environment: kept out of what verification runs, and redacted from
what mao keeps, prints or sends.

Verification runs code a model wrote (the tests it wrote, through the configured commands). It
gets mao's environment minus every variable that holds a secret: each ``api_key_env`` of the
registry, and any name that looks like one (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``,
``*PASSWORD*``, ``AWS_*``...). ``env_pass`` in the verification command names variables to pass
all the same. Whatever gets through (a passed token, a key read from a file) is still cut from
its output: :meth:`Redactor.redact` replaces the value of every secret variable of mao's
environment (8 characters or more) with ``[redacted $NAME]`` wherever the output goes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would redact ordinary words

# One part of an underscore-separated name (or its end) that says "secret".
_SECRET_PART = re.compile(
    r"(?:API)?KEYS?|[A-Z]*TOKENS?|[A-Z]*SECRETS?|[A-Z]*PASSW(?:OR)?DS?|PASSPHRASE|"
    r"CREDENTIALS?|AUTH|COOKIE|PAT|PRIVATE",
)
_SECRET_PREFIXES = ("AWS_", "AZURE_", "GCP_", "GOOGLE_APPLICATION_")
_SECRET_SUFFIXES = ("APIKEY", "_KEY", "TOKEN", "SECRET")


def is_secret_name(name: str, key_names: Iterable[str] = ()) -> bool:
    """True when the variable ``name`` holds (or may hold) a key, a token or a password."""
    upper = name.upper()
    if name in set(key_names):
        return True
    if upper.startswith(_SECRET_PREFIXES) or upper.endswith(_SECRET_SUFFIXES):
        return True
    return any(_SECRET_PART.fullmatch(part) for part in upper.split("_") if part)


def scrubbed_env(
    environ: Mapping[str, str],
    key_names: Iterable[str] = (),
    passed: Iterable[str] = (),
) -> dict[str, str]:
    """``environ`` without its secrets, except the names in ``passed``."""
    keys, keep = set(key_names), set(passed)
    return {
        name: value
        for name, value in environ.items()
        if name in keep or not is_secret_name(name, keys)
    }


@dataclass(frozen=True)
class Redactor:
    """Replaces known secret values in text; one per environment, made by :meth:`of`."""

    values: dict[str, str] = field(default_factory=dict)  # secret value -> its variable's name

    @classmethod
    def of(cls, environ: Mapping[str, str], key_names: Iterable[str] = ()) -> Redactor:
        keys = set(key_names)
        found: dict[str, str] = {}
        for name, value in environ.items():
            if len(value) >= MIN_SECRET_LENGTH and is_secret_name(name, keys):
                found[value] = name
                encoded = json.dumps(value)[1:-1]  # as it appears inside a JSON string
                if encoded != value:
                    found[encoded] = name
        return cls(found)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``[redacted $NAME]``; longest first, so a
        value that contains another is cut whole."""
        for value in sorted(self.values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, f"[redacted ${self.values[value]}]")
        return text
