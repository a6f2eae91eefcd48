"""Issue acceptance 4 and merge rules 3-6 on real files: the user's edits always win."""

from __future__ import annotations

import shutil

from tests.conftest import READWISE_SAMPLES, Workspace

ORCHARD = "Readwise/Books/The Orchard Ledger.md"
REVIEWERS = "Readwise/Articles/Habits of Careful Reviewers.md"
NEW_IN_V2 = "https://readwise.io/to_kindle?action=open&asin=B0ORCH7L2D&location=901"


def sync_v1(ws: Workspace) -> None:
    ws.put_pages(READWISE_SAMPLES / "v1" / "pages")
    assert ws.sync() == 0


def sync_v2(ws: Workspace) -> None:
    ws.put_pages(READWISE_SAMPLES / "v2" / "pages")
    assert ws.sync() == 0


def test_body_text_and_frontmatter_added_by_the_user_survive(ws: Workspace) -> None:
    sync_v1(ws)
    note = ws.vault / ORCHARD
    text = note.read_text("utf-8")
    head, body = text.split("\n---\n", 1)
    user_head = head.replace(
        "category: books", "category: books\nrating: 5  # my own\nstatus: reading"
    )
    user_body = (
        "My summary before the highlights.\n\n"
        + body
        + "\n## My thoughts\n\nA ledger of weather.\n"
    )
    note.write_text(user_head + "\n---\n" + user_body, "utf-8")

    sync_v2(ws)
    after = note.read_text("utf-8")
    assert after.startswith(user_head + "\n---\n"), "frontmatter bytes changed"
    assert "My summary before the highlights.\n" in after
    assert after.endswith("## My thoughts\n\nA ledger of weather.\n")
    assert after.count(NEW_IN_V2) == 1
    # the new highlight goes after the highlights already there, before the user's section
    assert after.index(NEW_IN_V2) < after.index("## My thoughts")


def test_a_deleted_highlight_stays_deleted(ws: Workspace) -> None:
    sync_v1(ws)
    note = ws.vault / REVIEWERS
    gone = "https://read.readwise.io/read/01hnsstc6gqww3mzqzn8b5hkw1"
    lines = note.read_text("utf-8").split("\n")
    kept = [line for line in lines if gone not in line]
    assert len(kept) == len(lines) - 1
    note.write_text("\n".join(kept), "utf-8")

    sync_v2(ws)  # v2 even re-sends that highlight (the re-sync glitch)
    after = note.read_text("utf-8")
    assert gone not in after
    assert after.count("https://read.readwise.io/read/01j263m27062fexexhsk4c6fxc") == 1


def test_a_moved_and_renamed_note_receives_new_highlights_where_it_is(ws: Workspace) -> None:
    sync_v1(ws)
    moved = ws.vault / "Library" / "Orchard (book).md"
    moved.parent.mkdir()
    shutil.move(ws.vault / ORCHARD, moved)

    sync_v2(ws)
    assert not (ws.vault / ORCHARD).exists(), "a second note appeared"
    assert moved.read_text("utf-8").count(NEW_IN_V2) == 1
    orchard_notes = [p for p, t in ws.notes().items() if "asin:B0ORCH7L2D" in t]
    assert orchard_notes == ["Library/Orchard (book).md"]


def test_a_moved_note_is_found_even_without_state(ws: Workspace) -> None:
    """The identity lives in the note's frontmatter, so losing the state loses no note."""
    sync_v1(ws)
    moved = ws.vault / "Elsewhere.md"
    shutil.move(ws.vault / ORCHARD, moved)
    shutil.rmtree(ws.state)

    sync_v2(ws)
    assert not (ws.vault / ORCHARD).exists()
    text = moved.read_text("utf-8")
    assert text.count(NEW_IN_V2) == 1
    assert text.count("location=140") == 1


def test_reworded_and_reordered_highlights_stay_as_the_user_left_them(ws: Workspace) -> None:
    sync_v1(ws)
    note = ws.vault / REVIEWERS
    text = note.read_text("utf-8")
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if "01hnssp2g8dvvk0fhv7yw1n0gh" in line)
    second = next(i for i, line in enumerate(lines) if "01hnsstc6gqww3mzqzn8b5hkw1" in line)
    lines[first] = lines[first].replace("Careful reviewers", "CAREFUL reviewers (my emphasis)")
    lines[first], lines[second] = lines[second], lines[first]
    edited = "\n".join(lines)
    note.write_text(edited, "utf-8")

    sync_v2(ws)
    after = note.read_text("utf-8")
    assert after.startswith(edited.rstrip("\n"))
    assert "CAREFUL reviewers (my emphasis)" in after
    assert after.count("01hnssp2g8dvvk0fhv7yw1n0gh") == 1


def test_a_vanished_source_page_leaves_its_note_alone(ws: Workspace) -> None:
    sync_v1(ws)
    before = ws.snapshot()
    (ws.pages / "The Orchard Ledger (highlights).md").unlink()
    assert ws.sync() == 0
    assert ws.snapshot() == before


def test_a_deleted_note_comes_back_only_with_new_highlights(ws: Workspace) -> None:
    sync_v1(ws)
    (ws.vault / ORCHARD).unlink()
    assert ws.sync() == 0
    assert not (ws.vault / ORCHARD).exists()

    sync_v2(ws)
    text = (ws.vault / ORCHARD).read_text("utf-8")
    assert text.count(NEW_IN_V2) == 1
    assert "location=140" not in text
