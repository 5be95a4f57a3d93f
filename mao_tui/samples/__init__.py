"""The sample task and spec `mao demo` runs on."""

from __future__ import annotations

from importlib import resources

DEMO_TASK = (
    "Build the snippet store described in the spec: schemas, SQLite storage, search ranking, "
    "the HTTP API and its tests."
)
DEMO_SPEC_NAME = "snippets-spec.md"


def demo_spec() -> str:
    return resources.files(__package__).joinpath(DEMO_SPEC_NAME).read_text(encoding="utf-8")
