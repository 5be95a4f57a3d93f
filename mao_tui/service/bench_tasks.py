"""`mao bench` task sets: a folder of tasks, each ``task.toml`` (the task text, its test files,
a timeout) beside ``repo/`` (the repository snapshot) and, optionally, ``simulated/correct/``
and ``simulated/wrong/`` (the simulator's two answers: files laid over the snapshot). A path in
the aider polyglot / Exercism layout is read by service/bench_polyglot.py instead.

Every error names the file, the field and what was expected (exit 2 on the command line).
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mao_tui.domain.errors import UsageError

TASK_FILE = "task.toml"
_SNAPSHOT = "repo"
_CONTEXT_LIMIT = 200_000  # characters of the snapshot's files shown to the models, at most


class TaskFile(BaseModel):
    """``task.toml``."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1)  # what to do, as a user would say it
    # Passed to ``python -m pytest`` (the Python running mao), relative to the snapshot
    tests: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    # Every file under repo/ and simulated/ carries this suffix, removed when copied (the shipped
    # tasks use ".txt", so that no tool of this project takes their files for its own)
    stored_suffix: str = ""


@dataclass(frozen=True)
class BenchTask:
    name: str
    text: str
    snapshot: Path
    tests: list[str]
    timeout_s: float = 120.0
    stored_suffix: str = ""
    simulated: Path | None = None  # holds correct/ and wrong/
    left_out: frozenset[str] = field(default_factory=frozenset)  # relative paths never copied

    def files(self) -> list[tuple[str, Path]]:
        """(relative path as copied, source file) of the snapshot, sorted."""
        return _files(self.snapshot, self.stored_suffix, self.left_out)

    def materialize(self, target: Path) -> None:
        """A fresh copy of the snapshot in ``target`` (which must not exist yet)."""
        target.mkdir(parents=True)
        for relative, source in self.files():
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)

    def context(self) -> list[tuple[Path, str]]:
        """The snapshot's text files, for the models to read (up to a size limit)."""
        shown: list[tuple[Path, str]] = []
        size = 0
        for relative, source in self.files():
            try:
                text = source.read_text("utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            size += len(text)
            if size > _CONTEXT_LIMIT:
                break
            shown.append((Path(relative), text))
        return shown

    def simulated_answers(self) -> tuple[dict[str, str], dict[str, str]] | None:
        """(correct, wrong) files of the simulator's answers, or None when the task has none."""
        if self.simulated is None:
            return None
        both = []
        for which in ("correct", "wrong"):
            folder = self.simulated / which
            files = _files(folder, self.stored_suffix, frozenset()) if folder.is_dir() else []
            both.append({rel: src.read_text("utf-8") for rel, src in files})
        return both[0], both[1]


def _files(root: Path, suffix: str, left_out: frozenset[str]) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(root).as_posix()
        if relative in left_out or "__pycache__" in relative.split("/"):
            continue
        if suffix and relative.endswith(suffix):
            relative = relative[: -len(suffix)]
        found.append((relative, path))
    return found


def validation_message(path: Path, exc: ValidationError) -> str:
    """One line per problem: the file, the field and what was expected."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(the whole file)"
        problems.append(f"{path}: {where}: {error['msg']}")
    return "; ".join(problems)


def read_task(folder: Path) -> BenchTask:
    path = folder / TASK_FILE
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{folder}: no {TASK_FILE}; a task is a folder with {TASK_FILE} and {_SNAPSHOT}/"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    try:
        spec = TaskFile.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(validation_message(path, exc)) from None
    snapshot = folder / _SNAPSHOT
    if not snapshot.is_dir():
        raise UsageError(f"{folder}: no {_SNAPSHOT}/ folder (the repository snapshot)")
    task = BenchTask(
        name=folder.name,
        text=spec.task.strip(),
        snapshot=snapshot,
        tests=spec.tests,
        timeout_s=spec.timeout_s,
        stored_suffix=spec.stored_suffix,
        simulated=folder / "simulated" if (folder / "simulated").is_dir() else None,
    )
    copied = {relative for relative, _ in task.files()}
    for index, test in enumerate(spec.tests):
        if Path(test).is_absolute() or ".." in Path(test).parts or test not in copied:
            raise UsageError(
                f"{path}: tests.{index}: expected a file of {_SNAPSHOT}/ (relative), got {test!r}"
            )
    return task


def load_task_set(root: Path, only: list[str] | None = None) -> list[BenchTask]:
    """The tasks under ``root`` (a task set, or an aider polyglot / Exercism checkout), sorted
    by name; ``only``: just these (each must exist)."""
    from mao_tui.service.bench_polyglot import is_polyglot, read_polyglot

    if not root.is_dir():
        raise UsageError(f"{root}: no such folder (a task set is a folder of tasks)")
    if is_polyglot(root):
        tasks = read_polyglot(root)
    else:
        folders = [
            p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith((".", "_"))
        ]
        tasks = [read_task(folder) for folder in folders]
    if not tasks:
        raise UsageError(f"{root}: no tasks in it (expected folders holding {TASK_FILE})")
    if only:
        names = {t.name for t in tasks}
        unknown = [name for name in only if name not in names]
        if unknown:
            raise UsageError(
                f"--tasks: no task {', '.join(map(repr, unknown))} in {root}; "
                f"it has: {', '.join(sorted(names))}"
            )
        tasks = [t for t in tasks if t.name in only]
    return tasks


def shipped_task_set() -> Path:
    """The task set shipped with mao (mao_tui/samples/bench)."""
    from importlib import resources

    return Path(str(resources.files("mao_tui.samples").joinpath("bench")))
