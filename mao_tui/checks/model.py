"""What every stack's detection shares: the error for a malformed project file, and how a
detected check is built."""

from __future__ import annotations

from pathlib import Path

from mao_tui.settings.schema import CheckKind, VerificationCommand

# The order checks run in: what cannot type-check will not build; what does not build has
# nothing to test; lint last, so style never hides a real failure.
KIND_ORDER: dict[CheckKind, int] = {"typecheck": 0, "build": 1, "test": 2, "lint": 3, "other": 4}

DEFAULT_TIMEOUT_S: dict[CheckKind, float] = {
    "typecheck": 600.0,
    "build": 900.0,
    "test": 1200.0,
    "lint": 300.0,
    "other": 300.0,
}


class ProjectFileError(Exception):
    """A project file detection could not read: its path, the line when known, what is wrong."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


def check(
    name: str,
    argv: list[str],
    kind: CheckKind,
    source: str,
    *,
    stop_on_failure: bool = False,
    requires: list[str] | None = None,
    probe: list[str] | None = None,
    hint: str = "",
) -> VerificationCommand:
    return VerificationCommand(
        name=name,
        argv=argv,
        kind=kind,
        source=source,
        timeout_s=DEFAULT_TIMEOUT_S[kind],
        stop_on_failure=stop_on_failure,
        requires=requires or [],
        probe=probe or [],
        hint=hint,
    )


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ProjectFileError(path, f"cannot read it: {exc.strerror or exc}") from None
