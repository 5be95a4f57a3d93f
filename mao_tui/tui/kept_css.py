"""Textual's parsed stylesheets, kept from one start of mao to the next.

Textual parses the CSS of each widget class when the class first appears, at every start: about
20 ms before Home's first frame on a 2-core Xeon, 4 ms of it Button's default CSS. What a parse
gives depends only on what Textual keys its own parse cache with (the CSS text, where it was read
from, whether it is a widget's default CSS, its priority and its scope), on the theme's variables
and on Textual's parser. So mao keeps the parsed rules in one file in the user cache folder,
stamped with the parser's files, Python's version and a digest of the variables:

- a start with the same stamp takes each source's rules from the file when Textual asks for
  them (unpickled one source at a time) and parses only what it has not seen;
- after the first frame and at exit the new ones are added; the file keeps at most
  ``MAX_SOURCES``, those used last first;
- another stamp, a file that cannot be read, or a theme change: Textual parses, as always.

It hooks the one method Textual parses a source through (``Stylesheet._parse_rules``), and its
``reparse``. tests/tui/test_kept_css.py fails if a Textual upgrade moves the parse elsewhere.

The file holds pickles: whoever can write to the user's cache folder can already run code as
the user, so it trusts no more than the user's own files do.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from textual.css import parse as textual_parse
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.css.types import CSSLocation

FILE_NAME = "textual-css.pickle"
MAX_SOURCES = 256
_FORMAT = 1

Key = tuple[str, CSSLocation, bool, int, str]


def cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("mao")) / FILE_NAME


def stamp(variables: dict[str, str]) -> str:
    """What parsed rules depend on beyond their key: Textual's CSS code (any reinstall or upgrade
    rewrites its files), Python's version and the variables."""
    css = Path(textual_parse.__file__).parent
    files = [*sorted(css.glob("*.py")), css.parent / "color.py", css.parent / "__init__.py"]
    stats = [(p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists()]
    values = json.dumps(sorted(variables.items()))
    return hashlib.sha256(f"{_FORMAT} {sys.version} {stats} {values}".encode()).hexdigest()


class KeptRules:
    """The parsed rules of one stamp: those read from the file, and those parsed since."""

    def __init__(self, path: Path, stamp: str, stored: dict[Key, bytes] | None = None) -> None:
        self.path = path
        self.stamp = stamp
        self._stored = stored or {}
        self._loaded: dict[Key, list[RuleSet]] = {}
        self._new: dict[Key, list[RuleSet]] = {}

    @classmethod
    def load(cls, path: Path, stamp: str) -> KeptRules:
        try:
            with open(path, "rb") as file:
                data = pickle.load(file)
        except Exception:  # unreadable, damaged, another Python's protocol: parse as always
            return cls(path, stamp)
        if not isinstance(data, dict) or data.get("stamp") != stamp:
            return cls(path, stamp)
        stored = data.get("sources")
        return cls(path, stamp, stored if isinstance(stored, dict) else None)

    @property
    def parsed(self) -> int:
        """Sources parsed in this process (not found in the file)."""
        return len(self._new)

    @property
    def reused(self) -> int:
        """Sources taken from the file in this process."""
        return len(self._loaded)

    def get(self, key: Key) -> list[RuleSet] | None:
        for known in (self._loaded, self._new):
            if key in known:
                return known[key]
        data = self._stored.get(key)
        if data is None:
            return None
        try:
            loaded = pickle.loads(data)
        except Exception:  # any damage to one entry means parsing it again
            loaded = None
        if not isinstance(loaded, list):
            del self._stored[key]
            return None
        self._loaded[key] = loaded
        return loaded

    def add(self, key: Key, rules: list[RuleSet]) -> None:
        if key[1][0]:  # a source with no location is keyed by hash(css), which changes per run
            self._new[key] = rules

    def save(self) -> None:
        """Adds the sources parsed in this process to the file, if there are any. A file that
        cannot be written is no error: the next start parses them again."""
        if not self._new:
            return
        sources = {key: self._stored[key] for key in self._loaded if key in self._stored}
        for key, rules in self._new.items():
            try:
                sources[key] = pickle.dumps(rules, pickle.HIGHEST_PROTOCOL)
            except Exception:  # a value another Textual may hold: that source is parsed each time
                continue
        for key, stored in self._stored.items():  # then the others, up to the limit
            if len(sources) >= MAX_SOURCES:
                break
            sources.setdefault(key, stored)
        data: dict[str, Any] = {"stamp": self.stamp, "sources": sources}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as file:
                pickle.dump(data, file, pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        self._stored = sources
        self._new = {}


class KeptStylesheet(Stylesheet):
    """Textual's Stylesheet, taking parsed rules from ``kept`` while the variables are those of
    its stamp."""

    def __init__(self, *, variables: dict[str, str], kept: KeptRules) -> None:
        """``kept`` is for these variables (``kept_stylesheet`` loads it so)."""
        super().__init__(variables=variables)
        self.kept = kept
        self._kept_valid = True
        self.variables_set = 0  # times the variables changed (a theme change sets them)

    def set_variables(self, variables: dict[str, str]) -> None:
        super().set_variables(variables)
        self.variables_set += 1
        self._kept_valid = stamp(variables) == self.kept.stamp

    def reparse(self) -> None:
        """Textual parses every source again in a new Stylesheet, with an empty parse cache, when
        a screen brings its own CSS file. While the kept rules hold, parsing this one gives the
        same rules, and ``parse`` changes nothing unless every source parses."""
        if not self._kept_valid:
            super().reparse()
            return
        self.parse()
        self._rules_map = None

    def _parse_rules(
        self,
        css: str,
        read_from: CSSLocation,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        if not self._kept_valid:
            return super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
        key: Key = (css, read_from, is_default_rules, tie_breaker, scope)
        rules = self.kept.get(key)
        if rules is None:
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            self.kept.add(key, rules)
        return rules


def kept_stylesheet(variables: dict[str, str]) -> KeptStylesheet:
    """A stylesheet with the rules kept for these variables (none if the file does not match)."""
    key = stamp(variables)
    return KeptStylesheet(variables=variables, kept=KeptRules.load(cache_path(), key))
