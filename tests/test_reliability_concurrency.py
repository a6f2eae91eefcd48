"""Concurrency with the user (issue 5; daemon-reliability.md §7 rows 17 and 18) on real files.

- The note changes between syncd's read and its write: the compare-and-swap right before the
  rename sees it, syncd reads the note again and merges again, so the user's edit and the new
  highlights are both kept. The user's save is injected exactly into that window: before the
  write starts, and after the temp file is complete but before the rename.
- A user who keeps saving wins every race: after three attempts the page fails for this run
  (note untouched, a clear message) and the next run merges.
- Obsidian saves the note right after the daemon wrote it: the user's save is never
  overwritten; the next change merges into it, nothing the user wrote is lost.
- syncd's own writes never make it write again: the daemon watches the sources, not the vault,
  and a reconcile scan of unchanged sources writes nothing (bounded: exactly one write per
  source change, over several periodic scans).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import syncd.vault as vault_module
from syncd.vault import Vault
from tests.reliability_helpers import (
    DaemonProcess,
    Home,
    engine_for,
    highlight_url,
)

USER_LINE = "My thought, typed while syncd was merging."


def save_like_obsidian(note: Path, text: str, *, atomic: bool) -> None:
    """Obsidian-style save: in place (truncate and write) or by temp file and rename."""
    if atomic:
        tmp = note.with_name(f".{note.name}.obsidian-tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(note)
    else:
        with note.open("w", encoding="utf-8") as handle:
            handle.write(text)


def assert_once(text: str, doc: str, numbers: tuple[int, ...]) -> None:
    for n in numbers:
        assert text.count(highlight_url(doc, n)) == 1, (n, text)


@pytest.mark.parametrize("atomic", [True, False], ids=["rename-save", "in-place-save"])
def test_a_save_between_read_and_write_is_merged_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, atomic: bool
) -> None:
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    note = home.note("a")
    real_write = Vault.write_atomic
    raced: list[str] = []

    def write_after_a_user_save(self: Vault, rel: str, text: str, **kwargs: object) -> object:
        if not raced:  # syncd has read and merged; the user saves now
            raced.append(rel)
            save_like_obsidian(note, note.read_text("utf-8") + USER_LINE + "\n", atomic=atomic)
        return real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Vault, "write_atomic", write_after_a_user_save)
    engine, state = engine_for(home, bulk=False)
    with state, caplog.at_level(logging.INFO, logger="syncd"):
        report = engine.scan()
    assert raced == ["Readwise/Articles/Document a.md"]
    assert report.failures == []
    assert "changed while syncing; merging again" in caplog.text
    text = note.read_text("utf-8")
    assert text.count(USER_LINE) == 1
    assert_once(text, "a", (1, 2, 3))
    assert home.temp_files() == []


def test_a_save_after_the_temp_file_is_written_but_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window syncd can check: the temp file is complete and synced, the
    compare-and-swap comes next. The user's save lands right there."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    note = home.note("a")
    real_write_all = vault_module._write_all
    raced: list[int] = []

    def write_then_user_saves(fd: int, data: bytes) -> None:
        real_write_all(fd, data)
        if not raced:
            raced.append(fd)
            save_like_obsidian(note, note.read_text("utf-8") + USER_LINE + "\n", atomic=True)

    monkeypatch.setattr(vault_module, "_write_all", write_then_user_saves)
    engine, state = engine_for(home, bulk=False)
    with state:
        report = engine.scan()
    assert raced and report.failures == []
    text = note.read_text("utf-8")
    assert text.count(USER_LINE) == 1
    assert_once(text, "a", (1, 2, 3))
    assert home.temp_files() == []


def test_a_user_saving_on_every_attempt_wins_and_the_next_run_merges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    note = home.note("a")
    real_write = Vault.write_atomic
    saves: list[int] = []

    def always_raced(self: Vault, rel: str, text: str, **kwargs: object) -> object:
        saves.append(len(saves))
        line = f"Edit number {len(saves)}."
        save_like_obsidian(note, note.read_text("utf-8") + line + "\n", atomic=False)
        return real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Vault, "write_atomic", always_raced)
    engine, state = engine_for(home, bulk=False)
    with state:
        report = engine.scan()
    assert len(saves) == 3  # bounded retries
    # the line names the note that refused, then the reason
    assert [reason for _, reason in report.failures] == [
        f"{note}: note changed on disk since syncd read it"
    ]
    users_version = note.read_bytes()
    assert b"Edit number 3." in users_version and highlight_url("a", 3).encode() not in (
        users_version
    )
    monkeypatch.undo()
    assert home.once().returncode == 0  # the user stopped typing: merged now
    text = note.read_text("utf-8")
    remaining = iter(text.split("\n"))  # every line of the user's version, in order
    assert all(line in remaining for line in users_version.decode("utf-8").split("\n"))
    for n in (1, 2, 3):
        assert text.count(f"Edit number {n}.") == 1
    assert_once(text, "a", (1, 2, 3))


def test_a_note_created_by_the_user_at_the_same_moment_is_merged_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """syncd creates new notes with link(2), which never replaces a file: a note the user
    created under that name in the meantime is kept and the highlights are merged into it."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    note = home.note("a")
    real_write = Vault.write_atomic
    raced: list[str] = []

    def user_creates_it_first(self: Vault, rel: str, text: str, **kwargs: object) -> object:
        if not raced:
            raced.append(rel)
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text("# My own page with this name\n\nWritten by hand.\n", "utf-8")
        return real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Vault, "write_atomic", user_creates_it_first)
    engine, state = engine_for(home, bulk=False)
    with state:
        report = engine.scan()
    assert raced and report.failures == []
    text = note.read_text("utf-8")
    assert text.startswith("# My own page with this name\n\nWritten by hand.\n")
    assert_once(text, "a", (1, 2))


# --------------------------------------------------------------------------- the daemon


def _writes(daemon: DaemonProcess, note: str) -> int:
    return daemon.count(rf"INFO syncd\.writer: (?:created|updated) {re.escape(note)}\b")


@pytest.mark.parametrize("stale", [False, True], ids=["reloaded-buffer", "stale-buffer"])
def test_obsidian_saving_right_after_the_daemon_wrote_wins(tmp_path: Path, stale: bool) -> None:
    """Obsidian reloads a note changed on disk and saves its buffer. Either way the user's
    save is never overwritten, and the next change merges into it. With a stale buffer (saved
    before Obsidian reloaded), the highlights syncd had just added are gone from the user's
    version: syncd cannot tell that from the user deleting them, and rule 4 keeps them out."""
    home = Home(tmp_path, settle="0.1s")
    page = home.put("a", [1])
    rel = "Readwise/Articles/Document a.md"
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        note = home.note("a")
        daemon.wait_for(lambda: _writes(daemon, rel) == 1, "the note's creation")
        buffer = note.read_text("utf-8")
        home.put("a", [1], added=[[2]])
        daemon.wait_for(lambda: _writes(daemon, rel) == 2, "the second highlight")
        if not stale:
            buffer = note.read_text("utf-8")  # Obsidian reloaded the file first
        save_like_obsidian(note, buffer + USER_LINE + "\n", atomic=False)
        users_version = note.read_text("utf-8")
        home.put("a", [1], added=[[2], [3]])
        daemon.wait_for(lambda: _writes(daemon, rel) == 3, "the third highlight")
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    text = note.read_text("utf-8")
    assert text.count(USER_LINE) == 1
    assert text.startswith(users_version.split(USER_LINE)[0])  # the user's save was the base
    assert_once(text, "a", (1, 3))
    assert text.count(highlight_url("a", 2)) == (0 if stale else 1)
    assert page.exists()


def test_the_daemons_own_writes_never_start_a_rewrite_loop(tmp_path: Path) -> None:
    home = Home(tmp_path, settle="0.1s", rescan="0.5s")
    home.put("a", [1])
    home.put("b", [1])
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        home.put("a", [1], added=[[2]])
        rel = "Readwise/Articles/Document a.md"
        daemon.wait_for(lambda: _writes(daemon, rel) == 2, "the update")
        note = home.note("a")
        stamp = note.stat()
        scans = daemon.count(r"full scan \(periodic\)")
        # several reconcile scans later: still the same file, not written again
        daemon.wait_for(
            lambda: daemon.count(r"full scan \(periodic\)") >= scans + 6, "periodic scans"
        )
        # and a user edit of the note does not wake syncd up either (the vault is not watched)
        save_like_obsidian(note, note.read_text("utf-8") + USER_LINE + "\n", atomic=True)
        edited = note.stat()
        scans = daemon.count(r"full scan \(periodic\)")
        daemon.wait_for(
            lambda: daemon.count(r"full scan \(periodic\)") >= scans + 6, "periodic scans"
        )
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    writes = re.findall(r"INFO syncd\.writer: (?:created|updated) .*", daemon.log())
    assert len(writes) == 3, writes  # two notes created, one updated: nothing more
    now = note.stat()
    assert (now.st_ino, now.st_mtime_ns) == (edited.st_ino, edited.st_mtime_ns)
    assert edited.st_ino != stamp.st_ino  # (the user's save did replace syncd's file)
    assert note.stat().st_size == edited.st_size
