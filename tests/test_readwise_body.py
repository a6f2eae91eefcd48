"""A Readwise note's body is the page's blocks, all of them (design.md "Losslessness",
"Readwise documents"; issue 12, shapes 01, 06 and 09 of ../shared/real/shapes).

- A block that holds only a location link belongs to the highlight before it: the highlight
  has the same identity whether its link sits in its own line, in a child block or in the
  block after it, and a note syncd wrote before (when such a link gave the highlight a text
  identity) gets nothing twice.
- ``- -`` groups stay groups; ``tags::`` blocks are kept; the user's own blocks get no anchor,
  and their refs and embeds of a highlight (row R1, E2) link to that highlight's anchor.
- Recognition: ``* New highlights added``, the older ``## Highlights first synced by
  #Readwise`` form, Readwise properties with location links; not ``Readwise.md``, not a note
  syncd wrote; a page that looks like one but is not taken is counted and listed at ``-v``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from syncd.logseq.parser import parse_page
from syncd.merge import merge_document, split_frontmatter
from syncd.note import ANCHOR_RE
from syncd.readwise import (
    anchor_for,
    document_from_page,
    is_readwise_page,
    normalize_text,
    not_taken_reason,
)
from tests.conftest import readwise_context

CTX = readwise_context(("MMM do, yyyy",))
URL = "https://readwise.io/to_kindle?action=open&asin=B0LANTERN1&location={}"
PROPS = "title:: Lanterns (highlights)\nauthor:: [[Wren Astley]]\ncategory:: #books\n\n"
HEADER = "- Highlights first synced by [[Readwise]] [[Jan 2nd, 2024]]\n"


def body(text: str) -> list[str]:
    doc = document_from_page(parse_page(text), "Lanterns (highlights)")
    return split_frontmatter(merge_document(None, doc, {}, CTX).text)[1].splitlines()


def test_a_location_link_gives_one_identity_wherever_it_sits() -> None:
    link = f"([Location 7]({URL.format(7)}))"
    inline = f"{PROPS}{HEADER}\t- Oil burns blue at first. {link}\n"
    child = f"{PROPS}{HEADER}\t- Oil burns blue at first.\n\t\t- {link}\n"
    after = f"{PROPS}{HEADER}\t- -\n\t\t- Oil burns blue at first.\n\t\t- {link}\n"
    ids = set()
    for text in (inline, child, after):
        doc = document_from_page(parse_page(text), "Lanterns (highlights)")
        highlights = [i for i in doc.items() if not i.is_block]
        assert [i.id for i in highlights] == [f"url:{URL.format(7)}"]
        ids.add(highlights[0].anchor)
        lines = body(text)
        assert sum(link in line for line in lines) == 1  # the link is in the note, once
    assert ids == {anchor_for(f"url:{URL.format(7)}")}


def test_separator_groups_stay_groups_with_every_block() -> None:
    text = (
        f"{PROPS}{HEADER}"
        "\t- -\n"
        "\t\t- Wicks want trimming. #flashcard\n"
        "\t\t  id:: 0b6f4c1a-1111-4c2d-8e3f-1a2b3c4d5e6f\n"
        f"\t\t- ([Location 12]({URL.format(12)}))\n"
        "\t- -\n"
        "\t- -\n"
        "\t\t- Glass chimneys stop drafts. #flashcard\n"
        "\t\t- tags:: [[glass]] [[air]]\n"
        f"\t\t- ([Location 15]({URL.format(15)}))\n"
        "\t- -\n"
    )
    a12, a15 = anchor_for(f"url:{URL.format(12)}"), anchor_for(f"url:{URL.format(15)}")
    assert body(text) == [
        "- Highlights first synced by [[Readwise]] [[2024-01-02|Jan 2nd, 2024]]",
        "\t- -",
        f"\t\t- Wicks want trimming. #flashcard ^{a12}",
        f"\t\t- ([Location 12]({URL.format(12)}))",
        "\t- -",
        "\t- -",
        f"\t\t- Glass chimneys stop drafts. #flashcard ^{a15}",
        "\t\t- tags:: [[glass]] [[air]]",
        f"\t\t- ([Location 15]({URL.format(15)}))",
        "\t- -",
    ]


# The note syncd wrote for the page below before issue 12: the links in blocks of their own
# dropped, each highlight known by its text (anchor of "text:…" / "heading:…").
OLD_PAGE = (
    f"{PROPS}{HEADER}"
    "\t- -\n"
    "\t\t- Wicks want trimming.\n"
    f"\t\t- ([Location 12]({URL.format(12)}))\n"
    "\t- Soot marks a cold flame.\n"
    f"\t\t- ([Location 20]({URL.format(20)}))\n"
)
OLD_NOTE = (
    '---\nauthor: "[[Wren Astley]]"\nsyncd-id: asin:B0LANTERN1\n---\n'
    "- Highlights first synced by [[Readwise]] [[2024-01-02|Jan 2nd, 2024]]\n"
    f"\t- - ^{anchor_for('heading:-')}\n"
    f"\t\t- Wicks want trimming. ^{anchor_for('text:Wicks want trimming.')}\n"
    f"\t- Soot marks a cold flame. ^{anchor_for('heading:Soot marks a cold flame.')}\n"
)


def _sha(text: str) -> str:
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()


def test_a_note_written_before_gets_no_highlight_twice() -> None:
    grown = (
        OLD_PAGE + f"\t- -\n\t\t- Brass outlasts tin.\n\t\t- ([Location 31]({URL.format(31)}))\n"
    )
    doc = document_from_page(parse_page(grown), "Lanterns (highlights)")
    recorded = {
        "heading:-": _sha("-"),
        "text:Wicks want trimming.": _sha("Wicks want trimming."),
        "heading:Soot marks a cold flame.": _sha("Soot marks a cold flame."),
    }
    for seen in (recorded, {}):  # with the state, and known from the anchors alone
        result = merge_document(OLD_NOTE, doc, seen, CTX)
        assert result.added == (f"url:{URL.format(31)}",)
        new = result.text[len(OLD_NOTE) :]
        assert "Wicks" not in new and "Soot" not in new
        assert "\t\t- Brass outlasts tin. ^" in new and f"Location 31]({URL.format(31)})" in new
        again = merge_document(result.text, doc, {**seen, **result.record}, CTX)
        assert not again.changed


TAKEAWAYS = (
    f"{PROPS}"
    "- Takeaways\n"
    "\t- ((5d1e2f3a-2222-4b5c-9d6e-7f8a9b0c1d2e))\n"
    "\t- {{embed ((5d1e2f3a-2222-4b5c-9d6e-7f8a9b0c1d2e))}}\n"
    "\t- see also [[Candles]]\n"
    f"{HEADER}"
    "\t- Keep the wick short and the flame steady. "
    "([View Highlight](https://read.readwise.io/read/01hlantern0000000000000001))\n"
    "\t  id:: 5D1E2F3A-2222-4B5C-9D6E-7F8A9B0C1D2E\n"
)


def test_R1_E2_a_users_refs_to_a_highlight_link_to_its_anchor() -> None:
    anchor = anchor_for("url:https://read.readwise.io/read/01hlantern0000000000000001")
    lines = body(TAKEAWAYS)
    assert lines[:4] == [
        "- Takeaways",
        f"\t- [[#^{anchor}]]",
        f"\t- ![[#^{anchor}]]",
        "\t- see also [[Candles]]",
    ]
    assert lines[5].endswith(f"01hlantern0000000000000001)) ^{anchor}")
    assert sum(ANCHOR_RE.search(line) is not None for line in lines) == 1  # the highlight's
    assert not any("id::" in line for line in lines)


def test_a_users_block_reaches_an_existing_note_once() -> None:
    doc = document_from_page(parse_page(TAKEAWAYS), "Lanterns (highlights)")
    first = merge_document(None, doc, {}, CTX)
    grown = TAKEAWAYS.replace("\t- see also", "\t- brass or tin?\n\t- see also")
    doc2 = document_from_page(parse_page(grown), "Lanterns (highlights)")
    second = merge_document(first.text, doc2, first.record, CTX)
    assert second.changed and second.added == ()
    assert second.text.count("brass or tin?") == 1
    assert second.text.count("see also [[Candles]]") == 1
    third = merge_document(second.text, doc2, {**first.record, **second.record}, CTX)
    assert not third.changed


def _readwise(text: str, name: str = "Some Page") -> bool:
    return is_readwise_page(parse_page(text), name)


def test_recognised_shapes() -> None:
    tweet = "([View Tweet](https://twitter.com/somebody/status/1))"
    assert _readwise(f"title:: T\n\n- * New highlights added [[Jan 2nd, 2024]]\n\t- a {tweet}\n")
    assert _readwise(
        "title:: Old\n\n## Highlights first synced by #Readwise [[May 1st, 2021]]\n### text\n"
    )
    assert _readwise(
        "author:: [[A]]\nurl:: https://example.org/x\n\n"
        "- > quoted. ([View Highlight](https://read.readwise.io/read/01x))\n"
    )
    # location links alone, or properties alone: not a document
    assert not _readwise("- quoted. ([View Highlight](https://read.readwise.io/read/01x))\n")
    assert not _readwise("author:: [[A]]\nurl:: https://example.org/x\n\n- my notes\n")


def test_never_a_document_and_why() -> None:
    notifications = "- New highlights added [[Jan 2nd, 2024]] at 9:00 AM\n"
    assert not _readwise(notifications, "Readwise")
    assert "notifications" in (not_taken_reason(parse_page(notifications), "Readwise") or "")
    written = (
        "---\nfull-title: Lanterns\nsyncd-id: asin:B0LANTERN1\n---\n"
        f"{HEADER}\t- a ^rw-0123456789ab\n"
    )
    assert not _readwise(written)
    assert "syncd-id" in (not_taken_reason(parse_page(written), "Lanterns") or "")
    assert not_taken_reason(parse_page("- a plain page\n"), "Plain") is None


def test_pages_not_taken_are_counted_and_listed_at_v(tmp_path: Path) -> None:
    pages = tmp_path / "graph" / "pages"
    pages.mkdir(parents=True)
    (pages / "Readwise.md").write_text("- New highlights added [[Jan 2nd, 2024]] at 9:00 AM\n")
    (pages / "Links.md").write_text("- x ([View Highlight](https://read.readwise.io/read/01x))\n")
    (pages / "Lanterns (highlights).md").write_text(OLD_PAGE)
    vault = tmp_path / "vault"
    vault.mkdir()
    cmd = [sys.executable, "-m", "syncd", "once", str(tmp_path / "graph"), str(vault)]
    cmd += ["--state-dir", str(tmp_path / "state"), "-v"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 pages like Readwise pages not taken" in run.stderr
    assert "not a Readwise document: pages/Readwise.md" in run.stderr
    assert "not a Readwise document: pages/Links.md" in run.stderr
    assert [p.name for p in vault.rglob("*.md")] == ["Lanterns.md"]


def test_a_users_block_with_a_highlights_text_hides_no_highlight() -> None:
    text = f"{PROPS}- My copy\n\t- Oil burns blue at first.\n{HEADER}\t- Oil burns blue at first.\n"
    lines = body(text)
    anchor = anchor_for("text:Oil burns blue at first.")
    assert lines == [
        "- My copy",
        "\t- Oil burns blue at first.",
        "- Highlights first synced by [[Readwise]] [[2024-01-02|Jan 2nd, 2024]]",
        f"\t- Oil burns blue at first. ^{anchor}",
    ]


def test_a_highlight_ending_in_html_gets_its_anchor_below_a_blank_line() -> None:
    """Row B2 for Readwise notes, as syncd.convert places it (note.with_anchor)."""
    from syncd.note import with_anchor

    html = '<iframe src="https://v.example/2"></iframe>'
    assert with_anchor(["A clip", html], "rw-1") == ["A clip", html, "", "^rw-1"]
    assert with_anchor(["Plain text"], "rw-1") == ["Plain text ^rw-1"]
