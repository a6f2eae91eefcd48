"""A damaged or lost state database (issue 5; daemon-reliability.md §7 row 27).

The state is rebuildable: on open, ``PRAGMA quick_check`` (or SQLite refusing the file) moves
it aside as ``state.sqlite3.corrupt-<time>`` and a fresh one is made; the next full scan fills
it again. Identities come back from the notes themselves: a document from its ``syncd-id``
frontmatter (even in a note the user moved), a highlight from its ``^rw-`` anchor. So nothing
is written twice and the user's edits stay. What cannot come back is the memory of highlights
the user deleted: those return once (the test below pins that down; docs/reliability.md says so).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.reliability_helpers import DaemonProcess, Home, highlight_url, run_syncd

MOVED = "Elsewhere/My reading/Document b.md"
USER_LINE = "A line of my own under the highlights."


def prepared(tmp_path: Path) -> Home:
    """Three documents synced, then edited by the user: a line added to a, b moved into a
    folder of its own, frontmatter added to c; then Readwise adds a highlight to each."""
    home = Home(tmp_path)
    for doc in ("a", "b", "c"):
        home.put(doc, [1, 2])
    assert home.once().returncode == 0
    note_a = home.note("a")
    note_a.write_text(note_a.read_text("utf-8") + USER_LINE + "\n", "utf-8")
    moved = home.vault / MOVED
    moved.parent.mkdir(parents=True)
    home.note("b").rename(moved)
    note_c = home.note("c")
    note_c.write_text(note_c.read_text("utf-8").replace("---\n", "---\nrating: 5\n", 1), "utf-8")
    for doc in ("a", "b", "c"):
        home.put(doc, [1, 2], added=[[3]])
    return home


def check_rebuilt(home: Home) -> None:
    counts = home.url_counts()
    for doc in ("a", "b", "c"):
        for n in (1, 2, 3):
            assert counts[highlight_url(doc, n)] == 1, (doc, n, counts)
    assert USER_LINE in home.note("a").read_text("utf-8")
    assert (home.vault / MOVED).is_file() and not home.note("b").exists()
    assert home.note("c").read_text("utf-8").startswith("---\nrating: 5\n")
    assert sorted(home.vault_files()) == sorted(
        ["Readwise/Articles/Document a.md", MOVED, "Readwise/Articles/Document c.md"]
    )


def garbage(db: Path) -> None:
    db.write_bytes(b"this is not a database, whatever happened to it" * 100)


def torn(db: Path) -> None:
    """Keep the header, zero the pages after it: SQLite sees a malformed database."""
    data = bytearray(db.read_bytes())
    assert len(data) > 8192, len(data)
    data[4096:] = bytes(len(data) - 4096)
    db.write_bytes(bytes(data))


def checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize("damage", [garbage, torn], ids=["garbage", "torn-pages"])
def test_a_damaged_state_is_set_aside_and_rebuilt_without_duplicates(
    tmp_path: Path, damage: object
) -> None:
    home = prepared(tmp_path)
    db = home.state / "state.sqlite3"
    checkpoint(db)
    damage(db)  # type: ignore[operator]
    done = home.once()
    assert done.returncode == 0, done.stderr
    assert "is damaged" in done.stderr and "moved it to" in done.stderr, done.stderr
    aside = sorted(home.state.glob("state.sqlite3.corrupt-*"))
    assert len(aside) == 1  # kept for inspection, never deleted
    check_rebuilt(home)
    again = home.once()  # the rebuilt state serves the next run: nothing to do
    assert again.returncode == 0 and "changed 0 notes" in again.stderr, again.stderr


def test_a_deleted_state_is_rebuilt_without_duplicates(tmp_path: Path) -> None:
    home = prepared(tmp_path)
    shutil.rmtree(home.state)
    done = home.once()
    assert done.returncode == 0, done.stderr
    check_rebuilt(home)


def test_a_garbage_wal_file_is_ignored(tmp_path: Path) -> None:
    """SQLite checks every WAL frame's checksum: a damaged -wal is dropped, not applied."""
    home = prepared(tmp_path)
    db = home.state / "state.sqlite3"
    checkpoint(db)
    (home.state / "state.sqlite3-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\xff" * 5000)
    done = home.once()
    assert done.returncode == 0, done.stderr
    check_rebuilt(home)


def test_the_daemon_starts_on_a_damaged_state_and_rebuilds_it(tmp_path: Path) -> None:
    home = prepared(tmp_path)
    db = home.state / "state.sqlite3"
    checkpoint(db)
    garbage(db)
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()  # READY comes after the start scan
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert "is damaged" in daemon.log()
    check_rebuilt(home)


def test_highlights_the_user_deleted_come_back_once_after_the_state_is_lost(
    tmp_path: Path,
) -> None:
    """The one thing the notes cannot tell: a highlight deleted from the note looks like one
    never written. After losing the state it is written again, once (and stays, once)."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    note = home.note("a")
    note.write_text(
        "\n".join(line for line in note.read_text("utf-8").split("\n") if "a-h00002" not in line),
        "utf-8",
    )
    assert home.once().returncode == 0
    assert home.url_counts()[highlight_url("a", 2)] == 0  # with state: stays deleted
    shutil.rmtree(home.state)
    assert run_syncd(["once", "-c", str(home.config)]).returncode == 0
    assert home.url_counts()[highlight_url("a", 2)] == 1
    assert home.once().returncode == 0
    assert home.url_counts()[highlight_url("a", 2)] == 1


def test_highlights_above_a_rule_under_unclosed_frontmatter_are_not_written_again(
    tmp_path: Path,
) -> None:
    """The user deleted the frontmatter's closing --- and later put a --- rule under the
    highlights: everything above that rule now looks like frontmatter. Without state, the
    anchors in it must still count (they did not, and every highlight was written again)."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    note = home.note("a")
    unclosed = note.read_text("utf-8").replace("\n---\n- Highlights", "\n- Highlights", 1)
    note.write_text(unclosed + "---\n\nMy notes below a rule.\n", "utf-8")
    before = note.read_text("utf-8")
    shutil.rmtree(home.state)
    home.put("a", [1, 2], added=[[3]])
    assert home.once().returncode == 0
    assert sorted(home.vault_files()) == ["Readwise/Articles/Document a.md"]
    text = note.read_text("utf-8")
    assert text.startswith(before.rstrip("\n"))
    for n in (1, 2, 3):
        assert text.count(highlight_url("a", n)) == 1, text


@pytest.mark.parametrize("deleted", ["file", "folder", "replaced"])
def test_a_state_deleted_under_the_running_daemon_is_restored(tmp_path: Path, deleted: str) -> None:
    """``rm state.sqlite3`` (its -wal left behind), ``rm -r`` of the state folder, or another
    file moved over it while the daemon runs: the daemon writes the database it still has open
    back in place at its next batch (a file found there is kept aside), so a highlight the
    user deleted is not written again at the next start."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    daemon = DaemonProcess(home, tmp_path / "daemon.log")
    try:
        daemon.wait_ready()
        note = home.note("a")
        lines = note.read_text("utf-8").split("\n")
        note.write_text("\n".join(line for line in lines if "a-h00002" not in line), "utf-8")
        db = home.state / "state.sqlite3"
        if deleted == "file":
            db.unlink()
        elif deleted == "folder":
            shutil.rmtree(home.state)
        else:
            (home.state / "other").write_bytes(b"another file")
            (home.state / "other").rename(db)
        home.put("a", [1, 2, 3])
        daemon.wait_for(lambda: highlight_url("a", 3) in note.read_text("utf-8"), "highlight 3")
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert home.once().returncode == 0  # a new process, reading the state from its file
    counts = home.url_counts()
    assert [counts[highlight_url("a", n)] for n in (1, 2, 3)] == [1, 0, 1]
    assert daemon.count(r"WARNING .*state database .* was deleted while open; restored it") == 1
    assert " ERROR " not in daemon.log()
    kept = [p.read_bytes() for p in home.state.glob("state.sqlite3.replaced-*")]
    assert kept == ([b"another file"] if deleted == "replaced" else [])
