"""Load the layered configuration and report every problem with its file, line and field.

Layers, later wins key by key: shipped defaults < user config dir < project ``./.mao/`` <
``$MAO_CONFIG_DIR`` < ``--config DIR`` < an in-memory overlay (the simulator uses it to point the
providers at itself, exactly as a user would with ``base_url``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from mao_tui.settings.base import Strict
from mao_tui.settings.keys import keymap_problems
from mao_tui.settings.layers import ConfigError, config_layers, layer_files, shipped_config_dir
from mao_tui.settings.schema import (
    Playbook,
    Registry,
    RoutingConfig,
    Settings,
    cross_check,
)

__all__ = ["ConfigError", "config_layers", "load_settings", "shipped_config_dir"]

Loc = tuple[str | int, ...]
# libyaml's loader when PyYAML was built with it: ~10x faster, same marks and errors.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Source:
    """One parsed YAML file and its node tree, kept to find the line of a field."""

    path: Path
    data: dict[str, Any]
    node: yaml.Node | None


@dataclass
class _Collected:
    models: list[_Source] = field(default_factory=list)
    routing: list[_Source] = field(default_factory=list)
    keys: list[_Source] = field(default_factory=list)
    verify: list[_Source] = field(default_factory=list)  # verify.yaml
    playbooks: dict[str, list[_Source]] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _parse(path: Path, problems: list[str]) -> _Source | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"{_display(path)}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    except OSError as exc:
        problems.append(f"{_display(path)}: cannot read ({exc.strerror})")
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{_display(path)}:{mark.line + 1}:{mark.column + 1}" if mark else _display(path)
        problems.append(f"{where}: YAML syntax error: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:
        problems.append(f"{_display(path)}: YAML error: {exc}")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            f"{_display(path)}:1: expected a mapping at the top level, got {type(data).__name__}"
        )
        return None
    source = _Source(path, data, node)
    _expand_env(source, source.data, (), problems)
    return source


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand_env(src: _Source, value: Any, loc: Loc, problems: list[str]) -> Any:
    """Replace ``${NAME}`` in string values with the environment's value, in place."""
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _expand_env(src, value[key], (*loc, str(key)), problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _expand_env(src, item, (*loc, i), problems)
    elif isinstance(value, str) and "${" in value:

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                problems.append(
                    f"{_where([src], loc)}: {_field(loc)}: environment variable {name} is not set"
                )
                return match.group(0)
            return os.environ[name]

        return _ENV_REF.sub(lookup, value)
    return value


def _collect(layers: list[Path]) -> _Collected:
    out = _Collected()
    buckets = {"models": out.models, "routing": out.routing, "keys": out.keys, "verify": out.verify}
    for layer in layers:
        for kind, f in layer_files(layer):
            if kind == "prompt":
                rel = f.relative_to(layer / "prompts").as_posix()
                try:
                    out.prompts[rel] = f.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError) as exc:
                    out.problems.append(f"{_display(f)}: cannot read prompt template ({exc})")
            elif src := _parse(f, out.problems):
                if kind == "playbook":
                    out.playbooks.setdefault(f.stem, []).append(src)
                else:
                    buckets[kind].append(src)
    return out


class KeysFile(Strict):
    """keys.yaml: ``keybindings: {binding id: keys}``."""

    keybindings: dict[str, str] = Field(default_factory=dict)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_models(sources: list[_Source]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for src in sources:
        merged = _deep_merge(merged, src.data)
    return merged


def _merge_routing(sources: list[_Source]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for src in sources:
        for key, value in src.data.items():
            if key == "routes" and isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}  # a route is replaced whole
            else:
                merged[key] = value
    return merged


def _node_at(node: yaml.Node | None, loc: Loc) -> tuple[yaml.Node | None, int]:
    """The deepest node along ``loc`` and how many parts of it matched."""
    depth = 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if str(k.value) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            nxt = node.value[part] if 0 <= part < len(node.value) else None
        else:
            nxt = None
        if nxt is None:
            break
        node, depth = nxt, depth + 1
    return node, depth


def _where(sources: list[_Source], loc: Loc) -> str:
    """``file:line`` of the layer that last set the deepest part of ``loc``."""
    best: tuple[int, _Source, yaml.Node | None] | None = None
    for src in reversed(sources):
        node, depth = _node_at(src.node, loc)
        if best is None or depth > best[0]:
            best = (depth, src, node)
    if best is None:
        return "<no file>"
    _, src, node = best
    line = node.start_mark.line + 1 if node is not None else 1
    return f"{_display(src.path)}:{line}"


def _field(loc: Loc) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _validation_problems(
    exc: ValidationError, sources: list[_Source], prefix: Loc = ()
) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        full = (*prefix, *loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif "input" in err and err["type"] not in ("model_type", "dict_type", "value_error"):
            msg = f"{msg} (got {err['input']!r})"
        problems.append(f"{_where(sources, full)}: {_field(full)}: {msg}")
    return problems


def _validate(
    model: type[BaseModel], data: dict[str, Any], sources: list[_Source], problems: list[str]
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, sources))
        return None


def _verification(
    sources: list[_Source], playbooks: list[str], problems: list[str]
) -> dict[str, Any]:
    """verify.yaml of every layer, merged playbook by playbook (a later list replaces)."""
    from mao_tui.settings.verify_file import VerifyFile, unknown_playbooks

    checked = _validate(VerifyFile, _merge_models(sources), sources, problems)
    if checked is None:
        return {}
    for loc, message in unknown_playbooks(checked.root, playbooks):
        problems.append(f"{_where(sources, loc)}: {_field(loc)}: {message}")
    return dict(checked.root)


def load_settings(layers: list[Path], overlay: dict[str, Any] | None = None) -> Settings:
    """Read, merge, validate and cross-check every layer; ConfigError lists every problem."""
    found = _collect(layers)
    problems = found.problems
    if overlay:
        found.models.append(_Source(Path("<simulator overlay>"), overlay, None))
    if not found.models:
        problems.append(
            "models.yaml: not found in any configuration layer: "
            + ", ".join(str(p) for p in layers)
        )
    if not found.routing:
        problems.append("routing.yaml: not found in any configuration layer")
    if problems:
        raise ConfigError(problems)

    registry = _validate(Registry, _merge_models(found.models), found.models, problems)
    routing = _validate(RoutingConfig, _merge_routing(found.routing), found.routing, problems)
    playbooks: dict[str, Playbook] = {}
    for name, sources in found.playbooks.items():
        # ``name`` may be left out: it is the file's name (.mao/playbooks/NAME.yaml).
        data = {"name": name, **sources[-1].data}
        pb = _validate(Playbook, data, sources[-1:], problems)
        if pb is not None:
            if pb.name != name:
                problems.append(
                    f"{_where(sources[-1:], ('name',))}: name: {pb.name!r} must match the file "
                    f"name {name!r}"
                )
            playbooks[name] = pb
    keys = _validate(KeysFile, _merge_models(found.keys), found.keys, problems)
    if keys is not None:
        for key_loc, message in keymap_problems(keys.keybindings):
            problems.append(f"{_where(found.keys, key_loc)}: {_field(key_loc)}: {message}")
    verification = _verification(found.verify, list(playbooks), problems)
    if problems:
        raise ConfigError(problems)

    settings = Settings(
        registry=registry,
        routing=routing,
        playbooks=playbooks,
        prompts=found.prompts,
        keybindings=keys.keybindings,
        verification=verification,
    )
    for loc, section, message in cross_check(settings):
        if section == "models":
            sources = found.models
        elif section == "routing":
            sources = found.routing
        else:
            sources = found.playbooks[section.split(":", 1)[1]][-1:]
        problems.append(f"{_where(sources, loc)}: {_field(loc)}: {message}")
    if problems:
        raise ConfigError(problems)
    return settings
