"""What Home shows first, remembered from the last full validation of the same configuration.

Validating the configuration imports YAML and pydantic and builds its models: most of what ``mao``
spent before its first frame beyond Textual's own start. A configuration that validated once
validates again while nothing it depends on changes: the bytes of every file the loader reads in
every layer, the environment variables those files name (``${NAME}``), and mao's own settings
code. So after a full validation the digest of those inputs is stored with the few values Home's
first frame needs (the playbooks, the keymap, the providers' key variables), in the user cache
directory. The next ``mao`` with the same digest paints Home from them and validates after the
first frame; any change (or no stored digest) validates before any screen, as always, so a bad
configuration still stops with its errors (exit 2) before any screen.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mao_tui.settings.layers import layer_files

if TYPE_CHECKING:
    from mao_tui.settings.schema import Settings

_ENV_REF = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # as the loader expands them
# A variable that may hold a secret: only whether it is set goes into the digest, never a hash
# of its value (the digest is written to the cache folder; keys are never written anywhere).
_SECRET_NAME = re.compile(rb"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
_KEEP = 16  # digests remembered (one per project and config combination)
_FILE = "config-digests.json"


@dataclass(frozen=True)
class Preview:
    """The validated configuration's values Home paints with."""

    playbooks: list[tuple[str, str]]  # (name, description), sorted by name
    keybindings: dict[str, str]
    key_envs: list[list[str]]  # every provider's api_key_env (the variables a key may be in)
    # Fixed requests (``"demo"``) that passed every check before any screen with this
    # configuration: `mao demo` then paints first and builds its request after the first frame.
    checked: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, settings: Settings, checked: list[str] | None = None) -> Preview:
        return cls(
            playbooks=[(n, pb.description) for n, pb in sorted(settings.playbooks.items())],
            keybindings=dict(settings.keybindings),
            key_envs=[list(p.api_key_env) for p in settings.registry.providers.values()],
            checked=sorted(checked or []),
        )


def fingerprint(layers: list[Path]) -> str | None:
    """The digest of everything validation depends on; None when a file cannot be read."""
    names: set[bytes] = set()
    try:
        digest = hashlib.sha256(_code_stamp().encode())
        for layer in layers:
            digest.update(b"\0layer\0" + os.fsencode(layer))
            for kind, path in layer_files(layer):
                data = path.read_bytes()
                digest.update(b"\0%s\0%s\0%d\0" % (kind.encode(), os.fsencode(path), len(data)))
                digest.update(data)
                names.update(_ENV_REF.findall(data))
    except OSError:
        return None
    for name in sorted(names):
        value = os.environ.get(name.decode())
        if value is not None and _SECRET_NAME.search(name):
            value = "set"
        digest.update(b"\0env\0" + name + (b"\1" + value.encode() if value is not None else b""))
    return digest.hexdigest()


def remembered(layers: list[Path]) -> tuple[str | None, Preview | None]:
    """(this configuration's digest, its Preview when it validated before)."""
    key = fingerprint(layers)
    if key is None:
        return None, None
    entry = _read().get(key)
    if not isinstance(entry, dict):
        return key, None
    try:
        return key, Preview(
            playbooks=[(str(n), str(d)) for n, d in entry["playbooks"]],
            keybindings={str(k): str(v) for k, v in entry["keybindings"].items()},
            key_envs=[[str(e) for e in names] for names in entry["key_envs"]],
            checked=[str(name) for name in entry.get("checked", [])],
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return key, None


def remember(key: str | None, preview: Preview) -> None:
    """Store ``preview`` under ``key`` (the digest of a configuration that just validated).
    A cache that cannot be written is no error: the next start validates again."""
    if key is None:
        return
    entries = {k: v for k, v in _read().items() if k != key}
    entries[key] = asdict(preview)
    kept = dict(list(entries.items())[-_KEEP:])
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return


def _read() -> dict[str, Any]:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("mao")) / _FILE


def _code_stamp() -> str:
    """mao's version, its settings code (a checkout changes it without a new version) and the
    installed pydantic (found, not imported)."""
    from importlib.util import find_spec

    from mao_tui import __version__

    files = sorted(Path(__file__).parent.glob("*.py"))
    spec = find_spec("pydantic")
    if spec is not None and spec.origin:
        files.append(Path(spec.origin).with_name("version.py"))
    stats = [(str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists()]
    return f"{__version__} {stats}"
