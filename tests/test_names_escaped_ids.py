"""An already-synced document keyed by an escaped ``url::`` keeps its note after the upgrade.

syncd up to issue 11 made a document's id from ``url::`` as written, Readwise's ``\\-`` escaping
included (``url:https://green\\-fields.example/…``), and stored it in the state (documents,
highlight sets, sources) and in the note's ``syncd-id``. Now the id is the unescaped url
(design.md "Document identity"; shape 11). These tests put a vault and a state in the shape
such a syncd left them (the same note and records, only the id and the ``url`` key escaped, as
it wrote them) and run the current syncd on them, as real files: the document keeps its one
note, a new highlight arrives once, a highlight the user deleted stays deleted (merge rules 2,
4, 8), and with the state lost the note is still found by its escaped ``syncd-id`` (rule 9).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from syncd.cli import main

ESCAPED = "https://green\\-fields.example/saving\\-seeds/"
PLAIN = "https://green-fields.example/saving-seeds/"
PAGE = (
    "title:: Saving Seeds (highlights)\n"
    "author:: [[Ida Brook]]\n"
    "category:: #articles\n"
    f"url:: {ESCAPED}\n"
    "\n"
    "- Highlights first synced by [[Readwise]] [[May 17th, 2024]]\n"
    "\t- Dry the seeds before you jar them. ([View Highlight](https://read.readwise.io/read/s1))\n"
    "\t- Label every jar with the year. ([View Highlight](https://read.readwise.io/read/s2))\n"
    "\t- Keep the jars cool and dark. ([View Highlight](https://read.readwise.io/read/s3))\n"
)
NEW = "\t- Test a few seeds on a wet towel. ([View Highlight](https://read.readwise.io/read/s4))\n"
NOTE = "Readwise/Articles/Saving Seeds.md"


def sync(home: Path) -> int:
    args = ["once", str(home / "graph"), str(home / "vault"), "--state-dir", str(home / "state")]
    return main([*args, "--include", "readwise", "-q"])


def notes(home: Path) -> list[str]:
    return sorted(p.relative_to(home / "vault").as_posix() for p in (home / "vault").rglob("*.md"))


def synced_by_an_earlier_syncd(home: Path) -> None:
    """The page synced, then the note and the state as the earlier syncd left them: ids and
    the ``url`` key with the escaping; the user then deleted one highlight from the note."""
    (home / "graph" / "pages").mkdir(parents=True)
    (home / "graph" / "pages" / "Saving Seeds (highlights).md").write_text(PAGE, "utf-8")
    (home / "vault" / ".obsidian").mkdir(parents=True)
    assert sync(home) == 0
    note = home / "vault" / NOTE
    text = note.read_text("utf-8")
    assert f"syncd-id: url:{PLAIN}\n" in text and f"url: {PLAIN}\n" in text
    text = text.replace(f"url:{PLAIN}", f"url:{ESCAPED}").replace(
        f"url: {PLAIN}", f"url: {ESCAPED}"
    )
    lines = [line for line in text.split("\n") if "Label every jar" not in line]
    note.write_text("\n".join(lines), "utf-8")  # the user deletes a highlight
    db = sqlite3.connect(home / "state" / "state.sqlite3")
    with db:
        for table in ("documents", "highlight_sets", "sources"):
            db.execute(
                f"UPDATE {table} SET doc_id = ? WHERE doc_id = ?",
                (f"url:{ESCAPED}", f"url:{PLAIN}"),
            )
        db.execute("DELETE FROM meta WHERE key = 'document_ids_unescaped'")
        assert db.execute("SELECT doc_id FROM documents").fetchall() == [(f"url:{ESCAPED}",)]
    db.close()


def add_highlight(home: Path) -> None:
    with (home / "graph" / "pages" / "Saving Seeds (highlights).md").open(
        "a", encoding="utf-8"
    ) as f:
        f.write("- New highlights added [[May 20th, 2024]] at 9:12 AM\n" + NEW)


def test_the_escaped_state_finds_its_note_after_the_upgrade(tmp_path: Path) -> None:
    synced_by_an_earlier_syncd(tmp_path)
    before = (tmp_path / "vault" / NOTE).read_bytes()
    assert sync(tmp_path) == 0
    assert notes(tmp_path) == [NOTE]  # no "Saving Seeds (2).md"
    assert (tmp_path / "vault" / NOTE).read_bytes() == before  # nothing new: nothing written

    add_highlight(tmp_path)
    assert sync(tmp_path) == 0
    assert notes(tmp_path) == [NOTE]
    text = (tmp_path / "vault" / NOTE).read_text("utf-8")
    assert text.count("Test a few seeds on a wet towel.") == 1  # the new one, once
    assert "Label every jar" not in text  # deleted by the user: stays deleted (rule 4)
    assert text.count("^rw-") == 3
    db = sqlite3.connect(tmp_path / "state" / "state.sqlite3")
    assert db.execute("SELECT doc_id FROM documents").fetchall() == [(f"url:{PLAIN}",)]
    db.close()

    again = (tmp_path / "vault" / NOTE).read_bytes()
    assert sync(tmp_path) == 0
    assert (tmp_path / "vault" / NOTE).read_bytes() == again  # rule 8


def test_without_state_the_escaped_syncd_id_finds_the_moved_note(tmp_path: Path) -> None:
    synced_by_an_earlier_syncd(tmp_path)
    shutil.rmtree(tmp_path / "state")
    moved = tmp_path / "vault" / "Garden" / "Seeds.md"
    moved.parent.mkdir()
    (tmp_path / "vault" / NOTE).rename(moved)
    add_highlight(tmp_path)
    assert sync(tmp_path) == 0
    assert notes(tmp_path) == ["Garden/Seeds.md"]  # found by its syncd-id, not made again
    text = moved.read_text("utf-8")
    assert text.count("Test a few seeds on a wet towel.") == 1
    assert text.count("Dry the seeds before you jar them.") == 1
