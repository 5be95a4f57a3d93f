"""Tasks in the layout of the public aider polyglot benchmark and Exercism tracks:
``<root>/python/exercises/practice/<name>/`` (or a ``practice`` folder, or one track's
``exercises/practice``) with ``.docs/instructions.md`` (and ``instructions.append.md``) and
``.meta/config.json`` naming ``files.solution``, ``files.test`` and ``files.example``.

The task text is the instructions; the snapshot is the exercise folder without ``.meta``,
``.docs`` and the example solution (never copied: it is the answer); the test command is pytest
on ``files.test``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mao_tui.domain.errors import UsageError
from mao_tui.service.bench_tasks import BenchTask, validation_message

_CONFIG = Path(".meta") / "config.json"


class ExerciseFiles(BaseModel):
    model_config = ConfigDict(extra="ignore")

    solution: list[str] = Field(min_length=1)
    test: list[str] = Field(min_length=1)
    example: list[str] = Field(default_factory=list)


class ExerciseConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    files: ExerciseFiles


def practice_folder(root: Path) -> Path | None:
    for candidate in (
        root / "python" / "exercises" / "practice",
        root / "exercises" / "practice",
        root,
    ):
        if candidate.is_dir() and any(
            (p / _CONFIG).is_file() for p in candidate.iterdir() if p.is_dir()
        ):
            return candidate
    return None


def is_polyglot(root: Path) -> bool:
    return practice_folder(root) is not None


def read_polyglot(root: Path) -> list[BenchTask]:
    practice = practice_folder(root)
    if practice is None:
        return []
    return [
        read_exercise(folder)
        for folder in sorted(practice.iterdir())
        if folder.is_dir() and not folder.name.startswith(".")
    ]


def read_exercise(folder: Path) -> BenchTask:
    path = folder / _CONFIG
    try:
        config = ExerciseConfig.model_validate(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        raise UsageError(
            f"{folder}: no {_CONFIG.as_posix()} (an exercise names its files there)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not readable JSON: {exc}") from None
    except ValidationError as exc:
        raise UsageError(validation_message(path, exc)) from None
    docs = folder / ".docs"
    parts = []
    for name in ("instructions.md", "instructions.append.md"):
        if (docs / name).is_file():
            parts.append((docs / name).read_text("utf-8").strip())
    if not parts:
        raise UsageError(f"{folder}: no .docs/instructions.md (the task's text)")
    files = config.files
    for kind, names in (("solution", files.solution), ("test", files.test)):
        for index, name in enumerate(names):
            if not (folder / name).is_file():
                raise UsageError(
                    f"{path}: files.{kind}.{index}: expected a file of the exercise, got {name!r}"
                )
    parts.append(
        f"Write your solution in {', '.join(files.solution)}; "
        f"the tests in {', '.join(files.test)} must pass. Do not change the tests."
    )
    hidden = {".meta", ".docs"}
    left_out = frozenset(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] in hidden
    ) | frozenset(files.example)
    return BenchTask(
        name=folder.name,
        text="\n\n".join(parts),
        snapshot=folder,
        tests=list(files.test),
        left_out=left_out,
    )
