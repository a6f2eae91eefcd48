"""Merge rule 5 for metadata and a highlight's children (design.md "Merge rules"; issue 12,
acceptance 3): what Readwise changes reaches the note where the user did not edit it, three-way
per frontmatter key and per highlight against what syncd last wrote; where the user edited the
same key or highlight, their version stays, and every other byte of theirs too.

The first tests run ``syncd once`` three times (v1 -> v2 -> v3) on real files, into two vaults:
one the user never touches, one they edit after v1. v2: the author fixed in Readwise, a note
added to an existing highlight, another highlight's note changed. v3: the title changed in
Reader, so the page is re-exported under a new page name (same url), with a new highlight.
The tests after them pin the pieces on ``merge_document`` (pure), including a state made before
these bases existed (syncd 0.1.0: nothing of the user's is overwritten).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.cli import main
from syncd.logseq.parser import parse_page
from syncd.merge import BASE_MARK, FM_PREFIX, KIDS_PREFIX, UNKNOWN, merge_document
from syncd.readwise import Document, document_from_page
from tests.conftest import readwise_context

OLD_PAGE = "The Quiet Orchard (highlights).md"
NEW_PAGE = "The Quiet Orchard___ A Year of Pruning (highlights).md"  # title "…: A Year …"
KINDLE = "https://readwise.io/to_kindle?action=open&asin=B0ORCHARD1&location="


def page_v1() -> str:
    return f"""title:: The Quiet Orchard (highlights)
author:: [[Jon Smiht]]
full-title:: The Quiet Orchard
category:: #books
url:: https://example.org/books/quiet-orchard

- Highlights first synced by [[Readwise]] [[Mar 3rd, 2024]]
\t- Prune in the cold months, when the sap sleeps. ([Location 120]({KINDLE}120))
\t\t- **Note**: try this on the pear tree
\t- Every graft is a small wager on spring. ([Location 340]({KINDLE}340))
\t- Bees keep the books of the orchard. ([Location 512]({KINDLE}512))
"""


def page_v2() -> str:
    """The author fixed, a note added to the second highlight, the first one's note changed."""
    return (
        page_v1()
        .replace("Jon Smiht", "Jon Smith")
        .replace("the pear tree", "the pear tree and the quince")
        .replace("340))\n", "340))\n\t\t- **Note**: a wager worth making\n")
    )


def page_v3() -> str:
    """The title changed in Reader (a new page name, the same url) and a new highlight."""
    return (
        page_v2()
        .replace(
            "The Quiet Orchard (highlights)", "The Quiet Orchard: A Year of Pruning (highlights)"
        )
        .replace(
            "full-title:: The Quiet Orchard\n",
            "full-title:: The Quiet Orchard: A Year of Pruning\n",
        )
        + "- New highlights added [[Apr 9th, 2024]] at 10:00 AM\n"
        + f"\t- Windfalls are the tree's own tithe. ([Location 777]({KINDLE}777))\n"
    )


H1 = (
    f"\t- Prune in the cold months, when the sap sleeps. ([Location 120]({KINDLE}120))"
    " ^rw-704dc83a1bf2"
)
H2 = f"\t- Every graft is a small wager on spring. ([Location 340]({KINDLE}340)) ^rw-f380b8934a59"
H3 = f"\t- Bees keep the books of the orchard. ([Location 512]({KINDLE}512)) ^rw-ad058c39bf19"
H4 = f"\t- Windfalls are the tree's own tithe. ([Location 777]({KINDLE}777)) ^rw-d6d8bcbebab4"
ID = "syncd-id: url:https://example.org/books/quiet-orchard"
HEADER = "- Highlights first synced by [[Readwise]] [[2024-03-03|Mar 3rd, 2024]]"
ADDED = "- New highlights added [[2024-04-09|Apr 9th, 2024]] at 10:00 AM"

NOTE_V1 = f"""---
author: "[[Jon Smiht]]"
full-title: The Quiet Orchard
category: books
url: https://example.org/books/quiet-orchard
aliases:
  - The Quiet Orchard (highlights)
{ID}
---
{HEADER}
{H1}
\t\t- **Note**: try this on the pear tree
{H2}
{H3}
"""

# the untouched note after v3: every change arrived; the file name stayed
UNEDITED_V3 = f"""---
author: "[[Jon Smith]]"
full-title: "The Quiet Orchard: A Year of Pruning"
category: books
url: https://example.org/books/quiet-orchard
aliases:
  - The Quiet Orchard (highlights)
  - "The Quiet Orchard: A Year of Pruning (highlights)"
{ID}
---
{HEADER}
{H1}
\t\t- **Note**: try this on the pear tree and the quince
{H2}
\t\t- **Note**: a wager worth making
{H3}
{ADDED}
{H4}
"""


def user_edits(text: str) -> str:
    """What the user does to the note after v1: the author, the full title and the first
    highlight's note changed, the second highlight reworded, a key and a section of their own."""
    edits = [
        ('author: "[[Jon Smiht]]"', 'author: "[[Jonathan Smiht]]"'),
        ("full-title: The Quiet Orchard\n", "full-title: The Quiet Orchard (my copy)\nrating: 5\n"),
        ("**Note**: try this on the pear tree", "**Note**: did this on the pear tree, 2024"),
        ("a small wager on spring.", "a small wager on spring!"),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + "\n## What I'll try\n- graft the old apple\n"


# the edited note after v3: the user's keys, note and wording stay; what they did not touch
# (the aliases, the third highlight, the new highlight) follows Readwise; their other bytes stay
EDITED_V3 = f"""---
author: "[[Jonathan Smiht]]"
full-title: The Quiet Orchard (my copy)
rating: 5
category: books
url: https://example.org/books/quiet-orchard
aliases:
  - The Quiet Orchard (highlights)
  - "The Quiet Orchard: A Year of Pruning (highlights)"
{ID}
---
{HEADER}
{H1}
\t\t- **Note**: did this on the pear tree, 2024
{H2.replace("spring.", "spring!")}
{H3}
{ADDED}
{H4}

## What I'll try
- graft the old apple
"""


def run(graph: Path, vault: Path, state: Path, include: str) -> None:
    args = ["once", str(graph), str(vault), "--include", include, "--state-dir", str(state)]
    if include == "all":
        args += ["--into", ""]
    assert main(args) == 0


def the_note(vault: Path) -> Path:
    [note] = [p for p in vault.rglob("*.md") if "Orchard" in p.name]
    return note


@pytest.mark.parametrize("include", ["readwise", "all"])
def test_three_syncs_bring_readwise_changes_and_keep_the_users(
    tmp_path: Path, include: str
) -> None:
    pages = tmp_path / "graph" / "pages"
    pages.mkdir(parents=True)
    vaults = {name: tmp_path / name for name in ("untouched", "edited")}
    for vault in vaults.values():
        (vault / ".obsidian").mkdir(parents=True)

    def sync_all() -> None:
        for name, vault in vaults.items():
            run(tmp_path / "graph", vault, tmp_path / f"state-{name}", include)

    (pages / OLD_PAGE).write_text(page_v1(), encoding="utf-8")
    sync_all()
    note = {name: the_note(vault) for name, vault in vaults.items()}
    assert note["untouched"].read_text("utf-8") == NOTE_V1
    note["edited"].write_text(user_edits(NOTE_V1), encoding="utf-8")

    (pages / OLD_PAGE).write_text(page_v2(), encoding="utf-8")
    sync_all()
    untouched = note["untouched"].read_text("utf-8")
    assert 'author: "[[Jon Smith]]"' in untouched  # the fixed author arrived
    assert f"{H2}\n\t\t- **Note**: a wager worth making\n" in untouched  # the added note
    assert "**Note**: try this on the pear tree and the quince" in untouched  # the changed one
    # where the user edited the key or the highlight, nothing of Readwise's arrived
    assert note["edited"].read_text("utf-8") == user_edits(NOTE_V1)

    (pages / OLD_PAGE).unlink()  # Readwise re-exports the page under its new name
    (pages / NEW_PAGE).write_text(page_v3(), encoding="utf-8")
    sync_all()
    for name, vault in vaults.items():
        assert the_note(vault) == note[name]  # one note, its file name unchanged
    assert note["untouched"].read_text("utf-8") == UNEDITED_V3
    assert note["edited"].read_text("utf-8") == EDITED_V3
    front = yaml.safe_load(UNEDITED_V3.split("---\n")[1])
    assert front["full-title"] == "The Quiet Orchard: A Year of Pruning"

    before = {name: n.read_bytes() for name, n in note.items()}
    sync_all()  # rule 8
    assert {name: n.read_bytes() for name, n in note.items()} == before


CTX = readwise_context(("MMM do, yyyy",))


def doc_of(text: str, name: str = "The Quiet Orchard (highlights)") -> Document:
    return document_from_page(parse_page(text), name)


def test_a_note_made_before_bases_is_never_overwritten() -> None:
    """A state from syncd 0.1.0 holds highlight hashes only: the note's keys and children
    are then the user's unless they hold what Readwise has now (then they become the base)."""
    created = merge_document(None, doc_of(page_v1()), {}, CTX)
    legacy = {k: v for k, v in created.record.items() if not k.startswith("@")}
    edited = created.text.replace("pear tree", "plum tree")  # a child the user may have edited
    got = merge_document(edited, doc_of(page_v2()), legacy, CTX)
    assert got.text == edited  # author and notes differ from Readwise now: not touched
    assert got.record[BASE_MARK] == "1"
    assert FM_PREFIX + "author" not in got.record  # unknown: stays the note's
    assert FM_PREFIX + "category" in got.record  # the same as Readwise's: its base now
    kids = [k for k in got.record if k.startswith(KIDS_PREFIX)]
    assert kids and all(got.record[k] == UNKNOWN for k in kids)
    # and it stays so on the next change
    seen = {**legacy, **got.record}
    again = merge_document(edited, doc_of(page_v2().replace("Smith", "Smyth")), seen, CTX)
    assert again.text == edited


def test_a_key_the_user_deleted_stays_deleted_and_a_new_one_arrives() -> None:
    created = merge_document(None, doc_of(page_v1()), {}, CTX)
    seen = dict(created.record)
    edited = created.text.replace("category: books\n", "")
    v2 = page_v1().replace(
        "category:: #books\n", "category:: #books\ndocument_note:: A slow book\n"
    )
    got = merge_document(edited, doc_of(v2), seen, CTX)
    assert "category:" not in got.text
    # a key Readwise added goes where a new note has it (after the keys before it)
    assert "url: https://example.org/books/quiet-orchard\ndocument_note: A slow book\n" in got.text
    assert got.text.replace("document_note: A slow book\n", "") == edited


def test_a_key_twice_in_the_users_yaml_is_not_touched() -> None:
    created = merge_document(None, doc_of(page_v1()), {}, CTX)
    twice = created.text.replace("category: books\n", "category: books\ncategory: mine\n")
    got = merge_document(
        twice, doc_of(page_v1().replace("#books", "#articles")), created.record, CTX
    )
    assert got.text == twice


def test_readwise_dropping_a_note_removes_nothing() -> None:
    created = merge_document(None, doc_of(page_v1()), {}, CTX)
    dropped = page_v1().replace("\t\t- **Note**: try this on the pear tree\n", "")
    assert not merge_document(created.text, doc_of(dropped), created.record, CTX).changed


_VALUE = st.text(alphabet="abc xyz:#-'\"", min_size=1, max_size=12).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(base=_VALUE, theirs=_VALUE, user=st.one_of(st.none(), _VALUE))
def test_per_key_three_way(base: str, theirs: str, user: str | None) -> None:
    """For any key value syncd wrote (base), Readwise's next one (theirs) and the user's
    (None: untouched): the note ends with the user's value where they changed it, else
    Readwise's; every other line of the note is unchanged."""
    v1 = page_v1().replace("[[Jon Smiht]]", f'"{base}"')
    created = merge_document(None, doc_of(v1), {}, CTX)
    lines = created.text.split("\n")
    [at] = [i for i, line in enumerate(lines) if line.startswith("author:")]
    if user is not None:
        lines[at] = f"author: {user!r}"  # the user's own spelling of YAML
    note = "\n".join(lines)
    v2 = v1.replace(f'"{base}"', f'"{theirs}"')
    got = merge_document(note, doc_of(v2), created.record, CTX).text.split("\n")
    want = merge_document(None, doc_of(v2), {}, CTX).text.split("\n")
    expected = (
        lines[at] if user is not None and lines[at] != created.text.split("\n")[at] else want[at]
    )
    assert got[at] == expected
    assert got[:at] + got[at + 1 :] == lines[:at] + lines[at + 1 :]


@pytest.mark.parametrize(
    ("note_line", "hashes"),
    [
        ("try this on the pear tree", 1),  # written as Logseq has it: one hash for both
        ("try this on [[Mar 5th, 2024]]", 2),  # a date link the rules rewrite: two hashes
    ],
)
def test_a_highlights_children_record_one_base_when_written_as_they_are(
    note_line: str, hashes: int
) -> None:
    """The ``@kids:`` base is the hash of the children as syncd wrote them, then of their
    Logseq lines; one hash when the two are the same. Either way, Readwise's next change to
    the note arrives where the user left the children alone, and never over the user's edit."""
    v1 = page_v1().replace("try this on the pear tree", note_line)
    created = merge_document(None, doc_of(v1), {}, CTX)
    [kids] = [v for k, v in created.record.items() if k.startswith(KIDS_PREFIX)]
    assert len(kids.split("/")) == hashes
    assert all(len(part) == 16 for part in kids.split("/"))  # 64 bits each
    v2 = v1.replace(note_line, note_line + " and the quince")
    got = merge_document(created.text, doc_of(v2), created.record, CTX)
    assert got.text == merge_document(None, doc_of(v2), {}, CTX).text  # the change arrived
    edited = created.text.replace("try this on", "tried this on")
    assert merge_document(edited, doc_of(v2), created.record, CTX).text == edited
