"""MkDocs hooks (mkdocs.yml `hooks:`): the site shows the repository's own screenshots.

The pages link the SVGs as `../screenshots/NAME.svg`, which GitHub resolves from `docs/`. MkDocs
only knows files under `docs/`, so the SVGs are added to the site as `screenshots/NAME.svg` and
the links rewritten to match; every other link is still checked by `mkdocs build --strict`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "screenshots"


def on_files(files: Files, config: Any) -> Files:
    for svg in sorted(SCREENSHOTS.glob("*.svg")):
        files.append(
            File(
                f"screenshots/{svg.name}",
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    return markdown.replace("](../screenshots/", "](screenshots/")
