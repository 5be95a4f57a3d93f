"""Hostile files manifests through the real entry point: `mao develop --apply --yes` against the
simulator, whose synthesis carries the manifest. Nothing may reach a .git (nested, aliased,
through a symlink, or planted as a bare repository) or .mao; a bad path is refused on its own
with the reason shown, the rest applied; paths cannot forge lines; line endings are kept;
every input is bounded."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.launches import fast_launch

from mao_tui.cli import main
from mao_tui.engine.files import FileBlock, manifest_block
from mao_tui.engine.session import SessionRequest
from mao_tui.service.live_session import AppBackend, OpenSession
from mao_tui.tui.app import MaoApp
from mao_tui.tui.apply_screen import ApplyScreen
from mao_tui.tui.dashboard import DashboardScreen

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _serve(monkeypatch: pytest.MonkeyPatch, files: list[FileBlock] | str) -> None:
    """The simulated synthesis answers with ``files`` as its mao-files manifest (or this raw
    manifest block text)."""
    block = files if isinstance(files, str) else manifest_block(files)
    monkeypatch.setattr("mao_tui.simulator.scripts._manifest", lambda broken: block)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _workspace(tmp_path: Path) -> Path:
    """A repository with a nested repository, a bare one, and symlinks into .git and out."""
    ws = tmp_path / "ws"
    ws.mkdir()
    git = ["git", "-c", "init.defaultBranch=main", "init", "-q"]
    subprocess.run([*git, str(ws)], check=True)
    subprocess.run([*git, str(ws / "sub")], check=True)
    subprocess.run([*git, "--bare", str(ws / "bare")], check=True)
    (tmp_path / "outside").mkdir()
    (ws / "out").symlink_to(tmp_path / "outside")
    (ws / "link").symlink_to(ws / "sub" / ".git")
    (ws / ".mao").mkdir()
    (ws / ".mao" / "verify.yaml").write_text(
        f"develop:\n  - {{name: ok, argv: [{sys.executable}, -c, 'pass']}}\n"
    )
    return ws


def _develop(tmp_path: Path, *extra: str) -> list[str]:
    return ["develop", "Build it", "--simulate", "--speed", "inf", "--no-planner", "--apply",
            "--yes", "--in-place", "--fix-rounds", "0", "--db", str(tmp_path / "mao.db"),
            *extra]  # fmt: skip


def _applied(tmp_path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(tmp_path / "mao.db") as conn:
        rows = conn.execute("SELECT path, status, reason FROM applied_files ORDER BY id")
        return {path: (status, reason) for path, status, reason in rows}


FSMONITOR = "[core]\n\tfsmonitor = touch /tmp/pwned-by-mao\n"
GIT_PATHS = {
    "sub/.git/config": "is inside .git/",
    "sub/.git/hooks/pre-commit": "is inside .git/",
    "newdir/.git/HEAD": "is inside .git/",
    "newdir/.git": "is a file named .git",
    "sub/.GIT/config": "is inside .git/ (spelled '.GIT')",
    "sub/.Git/hooks/post-checkout": "is inside .git/ (spelled '.Git')",
    "sub/.git./config": "is inside .git/ (spelled '.git.')",
    "sub/.git /config": "is inside .git/ (spelled '.git ')",
    "sub/GIT~1/config": "is inside .git/ (spelled 'GIT~1')",
    "sub/.git::$INDEX_ALLOCATION/config": "is inside .git/ (spelled '.git::$INDEX_ALLOCATION')",
    "deep/er/.mao/verify.yaml": "is inside .mao/ (mao's own configuration)",
    ".MAO/verify.yaml": "is inside .mao/ (spelled '.MAO')",
    "link/config": "is inside .git/ through a symlink",
    "out/evil.py": "leaves the workspace through a symlink",
    "bare/config": "is inside a git directory (a folder with HEAD, objects/ and refs/)",
    "bare/hooks/pre-commit": "is inside a git directory",
    "planted/HEAD": "would make a git directory",
    "planted/config": "would make a git directory",
    "planted/objects/info/packs": "would make a git directory",
    "planted/refs/heads/main": "would make a git directory",
}


def test_no_manifest_path_reaches_a_git_directory_and_each_refusal_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    before = _tree(ws)
    _serve(monkeypatch, [FileBlock(p, FSMONITOR) for p in GIT_PATHS])
    monkeypatch.chdir(ws)
    assert main(_develop(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "mao: nothing applied: every file was refused" in err
    for path, reason in GIT_PATHS.items():
        assert f"  ✗ {path} (refused: {reason}" in err, path
    assert _tree(ws) == before  # not one byte written anywhere in the workspace
    assert list((tmp_path / "outside").iterdir()) == []
    applied = _applied(tmp_path)
    assert set(applied) == set(GIT_PATHS)
    assert {status for status, _ in applied.values()} == {"refused"}
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ws / "sub",
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert status.returncode == 0 and not Path("/tmp/pwned-by-mao").exists()


def test_an_over_long_name_or_path_is_refused_and_the_rest_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    long_name = "n" * 300 + ".py"
    long_path = "/".join(["d" * 200] * 25) + "/x.py"  # every name fits; the path does not
    _serve(monkeypatch, [FileBlock(long_name, "x = 1\n"), FileBlock(long_path, "x = 1\n"),
                         FileBlock("ok.py", "ok = True\n")])  # fmt: skip
    monkeypatch.chdir(ws)
    assert main(_develop(tmp_path)) == 0
    err = capsys.readouterr().err
    assert "has a name of 303 bytes, over the file system's limit of 255" in err
    assert "over the file system's limit of 4,096" in err
    assert "mao: applied; verification passed" in err
    assert (ws / "ok.py").read_text() == "ok = True\n"
    assert [status for status, _ in _applied(tmp_path).values()] == [
        "refused",
        "refused",
        "written",
    ]


CONTROL_PATHS = {
    "forged.py\n  + innocent.py (create)": "contains U+000A",
    "nul\0.py": "contains U+0000",
    "esc\x1b[2J.py": "contains U+001B",
    "cr\rx.py": "contains U+000D",
    "evil\u202egnp.py": "contains U+202E (right-to-left override)",
    "zero\u200bwidth.py": "contains U+200B (zero width space)",
    "line\u2028sep.py": "contains U+2028",
}


def test_paths_with_control_characters_are_refused_and_cannot_forge_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    before = _tree(ws)
    files = {"files": [{"path": p, "content": "x = 1\n"} for p in CONTROL_PATHS]}
    _serve(monkeypatch, f"```json mao-files\n{json.dumps(files)}\n```\n")  # \u escapes
    monkeypatch.chdir(ws)
    assert main(_develop(tmp_path)) == 1
    err = capsys.readouterr().err
    for reason in CONTROL_PATHS.values():
        assert reason in err
    assert "forged.py␊  + innocent.py (create) (refused: contains U+000A" in err
    assert "evil⟨U+202E⟩gnp.py" in err and "nul␀.py" in err
    assert "\n  + innocent.py" not in err and "\x1b" not in err and "\u202e" not in err
    assert _tree(ws) == before
    assert not any(name.startswith(("nul", "forged", "evil")) for name in os.listdir(ws))


def _terminal(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return answer

    monkeypatch.setattr(sys, "stdin", Terminal())


def test_the_diff_ends_every_line_keeps_line_endings_and_shows_invisible_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    (ws / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    trojan = 'access = "user\u202e \u2066// admin only\u2069 \u2066"  # zero\u200bwidth\n'
    _serve(monkeypatch, [
        FileBlock("no_newline.py", "a = 1"),  # no final newline: the next header must not glue
        FileBlock("model_crlf.txt", "x\r\ny\r\n"),  # CR LF as the model gave it
        FileBlock("crlf.txt", "one\ntwo\nthree\n"),  # an existing CR LF file keeps CR LF
        FileBlock("trojan.py", trojan),
    ])  # fmt: skip
    monkeypatch.chdir(ws)
    _terminal(monkeypatch, "y\n")
    assert main([a for a in _develop(tmp_path) if a != "--yes"]) == 0  # asks; y
    err = capsys.readouterr().err
    assert "+a = 1\n\\ No newline at end of file\n--- /dev/null\n+++ b/model_crlf.txt\n" in err
    assert "+x␍\n+y␍\n" in err
    assert "+three␍\n" in err
    assert "⟨U+202E⟩" in err and "⟨U+2066⟩" in err and "⟨U+200B⟩" in err
    assert "\u202e" not in err and "\u200b" not in err and "\r" not in err
    # the bytes written are the model's: CR LF kept, the invisible characters too (shown first)
    assert (ws / "no_newline.py").read_bytes() == b"a = 1"
    assert (ws / "model_crlf.txt").read_bytes() == b"x\r\ny\r\n"
    assert (ws / "crlf.txt").read_bytes() == b"one\r\ntwo\r\nthree\r\n"
    assert (ws / "trojan.py").read_text(encoding="utf-8") == trojan


def test_headless_output_shows_bidi_and_zero_width_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "mao_tui.simulator.scripts._manifest",
        lambda broken: 'The check is `if role == "user\u202e\u2066":` and a\u200djoin.\n',
    )
    args = ["develop", "Build it", "--simulate", "--speed", "inf", "--no-planner", "--headless",
            "--db", str(tmp_path / "mao.db")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "user⟨U+202E⟩⟨U+2066⟩" in out and "a⟨U+200D⟩join" in out
    assert not any(ch in out for ch in "\u202e\u2066\u200d")
    with sqlite3.connect(tmp_path / "mao.db") as conn:
        (session_id,) = conn.execute("SELECT id FROM sessions").fetchone()
    assert main(["sessions", "show", session_id, "--db", str(tmp_path / "mao.db")]) == 0
    out = capsys.readouterr().out
    assert "user⟨U+202E⟩⟨U+2066⟩" in out and not any(ch in out for ch in "\u202e\u2066")


@pytest.mark.parametrize(
    ("limits", "files", "message", "written"),
    [
        (
            "max_file_bytes: 1000",
            [("big.py", "x" * 1001), ("small.py", "y\n")],
            "big.py (refused: is 1,001 bytes, over the limit of 1,000 (limits.max_file_bytes)",
            ["small.py"],
        ),
        (
            "max_files: 2",
            [("a.py", "a\n"), ("b.py", "b\n"), ("c.py", "c\n")],
            "c.py (refused: is file 3, over the limit of 2 files (limits.max_files)",
            ["a.py", "b.py"],
        ),
        (
            "max_total_bytes: 10",
            [("a.py", "a" * 8), ("b.py", "b" * 8)],
            "b.py (refused: brings the files to 16 bytes, over the limit of 10",
            ["a.py"],
        ),
    ],
)
def test_the_manifest_is_bounded_by_configurable_limits(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    limits: str,
    files: list[tuple[str, str]],
    message: str,
    written: list[str],
) -> None:
    ws = _workspace(tmp_path)
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "models.yaml").write_text(f"global:\n  limits: {{{limits}}}\n")
    _serve(monkeypatch, [FileBlock(p, c) for p, c in files])
    monkeypatch.chdir(ws)
    assert main([*_develop(tmp_path), "--config", str(config)]) == 0
    assert message in capsys.readouterr().err
    assert [p for p, (s, _) in _applied(tmp_path).items() if s == "written"] == written


def test_a_json_manifest_event_keeps_the_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    _serve(monkeypatch, [FileBlock("sub/.git/config", FSMONITOR)])
    monkeypatch.chdir(ws)
    assert main([*_develop(tmp_path), "--json"]) == 1
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (applied,) = [e for e in events if e["type"] == "files_applied"]
    assert applied["files"] == [{"path": "sub/.git/config", "status": "refused",
                                 "change": "refused", "backup": None,
                                 "reason": "is inside .git/"}]  # fmt: skip


def _screen_text(app: MaoApp) -> str:
    update = app.screen._compositor.render_update(full=True)
    return "\n".join("".join(seg.text for seg in strip) for strip in update.strips)


async def test_the_dashboard_and_its_apply_dialog_show_bidi_characters_visibly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trojan = 'if role != "user\u202e \u2066// admins only\u2069 \u2066":  # zero\u200bwidth\n'
    text = f"Check `user\u202e\u2066` first.\n\n{manifest_block([FileBlock('trojan.py', trojan)])}"
    monkeypatch.setattr("mao_tui.simulator.scripts._manifest", lambda broken: text)
    launch = fast_launch(tmp_path, in_place=True)
    req = SessionRequest(command="develop", playbook="develop", task="Build it",
                         simulated=True, project_dir=tmp_path, use_planner=False)  # fmt: skip
    session = OpenSession(launch, req)
    app = MaoApp(session.run, control=session, simulated=True, backend=AppBackend(launch))
    async with app.run_test(size=(200, 60)) as pilot:
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.wait_for(screen.ended(1), 60)
        for _ in range(3):
            await pilot.pause()
        shown = _screen_text(app)
        assert "user⟨U+202E⟩⟨U+2066⟩" in shown
        assert not any(ch in shown for ch in "\u202e\u2066\u2069\u200b")
        await pilot.press("a")
        while not isinstance(app.screen, ApplyScreen):
            await pilot.pause()
        dialog = app.screen
        await pilot.pause()
        assert "⟨U+202E⟩" in dialog.shown and "⟨U+200B⟩" in dialog.shown
        shown = _screen_text(app)
        assert "⟨U+2066⟩" in shown and not any(ch in shown for ch in "\u202e\u2066\u200b")
        await pilot.press("y")
        while not (tmp_path / "trojan.py").exists():
            await pilot.pause()
        await pilot.press("escape")
        await pilot.press("ctrl+c")
    assert (tmp_path / "trojan.py").read_text(encoding="utf-8") == trojan  # the model's bytes
