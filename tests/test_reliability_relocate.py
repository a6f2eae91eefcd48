"""A note the user renames, moves or deletes while syncd merges into it (issue 13 finding 1,
design.md merge rule 9), and a ``syncd-id`` anywhere in a long frontmatter (finding 3).

The race window is held open deterministically: syncd has read the note and merged the new
highlights; right before its compare-and-swap write the user renames, moves or deletes the
note (``tests/race_syncd.py`` in a real ``syncd once`` / ``syncd run`` process, a patched
``Vault.write_atomic`` for the engine in this process). The write is refused (the note is not
where syncd read it); syncd finds the note again by its ``syncd-id`` anywhere in the vault and
merges there, or, when it is nowhere, treats it as deleted by the user (merge rule 4: it comes
back for the new highlights only, holding only those). Never a second note, never a highlight
twice. A natural-timing variant renames and moves the note from another thread while runs go.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.vault import Vault
from tests.race_syncd import user_acts
from tests.reliability_helpers import (
    REPO,
    SYNCD_ID_RE,
    WAIT,
    DaemonProcess,
    Home,
    engine_for,
    highlight_url,
    run_measured,
)

NOTE = "Readwise/Articles/Document a.md"
# what the user does in the window, and where the note is afterwards (None: deleted)
ACTIONS = {
    "rename": ("rename:Readwise/Articles/Mine.md", "Readwise/Articles/Mine.md"),
    "move": ("move:Archive/2024/Document a.md", "Archive/2024/Document a.md"),
    "delete": ("delete", None),
    # a save makes the first write fail; the delete the second one, merged again
    "save-then-delete": ("save;delete", None),
    "save-then-move": ("save;move:Archive/Document a.md", "Archive/Document a.md"),
}


def run_raced(
    home: Home, args: list[str], action: str, note: str, record: Path, at: str = "write"
) -> subprocess.CompletedProcess[str]:
    """syncd ARGS under tests/race_syncd.py: the user does ``action`` to ``note`` at pause
    point ``at``."""
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "race_syncd.py"), *args, "-c", str(home.config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={
            **os.environ,
            "SYNCD_TEST_RACE": action,
            "SYNCD_TEST_RACE_NOTE": note,
            "SYNCD_TEST_RACE_RECORD": str(record),
            "SYNCD_TEST_RACE_AT": at,
            "SYNCD_TEST_RACE_VAULT": str(home.vault),
        },
        check=False,
    )


@pytest.fixture
def raced_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Patch ``Vault.write_atomic`` in this process as tests/race_syncd.py does; set
    ``[action, note]`` in the returned list; the race is recorded by appending to it."""
    real_write = Vault.write_atomic
    setting: list[str] = []

    def raced(self: Vault, rel: str, text: object, **kwargs: object) -> object:
        if len(setting) >= 2 and rel == setting[1]:
            actions = setting[0].split(";")
            if len(setting) - 2 < len(actions):
                user_acts(self.root, actions[len(setting) - 2], rel)
                setting.append("raced")
        return real_write(self, rel, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Vault, "write_atomic", raced)
    yield setting


def assert_outcome(home: Home, where: str | None, numbers: tuple[int, ...]) -> None:
    """The document's highlights ``numbers`` are each exactly once in the vault, all in the
    note at ``where`` (None: the user deleted it; only highlight 3, the new one, came back,
    at the old path); no other note carries the document."""
    counts = home.url_counts()
    notes = [p for p in home.vault.rglob("*.md") if ".obsidian" not in p.parts]
    with_id = [p for p in notes if SYNCD_ID_RE.search(p.read_text("utf-8"))]
    if where is None:
        assert [p.relative_to(home.vault).as_posix() for p in with_id] == [NOTE]
        assert {u: c for u, c in counts.items() if c} == {highlight_url("a", 3): 1}
        return
    assert [p.relative_to(home.vault).as_posix() for p in with_id] == [where]
    text = (home.vault / where).read_text("utf-8")
    if where == "Archive/Document a.md":  # (save-then-move: the user's save was kept)
        assert text.count("A line the user typed while syncd was merging.") == 1
    for n in numbers:
        assert text.count(highlight_url("a", n)) == 1, (n, text)
    assert counts == {highlight_url("a", n): 1 for n in numbers}


@pytest.mark.parametrize("what", sorted(ACTIONS))
def test_engine_a_note_changed_in_the_window_is_found_by_its_id(
    tmp_path: Path, raced_engine: list[str], what: str
) -> None:
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    action, where = ACTIONS[what]
    raced_engine.extend([action, NOTE])
    engine, state = engine_for(home)
    with state:
        report = engine.scan()
    assert raced_engine[2:] == ["raced"] * len(action.split(";"))
    assert report.failures == []
    assert_outcome(home, where, (1, 2, 3))
    # and the next run finds everything where it is: nothing written again
    again = home.once()
    assert again.returncode == 0, again.stderr
    assert_outcome(home, where, (1, 2, 3))


@pytest.mark.parametrize("what", sorted(ACTIONS))
def test_once_a_note_changed_in_the_window_is_found_by_its_id(tmp_path: Path, what: str) -> None:
    """The same race in a real ``syncd once`` process (tests/race_syncd.py)."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    action, where = ACTIONS[what]
    record = tmp_path / "raced.txt"
    done = run_raced(home, ["once"], action, NOTE, record)
    assert done.returncode == 0, done.stderr
    assert record.read_text("utf-8") == "".join(f"{a} {NOTE}\n" for a in action.split(";"))
    assert_outcome(home, where, (1, 2, 3))
    assert home.once().returncode == 0
    assert_outcome(home, where, (1, 2, 3))


@pytest.mark.parametrize("what", sorted(ACTIONS))
def test_daemon_a_note_changed_in_the_window_is_found_by_its_id(tmp_path: Path, what: str) -> None:
    """The same race in a real ``syncd run`` daemon: Readwise appends a highlight, the daemon
    merges it, the user renames/moves/deletes the note right before the write."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    action, where = ACTIONS[what]
    record = tmp_path / "raced.txt"
    log_path = tmp_path / "daemon.log"
    race = (str(REPO / "tests" / "race_syncd.py"),)
    env = {
        "SYNCD_TEST_RACE": action,
        "SYNCD_TEST_RACE_NOTE": NOTE,
        "SYNCD_TEST_RACE_RECORD": str(record),
    }
    daemon = DaemonProcess(home, log_path, env=env, program=race)
    try:
        daemon.wait_ready()
        home.put("a", [1, 2], added=[[3]])
        daemon.wait_for(record.exists, "the race")
        daemon.wait_for(
            lambda: highlight_url("a", 3) in "".join(home.url_counts()), "highlight 3 written"
        )
        time.sleep(0.5)  # (a second note would be written right after)
    finally:
        assert daemon.stop() == 0
    assert " ERROR " not in daemon.log()
    assert_outcome(home, where, (1, 2, 3))


def test_a_folder_moved_twice_in_one_batch_keeps_one_note_per_document(
    tmp_path: Path, raced_engine: list[str]
) -> None:
    """The user moves the folder of two notes, syncd starts merging into them, and the user
    moves the folder again before the first write: each document keeps its one note."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    home.put("b", [1, 2])
    assert home.once().returncode == 0
    home.put("a", [1, 2], added=[[3]])
    home.put("b", [1, 2], added=[[3]])
    (home.vault / "Readwise").rename(home.vault / "Moved once")
    raced_engine.extend(["folder:Moved once:Moved twice", "Moved once/Articles/Document a.md"])
    engine, state = engine_for(home)
    with state:
        report = engine.scan()
    assert raced_engine[2:] == ["raced"]
    assert report.failures == []
    notes = sorted(
        p.relative_to(home.vault).as_posix()
        for p in home.vault.rglob("*.md")
        if ".obsidian" not in p.parts
    )
    assert notes == ["Moved twice/Articles/Document a.md", "Moved twice/Articles/Document b.md"]
    counts = home.url_counts()
    assert counts == {highlight_url(d, n): 1 for d in "ab" for n in (1, 2, 3)}


def test_natural_timing_renames_and_moves_during_runs_never_duplicate(tmp_path: Path) -> None:
    """No pause point: a user thread renames and moves the note at random moments while
    Readwise appends a highlight before each run. Each highlight ends up exactly once, in
    the one note carrying the document's id."""
    home = Home(tmp_path)
    home.put("a", [1])
    assert home.once().returncode == 0
    engine, state = engine_for(home, bulk=False)
    rng = random.Random(13)
    stop = threading.Event()

    def where_is_it() -> Path | None:
        for path in home.vault.rglob("*.md"):
            try:
                if "syncd-id:" in path.read_text("utf-8"):
                    return path
            except (FileNotFoundError, UnicodeDecodeError):
                continue
        return None

    def user() -> None:
        n = 0
        while not stop.is_set():
            time.sleep(rng.uniform(0, 0.02))
            note = where_is_it()
            if note is None:
                continue
            n += 1
            target = home.vault / f"Folder {n % 3}" / f"Name {n}.md"
            target.parent.mkdir(exist_ok=True)
            try:
                note.rename(target)
            except FileNotFoundError:
                continue

    thread = threading.Thread(target=user)
    thread.start()
    rounds = 40
    try:
        with state:
            for n in range(2, rounds + 2):
                home.put("a", [1], added=[list(range(2, n + 1))])
                engine.scan()
    finally:
        stop.set()
        thread.join(WAIT)
    assert home.once().returncode == 0
    counts = home.url_counts()
    assert counts == {highlight_url("a", n): 1 for n in range(1, rounds + 2)}
    with_id = [p for p in home.vault.rglob("*.md") if SYNCD_ID_RE.search(p.read_text("utf-8"))]
    assert len(with_id) == 1


# --------------------------------------------------------------- finding 3: the id's place


def _with_keys_above_the_id(note: Path, filler: str) -> None:
    """The user puts a long key above ``syncd-id`` (a summary, many tags), as Obsidian's
    property editor may order them."""
    text = note.read_text("utf-8")
    assert text.startswith("---\n")
    note.write_text("---\n" + filler + text[4:], "utf-8")


LONG_SUMMARY = "summary: " + "A long Readwise summary, word after word. " * 200 + "\n"
MANY_TAGS = "my-topics:\n" + "".join(f"  - reading-topic-{n:03d}\n" for n in range(200))


@pytest.mark.parametrize("filler", [LONG_SUMMARY, MANY_TAGS], ids=["summary", "200-tags"])
def test_a_moved_note_is_found_with_its_id_below_4096_characters(
    tmp_path: Path, filler: str
) -> None:
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    _with_keys_above_the_id(home.note("a"), filler)
    assert home.note("a").read_text("utf-8").index("syncd-id:") > 4096
    moved = home.vault / "Elsewhere" / "Kept.md"
    moved.parent.mkdir()
    home.note("a").rename(moved)
    home.put("a", [1, 2], added=[[3]])
    assert home.once().returncode == 0
    assert not home.note("a").exists()
    assert home.url_counts() == {highlight_url("a", n): 1 for n in (1, 2, 3)}
    assert moved.read_text("utf-8").startswith("---\n" + filler)


def test_after_a_state_loss_a_note_with_its_id_deep_down_gets_nothing_twice(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    _with_keys_above_the_id(home.note("a"), MANY_TAGS)
    for path in home.state.iterdir():
        path.unlink()
    home.put("a", [1, 2], added=[[3]])
    assert home.once().returncode == 0
    assert sorted(p.name for p in home.note("a").parent.iterdir()) == ["Document a.md"]
    assert home.url_counts() == {highlight_url("a", n): 1 for n in (1, 2, 3)}


def test_a_copied_note_does_not_receive_everything_after_a_state_loss(tmp_path: Path) -> None:
    """Obsidian's "Make a copy" copies ``syncd-id`` too. The user trims the copy to the one
    highlight they want to write about; after a state loss syncd merges into the note with
    the document's own name, and the copy is left as the user made it."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    assert home.once().returncode == 0
    note = home.note("a")
    copy = note.with_name("Document a 1.md")
    kept = [line for line in note.read_text("utf-8").split("\n") if "-h00001" not in line]
    copy.write_text("\n".join(kept) + "My essay on highlight 2.\n", "utf-8")
    copied = copy.read_bytes()
    for path in home.state.iterdir():
        path.unlink()
    home.put("a", [1, 2], added=[[3]])
    assert home.once().returncode == 0
    assert copy.read_bytes() == copied
    text = note.read_text("utf-8")
    for n in (1, 2, 3):
        assert text.count(highlight_url("a", n)) == 1


def test_a_huge_note_in_the_vault_is_not_read_whole(tmp_path: Path) -> None:
    """Looking for moved notes reads frontmatters only: a 200 MB note of the user's (its
    frontmatter small, a sparse file) leaves ``syncd once``'s peak RSS far below its size."""
    home = Home(tmp_path)
    home.put("a", [1, 2])
    big = home.vault / "Huge.md"
    with big.open("wb") as handle:
        handle.write(b"---\ntags: [big]\n---\n# A huge note\n")
        handle.truncate(200 * 1024 * 1024)
    done, peak_kib = run_measured(["once", "-c", str(home.config)])
    assert done.returncode == 0, done.stderr
    assert home.url_counts() == {highlight_url("a", n): 1 for n in (1, 2)}
    assert peak_kib < 120 * 1024, f"peak RSS {peak_kib // 1024} MiB with a 200 MB note"


def test_the_id_index_is_kept_across_runs_and_follows_changed_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One engine, several runs (as the daemon's batches): the vault's frontmatters are read
    once; a later run reads only the notes that changed since, and still finds a note the
    user moved and one whose frontmatter the user rewrote."""
    home = Home(tmp_path)
    for n in range(30):
        (home.vault / f"User note {n}.md").write_text(f"---\nmine: {n}\n---\nText.\n", "utf-8")
    home.put("a", [1])
    reads: list[str] = []
    real = Vault._frontmatter_at

    def counted(self: Vault, rel: str) -> bytes | None:
        reads.append(rel)
        return real(self, rel)

    monkeypatch.setattr(Vault, "_frontmatter_at", counted)
    engine, state = engine_for(home, bulk=False)
    with state:
        engine.scan()  # document a is new: the vault is walked, every frontmatter read
        assert len(reads) == 30
        reads.clear()
        home.put("b", [1])  # a new document: the walk again, nothing read but the new note
        engine.scan()
        assert reads == ["Readwise/Articles/Document a.md"]
        reads.clear()
        moved = home.vault / "Read" / "a.md"
        moved.parent.mkdir()
        home.note("a").rename(moved)
        (home.vault / "User note 3.md").write_text("---\nmine: changed\n---\n", "utf-8")
        home.put("a", [1], added=[[2]])
        engine.scan()
    assert sorted(reads) == ["Read/a.md", "Readwise/Articles/Document b.md", "User note 3.md"]
    assert home.url_counts() == {
        highlight_url("a", 1): 1,
        highlight_url("a", 2): 1,
        highlight_url("b", 1): 1,
    }
    assert highlight_url("a", 2) in moved.read_text("utf-8")
