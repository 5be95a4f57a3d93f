"""`mao mcp config`: write, merge into, or check a project's ``.mcp.json``.

The file Claude Code (and other MCP hosts) read: ``{"mcpServers": {name: server}}``. mao adds
the servers the spec names — ``pal`` (``uvx pal-mcp-server``) and ``context7``
(``npx -y @upstash/context7-mcp@latest``) — and, when asked, mao itself (``mao mcp serve``).
Keys appear only as ``${NAME}`` placeholders, which the host fills from its environment. A
server the user already has is kept as it is, unknown servers and top-level keys too; the old
file is copied to ``.mcp.json.bak`` and the new one replaces it atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAL_KEYS = ("OPENAI_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY")


def default_servers(*, with_mao: bool = False) -> dict[str, dict[str, Any]]:
    """The entries mao writes: as in the spec, every key a placeholder."""
    servers: dict[str, dict[str, Any]] = {
        "context7": {
            "type": "stdio",
            "command": "npx",
            "args": ["-y", "@upstash/context7-mcp@latest"],
        },
        "pal": {
            "type": "stdio",
            "command": "uvx",
            "args": ["pal-mcp-server"],
            "env": {name: f"${{{name}}}" for name in PAL_KEYS},
        },
    }
    if with_mao:
        servers["mao"] = {"type": "stdio", "command": "mao", "args": ["mcp", "serve"]}
    return servers


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (line, JSON path) and what was expected."""

    line: int
    where: str  # a JSON path: mcpServers.pal.args[1]
    message: str
    warning: bool = False

    def render(self, path: Path) -> str:
        level = "warning" if self.warning else "error"
        return f"{path}:{self.line}: {level}: {self.where}: {self.message}"


@dataclass
class Outcome:
    """What `mao mcp config` did, or would do."""

    path: Path
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    backup: Path | None = None
    written: bool = False
    text: str = ""  # the file's new content

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]


# A literal value under a name like these is a secret pasted into the file.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")
_TYPES = ("stdio", "http", "sse")


class _Locator:
    """Line numbers for JSON paths, found by walking the keys in order through the text."""

    def __init__(self, text: str) -> None:
        self._text = text

    def line(self, keys: list[str]) -> int:
        pos = 0
        for key in keys:
            found = re.compile(rf'"{re.escape(key)}"\s*:').search(self._text, pos)
            if found is None:
                break
            pos = found.start()
        return self._text.count("\n", 0, pos) + 1


def validate(data: object, text: str) -> list[Problem]:
    """Every problem in a parsed ``.mcp.json``, with the line it is on."""
    where = _Locator(text)
    if not isinstance(data, dict):
        return [Problem(1, "(top level)", f"expected a JSON object, got {_kind(data)}")]
    servers = data.get("mcpServers")
    if servers is None:
        return [Problem(1, "mcpServers", "missing: expected an object of servers")]
    if not isinstance(servers, dict):
        line = where.line(["mcpServers"])
        return [Problem(line, "mcpServers", f"expected an object, got {_kind(servers)}")]
    problems: list[Problem] = []
    for name, server in servers.items():
        problems.extend(_server_problems(name, server, where))
    return problems


def _server_problems(name: str, server: object, where: _Locator) -> Iterator[Problem]:
    base = ["mcpServers", name]
    label = f"mcpServers.{name}"
    if not isinstance(server, dict):
        yield Problem(where.line(base), label, f"expected an object, got {_kind(server)}")
        return
    kind = server.get("type", "stdio")
    if kind not in _TYPES:
        yield Problem(
            where.line([*base, "type"]),
            f"{label}.type",
            f"expected one of {', '.join(_TYPES)}, got {json.dumps(kind)}",
        )
        return
    if kind == "stdio":
        command = server.get("command")
        if not isinstance(command, str) or not command.strip():
            got = "nothing" if command is None else json.dumps(command)
            yield Problem(
                where.line([*base, "command"] if command is not None else base),
                f"{label}.command",
                f"expected the executable to run (a non-empty string), got {got}",
            )
        args = server.get("args", [])
        if not isinstance(args, list):
            yield Problem(
                where.line([*base, "args"]),
                f"{label}.args",
                f"expected a list of strings, got {_kind(args)}",
            )
        else:
            for i, arg in enumerate(args):
                if not isinstance(arg, str):
                    yield Problem(
                        where.line([*base, "args"]),
                        f"{label}.args[{i}]",
                        f"expected a string, got {json.dumps(arg)}",
                    )
    else:
        url = server.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            yield Problem(
                where.line([*base, "url"] if url is not None else base),
                f"{label}.url",
                f"type {kind} needs a url starting with http:// or https://",
            )
    env = server.get("env", {})
    if not isinstance(env, dict):
        yield Problem(
            where.line([*base, "env"]), f"{label}.env", f"expected an object, got {_kind(env)}"
        )
        return
    for var, value in env.items():
        line = where.line([*base, "env", var])
        if not isinstance(value, str):
            yield Problem(line, f"{label}.env.{var}", f"expected a string, got {_kind(value)}")
        elif _SECRET_NAME.search(var) and value and not _PLACEHOLDER.match(value):
            # The value itself is never repeated: it may be a real key.
            yield Problem(
                line,
                f"{label}.env.{var}",
                f'holds a literal value; write the placeholder "${{{var}}}" and keep the key '
                "in your environment (this file is often committed)",
                warning=True,
            )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def read(path: Path) -> tuple[Any, str, list[Problem]]:
    """The parsed file, its text, and any problem that stops it being read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, "", [Problem(1, "(file)", f"cannot read it ({exc.strerror})")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, "", [Problem(1, "(file)", f"not UTF-8 (invalid byte at offset {exc.start})")]
    if not text.strip():
        return {}, text, []  # an empty file: start it afresh
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(exc.lineno, "(JSON)", f"not JSON at column {exc.colno}: {exc.msg}")
        return None, text, [problem]
    return data, text, []


def check(path: Path) -> Outcome:
    """Validate an existing ``.mcp.json`` without changing it."""
    outcome = Outcome(path)
    if not path.exists():
        outcome.problems.append(Problem(1, "(file)", "not found; `mao mcp config` writes it"))
        return outcome
    data, text, problems = read(path)
    outcome.problems = problems or validate(data, text)
    return outcome


def configure(path: Path, *, with_mao: bool = False, dry_run: bool = False) -> Outcome:
    """Write ``path``, or merge mao's servers into it; nothing is written if it has errors."""
    outcome = Outcome(path)
    data: Any = {}
    text = ""
    if path.exists():
        data, text, outcome.problems = read(path)
        if not outcome.problems:
            if text.strip() and isinstance(data, dict) and "mcpServers" not in data:
                data["mcpServers"] = {}  # a file of other settings: add the section
                text = json.dumps(data)
            outcome.problems = validate(data, text) if text.strip() else []
        if outcome.errors:
            return outcome
    servers: dict[str, Any] = data.setdefault("mcpServers", {})
    for name, entry in default_servers(with_mao=with_mao).items():
        if name in servers:
            outcome.kept.append(name)
        else:
            servers[name] = entry
            outcome.added.append(name)
    outcome.text = json.dumps(data, indent=_indent_of(text), ensure_ascii=False) + "\n"
    if dry_run or (not outcome.added and path.exists()):
        return outcome
    if path.exists():
        outcome.backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, outcome.backup)
    write_atomically(path, outcome.text)
    outcome.written = True
    return outcome


def _indent_of(text: str) -> int | str:
    """The indentation the user's file uses (a tab, or N spaces); 2 for a new file."""
    found = re.search(r"^([ \t]+)\"", text, re.MULTILINE)
    if found is None:
        return 2
    unit = found.group(1)
    return "\t" if unit.startswith("\t") else len(unit)


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of either (through a symlink, the
    file it points to is the one replaced)."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
