"""Python: pytest, mypy and ruff when the project configures them (``pyproject.toml``,
``setup.cfg``, ``tox.ini``, their own files), pytest also when there is a tests directory.
Run as ``python -m TOOL`` with the project's ``.venv`` interpreter when it has one."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path
from typing import Any

from mao_tui.checks.found import Found
from mao_tui.checks.model import ProjectFileError, check, read_text
from mao_tui.checks.toml_file import load_toml, table
from mao_tui.settings.schema import CheckKind, VerificationCommand

VENV_PYTHONS = (".venv/bin/python", "venv/bin/python")
TEST_DIRS = ("tests", "test")


def detect(root: Path) -> Found:
    pyproject = _pyproject(root)
    setup_cfg = _ini(root / "setup.cfg")
    tox_ini = _ini(root / "tox.ini")
    pytest_ini = _ini(root / "pytest.ini")
    if pyproject is None and setup_cfg is None and tox_ini is None and pytest_ini is None:
        return Found()
    python, why = interpreter(root)
    found = Found(notes=[f"python: {python} ({why})"])
    pytest_source = _first(
        (
            "pyproject.toml [tool.pytest.ini_options]",
            _has(pyproject, "tool", "pytest", "ini_options"),
        ),
        ("pytest.ini [pytest]", pytest_ini is not None and pytest_ini.has_section("pytest")),
        ("setup.cfg [tool:pytest]", setup_cfg is not None and setup_cfg.has_section("tool:pytest")),
        ("tox.ini [pytest]", tox_ini is not None and tox_ini.has_section("pytest")),
        *((f"{d}/ directory", (root / d).is_dir()) for d in TEST_DIRS),
    )
    mypy_source = _first(
        ("pyproject.toml [tool.mypy]", _has(pyproject, "tool", "mypy")),
        ("mypy.ini", (root / "mypy.ini").is_file()),
        (".mypy.ini", (root / ".mypy.ini").is_file()),
        ("setup.cfg [mypy]", setup_cfg is not None and setup_cfg.has_section("mypy")),
    )
    ruff_source = _first(
        ("pyproject.toml [tool.ruff]", _has(pyproject, "tool", "ruff")),
        ("ruff.toml", (root / "ruff.toml").is_file()),
        (".ruff.toml", (root / ".ruff.toml").is_file()),
    )
    if mypy_source:
        mypy = table(pyproject or {}, "tool", "mypy") or {}
        targets = [] if "files" in mypy or "packages" in mypy else ["."]
        if setup_cfg is not None and setup_cfg.has_option("mypy", "files"):
            targets = []
        found.checks.append(_tool(python, "mypy", targets, "typecheck", mypy_source))
    if pytest_source:
        found.checks.append(_tool(python, "pytest", ["-q"], "test", pytest_source))
    if ruff_source:
        found.checks.append(_tool(python, "ruff", ["check", "."], "lint", ruff_source))
    return found


def interpreter(root: Path) -> tuple[str, str]:
    for candidate in VENV_PYTHONS:
        if (root / candidate).is_file():
            return str((root / candidate).absolute()), f"the project's {candidate}"
    if shutil.which("python") is None and shutil.which("python3") is not None:
        return "python3", "python3 on PATH"
    return "python", "python on PATH"


def _tool(
    python: str, module: str, args: list[str], kind: CheckKind, source: str
) -> VerificationCommand:
    return check(
        module,
        [python, "-m", module, *args],
        kind,
        source,
        probe=[python, "-c", f"import {module}"],
        hint=f"{module} is not installed for {python}",
    )


def _first(*candidates: tuple[str, bool]) -> str:
    return next((source for source, present in candidates if present), "")


def _has(data: dict[str, Any] | None, *keys: str) -> bool:
    return data is not None and table(data, *keys) is not None


def _pyproject(root: Path) -> dict[str, Any] | None:
    path = root / "pyproject.toml"
    return load_toml(path) if path.is_file() else None


def _ini(path: Path) -> configparser.ConfigParser | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text(path), source=str(path))
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProjectFileError(path, f"not a valid INI file: {first}", line) from None
    return parser
