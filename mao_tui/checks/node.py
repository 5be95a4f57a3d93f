"""``package.json``: its scripts, run with the package manager its lockfile (or its
``packageManager`` field) names; ``tsc --noEmit`` when there is no typecheck script but a
``tsconfig.json`` and typescript is a dependency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mao_tui.checks.found import Found
from mao_tui.checks.model import ProjectFileError, check, read_text
from mao_tui.settings.schema import CheckKind

# Lockfile → package manager, in the order they are looked for.
LOCKFILES: tuple[tuple[str, str], ...] = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
)
MANAGERS = ("npm", "pnpm", "yarn", "bun")

# script name → kind; the first present of each kind is used.
SCRIPTS: tuple[tuple[str, CheckKind], ...] = (
    ("typecheck", "typecheck"),
    ("type-check", "typecheck"),
    ("build", "build"),
    ("test", "test"),
    ("lint", "lint"),
)
NPM_PLACEHOLDER = "no test specified"  # `npm init`'s test script, which always fails

# How each manager runs a dependency's executable without installing anything.
EXEC: dict[str, list[str]] = {
    "npm": ["npm", "exec", "--no", "--"],
    "pnpm": ["pnpm", "exec"],
    "yarn": ["yarn", "run"],
    "bun": ["bun", "run"],
}


def detect(root: Path) -> Found:
    path = root / "package.json"
    if not path.is_file():
        return Found()
    data = _load(path)
    manager, why = package_manager(root, data)
    found = Found(notes=[f"package.json: package manager {manager} ({why})"])
    scripts = _scripts(path, data)
    deps = _dependencies(path, data)
    needs_modules = ["node_modules"] if deps else []
    install = f"the dependencies are not installed: run `{manager} install`"
    seen: set[CheckKind] = set()
    for script, kind in SCRIPTS:
        if script not in scripts or kind in seen:
            continue
        body = scripts[script]
        if script == "test" and NPM_PLACEHOLDER in body:
            found.notes.append("package.json scripts.test: npm's placeholder, which always fails")
            continue
        seen.add(kind)
        found.checks.append(
            check(
                script,
                [manager, "run", script],
                kind,
                f"package.json scripts.{script}",
                stop_on_failure=kind == "build",
                requires=needs_modules,
                hint=install,
            )
        )
    if "typecheck" not in seen and (root / "tsconfig.json").is_file():
        if "typescript" in deps:
            found.checks.insert(
                0,
                check(
                    "typecheck",
                    [*EXEC[manager], "tsc", "--noEmit"],
                    "typecheck",
                    "tsconfig.json + package.json devDependencies.typescript",
                    requires=["node_modules/.bin/tsc"],
                    hint=f"typescript is not installed: run `{manager} install`",
                ),
            )
        else:
            found.notes.append(
                "tsconfig.json: typescript is not a dependency in package.json, so no tsc check"
            )
    return found


def package_manager(root: Path, data: dict[str, Any]) -> tuple[str, str]:
    """The manager and why: the ``packageManager`` field, else the lockfile, else npm."""
    field = data.get("packageManager")
    if isinstance(field, str) and field.split("@", 1)[0] in MANAGERS:
        return field.split("@", 1)[0], f"package.json packageManager {field!r}"
    for lockfile, manager in LOCKFILES:
        if (root / lockfile).is_file():
            return manager, lockfile
    return "npm", "no lockfile: npm"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise ProjectFileError(path, message, exc.lineno) from None
    if not isinstance(data, dict):
        raise ProjectFileError(path, f"expected a JSON object, got {type(data).__name__}")
    return data


def _scripts(path: Path, data: dict[str, Any]) -> dict[str, str]:
    scripts = data.get("scripts", {})
    if not isinstance(scripts, dict):
        raise ProjectFileError(path, f"scripts: expected an object, got {type(scripts).__name__}")
    for name, body in scripts.items():
        if not isinstance(body, str):
            raise ProjectFileError(
                path, f"scripts.{name}: expected a string, got {type(body).__name__}"
            )
    return scripts


def _dependencies(path: Path, data: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = data.get(key, {})
        if not isinstance(section, dict):
            raise ProjectFileError(path, f"{key}: expected an object, got {type(section).__name__}")
        names.update(section)
    return names
