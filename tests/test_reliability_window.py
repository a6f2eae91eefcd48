"""The last moments of a note write (issue 13 findings 7 and 8, design.md "Writing into the
vault"), on real files and real ``syncd`` processes.

- Finding 8: a save (or a rename, a move, a delete) the user makes right before the system
  call that puts syncd's temp file in the note's place, after every check syncd can make.
  The replace is an exchange-rename (``renameat2(RENAME_EXCHANGE)``): the version it displaced
  is compared with the one syncd read; the user's save is put back and merged again, a note
  gone from its place makes the exchange fail. Before, the save was lost (the documented
  compare-and-swap window) and a rename there gave a second note with every highlight twice:
  the cause of issue 13 finding 1's natural-timing duplicates.
- Finding 7: a vault folder swapped for a symlink to a folder outside the vault, right before
  syncd opens the note's folder (after its path was checked), or right before it creates the
  temp file in it. Folders are opened from the vault down with ``O_NOFOLLOW`` and every file
  call names the note relative to its open folder: nothing is written outside.

The windows are held open by tests/race_syncd.py's pause points (an audit hook in the real
``syncd`` process); the natural-timing variants race a user process or thread with runs.
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import syncd.vault
from syncd.errors import ConcurrentModification
from syncd.vault import Vault
from tests.reliability_helpers import (
    REPO,
    WAIT,
    DaemonProcess,
    Home,
    engine_for,
    highlight_url,
)
from tests.test_reliability_relocate import ACTIONS, NOTE, assert_outcome, run_raced

USER_LINE = "A line the user typed while syncd was merging."


def synced_once(home: Home) -> None:
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])


def assert_saved_and_merged(home: Home) -> None:
    text = (home.vault / NOTE).read_text("utf-8")
    assert text.count(USER_LINE) == 1, text
    assert home.url_counts() == {highlight_url("a", n): 1 for n in (1, 2, 3)}
    assert home.temp_files() == []


# ------------------------------------------------------- finding 8: right before the rename


@pytest.mark.parametrize("what", ["save", "rename", "move", "delete"])
def test_once_a_change_right_before_the_rename_is_kept(tmp_path: Path, what: str) -> None:
    home = Home(tmp_path)
    synced_once(home)
    action, where = ("save", NOTE) if what == "save" else ACTIONS[what]
    record = tmp_path / "raced.txt"
    done = run_raced(home, ["once"], action, NOTE, record, at="rename")
    assert done.returncode == 0, done.stderr
    assert record.read_text("utf-8") == f"{action} {NOTE}\n"  # the window was hit
    if what == "save":
        assert_saved_and_merged(home)
    else:
        assert_outcome(home, where, (1, 2, 3))
    assert home.once().returncode == 0  # and nothing is written again
    if what == "save":
        assert_saved_and_merged(home)
    else:
        assert_outcome(home, where, (1, 2, 3))


def test_once_a_save_through_a_handle_opened_before_the_exchange_is_kept(
    tmp_path: Path,
) -> None:
    """The user opened the note right before the rename system call, and their write through
    that handle lands after the exchange and every check of it (right before syncd removes
    the version it displaced, at its next call on a temp file): before, the save went into a
    removed file. The removal finds that version changed: it is kept beside the note as a
    conflict copy (a warning says so); the note is syncd's merge, each highlight once."""
    home = Home(tmp_path)
    synced_once(home)
    record = tmp_path / "raced.txt"
    done = run_raced(home, ["once"], "open-save", NOTE, record, at="rename")
    assert done.returncode == 0, done.stderr
    assert record.read_text("utf-8") == f"open-save {NOTE}\n"  # the window was hit
    assert "saved while syncd replaced it; kept as" in done.stderr
    copies = list((home.vault / NOTE).parent.glob("*.sync-conflict-*.md"))
    assert [copy.read_text("utf-8").count(USER_LINE) for copy in copies] == [1]
    text = (home.vault / NOTE).read_text("utf-8")
    assert USER_LINE not in text
    assert [text.count(highlight_url("a", n)) for n in (1, 2, 3)] == [1, 1, 1]
    assert home.temp_files() == []
    assert home.once().returncode == 0  # and nothing is written again
    assert (home.vault / NOTE).read_text("utf-8") == text


def test_daemon_a_save_right_before_the_rename_is_kept(tmp_path: Path) -> None:
    """The same in a real ``syncd run`` (durable writes: the displaced version is removed at
    once, not by the background removal of bulk runs)."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    record = tmp_path / "raced.txt"
    log_path = tmp_path / "daemon.log"
    race = (str(REPO / "tests" / "race_syncd.py"),)
    env = {
        "SYNCD_TEST_RACE": "save",
        "SYNCD_TEST_RACE_NOTE": NOTE,
        "SYNCD_TEST_RACE_RECORD": str(record),
        "SYNCD_TEST_RACE_AT": "rename",
        "SYNCD_TEST_RACE_VAULT": str(home.vault),
    }
    daemon = DaemonProcess(home, log_path, env=env, program=race)
    try:
        daemon.wait_ready()
        home.put("a", [1, 2], added=[[3]])
        daemon.wait_for(record.exists, "the race")
        daemon.wait_for(
            lambda: highlight_url("a", 3) in "".join(home.url_counts()), "highlight 3 written"
        )
    finally:
        assert daemon.stop() == 0
    assert " ERROR " not in daemon.log()
    assert_saved_and_merged(home)


USER_PROCESS = r"""
import os, random, sys, time
note, stop, count = sys.argv[1], sys.argv[2], 0
rng = random.Random(8)
while not os.path.exists(stop):
    time.sleep(rng.uniform(0, 0.004))
    count += 1
    fd = os.open(note, os.O_WRONLY | os.O_APPEND)  # as an editor appends: open, write, close
    os.write(fd, f"User line {count}.\n".encode())
    os.close(fd)
print(count)
"""


def test_natural_timing_saves_during_runs_are_never_lost(tmp_path: Path) -> None:
    """No pause point: a user process appends a line to the note every few milliseconds
    while Readwise appends a highlight before each of 40 daemon-like runs (durable writes).
    Every line the user wrote is kept, and every highlight is in the note exactly once."""
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    note = home.note("a")
    stop = tmp_path / "stop"
    user = subprocess.Popen(
        [sys.executable, "-c", USER_PROCESS, str(note), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    engine, state = engine_for(home, bulk=False)
    rounds = 40
    try:
        with state:
            for n in range(2, rounds + 2):
                home.put("a", [1], added=[list(range(2, n + 1))])
                engine.scan()  # (a run whose every attempt was raced fails; the next merges)
    finally:
        stop.touch()
        out, _ = user.communicate(timeout=WAIT)
    assert home.once().returncode == 0
    lines = int(out)
    assert lines > rounds
    text = note.read_text("utf-8")
    # a save landing in a version of the note out of its place (syncd's, or the one it
    # displaced), through a handle opened while it was the note: kept beside the note
    copies = "".join(p.read_text("utf-8") for p in note.parent.glob("*.sync-conflict-*.md"))
    lost = [n for n in range(1, lines + 1) if f"User line {n}.\n" not in text + copies]
    twice = [n for n in range(1, lines + 1) if text.count(f"User line {n}.\n") > 1]
    assert (lost, twice) == ([], [])
    for n in range(1, rounds + 2):
        assert text.count(highlight_url("a", n)) == 1, n
    assert home.temp_files() == []


# ------------------------------------------------ finding 7: a folder swapped for a symlink


def outside_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_text("the user's own folder\n", "utf-8")
    os.utime(outside, ns=(0, 0))
    return outside


def assert_untouched(outside: Path) -> None:
    """Nothing written there, not even a file created and removed again (the folder's
    mtime would show it)."""
    assert sorted(p.name for p in outside.rglob("*")) == ["kept.txt"]
    assert (outside / "kept.txt").read_text("utf-8") == "the user's own folder\n"
    assert outside.stat().st_mtime_ns == 0


@pytest.mark.parametrize("at", ["folder", "temp"])
def test_a_folder_swapped_for_a_symlink_in_the_window_leads_nothing_outside(
    tmp_path: Path, at: str
) -> None:
    """``folder``: swapped after the path was checked, right before syncd opens the folder:
    the open refuses the symlink (the page fails for this run with that reason). ``temp``:
    swapped after the folder was opened, right before the temp file is created: the write
    goes into the folder opened, where the user moved it."""
    home = Home(tmp_path)
    synced_once(home)
    outside = outside_folder(tmp_path)
    record = tmp_path / "raced.txt"
    action = f"symlink:Readwise/Articles:{outside}"
    done = run_raced(home, ["once"], action, NOTE, record, at=at)
    assert record.read_text("utf-8") == f"{action} {NOTE}\n"  # the window was hit
    assert_untouched(outside)
    moved = home.vault / "Readwise" / "Articles (moved)" / "Document a.md"
    if at == "folder":
        assert done.returncode == 1
        assert "refused: not a folder (a symlink or file put in its place)" in done.stderr
        assert highlight_url("a", 3) not in moved.read_text("utf-8")
    else:
        assert done.returncode == 0, done.stderr
        text = moved.read_text("utf-8")
        assert [text.count(highlight_url("a", n)) for n in (1, 2, 3)] == [1, 1, 1]
    assert not list(home.vault.rglob(".syncd.*.tmp"))


def test_natural_timing_folder_swaps_during_writes_lead_nothing_outside(tmp_path: Path) -> None:
    """No pause point: a thread swaps the notes' folder for a symlink to a folder outside the
    vault and back (atomically: an exchange-rename), again and again, while syncd writes 60
    notes per run. Nothing is ever written outside; every highlight reaches the vault. (Where
    a walk for moved notes meets the folder as the symlink, a note may be taken as deleted and
    made again: the folder is pulled away under syncd every few milliseconds.)"""
    home = Home(tmp_path)
    docs = [f"d{n:02d}" for n in range(60)]
    for doc in docs:
        home.put(doc, [1])
    assert home.once().returncode == 0
    outside = outside_folder(tmp_path)
    folder = home.vault / "Readwise" / "Articles"
    link = folder.with_name("Articles (link)")
    link.symlink_to(outside, target_is_directory=True)
    renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    stop = threading.Event()
    swaps: list[int] = []

    def swap() -> None:
        assert renameat2(-100, bytes(folder), -100, bytes(link), 2) == 0, ctypes.get_errno()

    def user() -> None:
        while not stop.is_set():
            swap()  # the folder is the symlink now
            time.sleep(0.0005)
            swap()
            swaps.append(1)
            time.sleep(0.002)

    engine, state = engine_for(home, bulk=False)
    thread = threading.Thread(target=user)
    thread.start()
    try:
        with state:
            for n in range(2, 6):
                for doc in docs:
                    home.put(doc, [1], added=[list(range(2, n + 1))])
                engine.scan()
                assert_untouched(outside)
    finally:
        stop.set()
        thread.join(WAIT)
    assert len(swaps) > 10
    assert_untouched(outside)
    link.unlink()
    assert home.once().returncode == 0  # the folder back in place: everything synced
    counts = home.url_counts()
    assert {u for u, c in counts.items() if c} == {
        highlight_url(d, n) for d in docs for n in range(1, 6)
    }


@pytest.mark.parametrize("lands", ["in-the-window", "after-the-check"])
def test_a_save_into_syncds_version_while_it_puts_the_users_back_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lands: str
) -> None:
    """The narrowest moment: the user saved in the window (syncd puts their version back),
    and saved again, into syncd's version, through a handle opened in the microseconds it
    was the note; the write lands then or only after syncd's check (``after-the-check``:
    before, syncd removed that version with the save in it). Both saves are kept: the first
    as the note (merged again by the caller), the second in a conflict copy beside it."""
    vault = Vault(tmp_path)
    note = tmp_path / "n.md"
    stamp = vault.write_atomic("n.md", "one\n", expected=None)
    real = syncd.vault._libc_renameat2()
    assert real is not None
    exchanges: list[bytes] = []
    handles: list[int] = []

    def renameat2(fd: int, old: bytes, new_fd: int, new: bytes, flags: int) -> int:
        first = flags == 2 and not exchanges
        if first:
            with note.open("a", encoding="utf-8") as handle:
                handle.write("first save\n")
        result = real(fd, old, new_fd, new, flags)
        if first:
            exchanges.append(new)
            handles.append(os.open(note, os.O_WRONLY | os.O_APPEND))  # syncd's version
            if lands == "in-the-window":
                os.write(handles[0], b"second save\n")
        return result

    monkeypatch.setattr(syncd.vault, "_libc_renameat2", lambda: renameat2)
    with pytest.raises(ConcurrentModification, match="changed on disk"):
        vault.write_atomic("n.md", "one\nsyncd\n", expected=stamp)
    if lands == "after-the-check":
        os.write(handles[0], b"second save\n")
    os.close(handles[0])
    vault.end_batch()
    assert exchanges == [b"n.md"]
    assert note.read_text("utf-8") == "one\nfirst save\n"
    copies = list(tmp_path.glob("n.sync-conflict-*.md"))
    assert [copy.read_text("utf-8") for copy in copies] == ["one\nsyncd\nsecond save\n"]
    assert not list(tmp_path.glob(".syncd.*"))


@pytest.mark.parametrize("handle", ["closed", "still-open"])
def test_a_save_through_a_handle_opened_before_the_exchange_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handle: str
) -> None:
    """The user opened the note (the version syncd read) right before the exchange, and
    writes through that handle after syncd checked the version it displaced and returned:
    the save lands in that version, out of the note's place (before, it was removed at once
    with the save in it). Its removal waits for the batch's end and finds it changed
    (``closed``) or still open for writing (``still-open``: a read lease is refused): it is
    kept beside the note as a conflict copy, and syncd's version stays the note."""
    vault = Vault(tmp_path)
    note = tmp_path / "n.md"
    stamp = vault.write_atomic("n.md", "one\n", expected=None)
    real = syncd.vault._libc_renameat2()
    assert real is not None
    handles: list[int] = []

    def renameat2(fd: int, old: bytes, new_fd: int, new: bytes, flags: int) -> int:
        if flags == 2 and not handles:
            handles.append(os.open(note, os.O_WRONLY | os.O_APPEND))
        return real(fd, old, new_fd, new, flags)

    monkeypatch.setattr(syncd.vault, "_libc_renameat2", lambda: renameat2)
    vault.write_atomic("n.md", "one\nsyncd\n", expected=stamp)  # durable: the daemon's
    os.write(handles[0], b"a late save\n")
    if handle == "closed":
        os.close(handles[0])
    vault.end_batch()
    if handle == "still-open":
        os.write(handles[0], b"and another\n")
        os.close(handles[0])
    assert note.read_text("utf-8") == "one\nsyncd\n"
    copies = list(tmp_path.glob("n.sync-conflict-*.md"))
    late = "one\na late save\n" + ("and another\n" if handle == "still-open" else "")
    assert [copy.read_text("utf-8") for copy in copies] == [late]
    assert not list(tmp_path.glob(".syncd.*"))


def test_without_an_exchange_rename_the_stamp_is_checked_right_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system (or OS) with no ``renameat2`` flags: syncd falls back to checking the
    note's stamp and then renaming (two calls; the window between them is a known limit,
    docs/reliability.md). A save before that check is still seen, and nothing is lost."""
    vault = Vault(tmp_path)
    note = tmp_path / "n.md"
    stamp = vault.write_atomic("n.md", "one\n", expected=None)

    def unsupported(*args: object) -> int:
        ctypes.set_errno(errno.EINVAL)
        return -1

    monkeypatch.setattr(syncd.vault, "_libc_renameat2", lambda: unsupported)
    stamp = vault.write_atomic("n.md", "two\n", expected=stamp)
    assert note.read_text("utf-8") == "two\n"
    real_fsync = os.fsync

    def fsync_then_save(fd: int) -> None:
        real_fsync(fd)
        with note.open("a", encoding="utf-8") as handle:
            handle.write("saved\n")

    monkeypatch.setattr(os, "fsync", fsync_then_save)
    with pytest.raises(ConcurrentModification, match="changed on disk"):
        vault.write_atomic("n.md", "three\n", expected=stamp)
    assert note.read_text("utf-8") == "two\nsaved\n"
    assert not list(tmp_path.glob(".syncd.*"))
