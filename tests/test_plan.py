"""``plan_page``'s fast path for a new Readwise note (``syncd.plan._plain_new_note``: the note
straight from a plain Readwise page's lines, no ``Block`` or ``Item`` per highlight) gives what
the general path gives: ``merge_document(None, document_from_page(parse_page(text), name))``,
with the same rules (``syncd.convert``) and a graph index that renames a page and knows a
block. This is the fast path's equivalence test.

Pages are generated from Readwise's shape (page properties, headers, one-line highlights with
``**Note**:`` / ``**Tags**:`` children) with adversarial text in every line: every Logseq
token syncd rewrites, anchors and look-alikes, ``::`` property look-alikes, location links
with odd and repeated URLs, location labels, odd whitespace, empty bullets, and lines outside
the shape (continuation lines, blank lines, deeper children, top-level blocks, fences,
properties). Wherever the fast path answers, the note text, the record, the ids added and
the document's names and identity must be the general path's; on pages of the shape with no
``::``, fence or ``#+`` it must answer.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.convert.context import GraphIndex
from syncd.convert.page import page_aliases, page_block_ids, page_uuid
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.plan import _plain_new_note as create_plain
from syncd.readwise import (
    _split_location,
    document_from_page,
    is_readwise_page,
    is_separator,
    normalize_text,
)
from tests.conftest import readwise_context
from tests.readwise_shapes import ATTRIBUTE, HEADERS, HIGHLIGHT, ODD_LINES, plain_pages

CTX = readwise_context(
    ("MMM do, yyyy",),
    index=GraphIndex(
        names={"old name": "New Name"},
        blocks={"6543a1b2-0000-4000-8000-000000000000": "Other"},
    ),
)
GRAPH = GraphConfig()
SETTINGS = settings(derandomize=True, deadline=None, max_examples=1500)


def _same_as_general(text: str, name: str = "Page Name") -> bool:
    """Checks create_plain against the general path; True when it answered."""
    got = create_plain(text, name, CTX)
    if got is None:
        return False
    page = parse_page(text)
    assert is_readwise_page(page)
    doc = document_from_page(page, name)
    expected = merge_document(None, doc, {}, CTX)
    fast_doc, result = got
    assert result.text == expected.text
    assert dict(result.record) == dict(expected.record)
    assert list(result.record) == list(expected.record)
    assert result == expected
    names = ("id", "page_name", "title", "category", "author", "full_title")
    assert [getattr(fast_doc, n) for n in names] == [getattr(doc, n) for n in names]
    assert fast_doc.page.properties == page.properties
    assert fast_doc.page.preamble == page.preamble
    assert fast_doc.page.front_matter == page.front_matter
    # the facts plan_page sends without the full parse: page aliases and uuid come from the
    # properties above, and the shape has no block ids
    assert page_block_ids(page) == ()
    assert page_aliases(fast_doc.page, GRAPH) == page_aliases(page, GRAPH)
    assert page_uuid(fast_doc.page) == page_uuid(page)
    return True


@SETTINGS
@given(plain_pages())
@example(("title:: A\n\n- Highlights first synced by [[Readwise]]\n\t- One. ([V](u))\n", True))
@example(("- Highlights first synced by x\n\t- a ([V](u))\n\t- b ([V](u))\n\t- a ([V](u))\n", True))
@example(("- Highlights first synced by x\n\t- a ^rw-0123456789ab\n\t\t- **Note**: ^rw-0\n", True))
@example(("---\ntitle: F\nauthor: B\n---\n- Highlights first synced by x\n\t- a ([V](u))\n", True))
@example(("title:: B\n# Notes\nauthor:: A\n- Highlights first synced by x\n\t- a ([V](u))\n", 1))
@example(("- Highlights first synced by x\n\t- a ([V](u))\n\t- tags: b ([V](v))\n", False))
def test_create_plain_is_the_general_path(case: tuple[str, bool]) -> None:
    text, in_shape = case
    answered = _same_as_general(text)
    # a highlight line with no letter or digit (a location link alone, a "- -" group) is a
    # block the general path keeps without an anchor: not create_plain's shape
    blocks = any(_no_words(line[3:]) for line in text.split("\n") if line[:3] == "\t- ")
    # a last highlight without a location link may be cut (merge.provisional): general path
    last = text.rstrip("\n").rpartition("\n")[2]
    blocks = blocks or (last[:3] == "\t- " and _split_location(last[3:])[0] is None)
    if in_shape and not blocks and not any(b in text for b in ("::", "```", "~~~", "#+", "((")):
        assert answered


def _no_words(head: str) -> bool:
    return is_separator(normalize_text(_split_location(head)[2]))


@SETTINGS
@given(st.lists(st.one_of(HIGHLIGHT, ATTRIBUTE, st.sampled_from(ODD_LINES + HEADERS)), max_size=8))
def test_any_lines_under_a_header(lines: list[str]) -> None:
    """Lines at any of the three depths with any text: where create_plain answers, it is
    right (most of these pages are not of the shape)."""
    depths = ["- ", "\t- ", "\t\t- ", "", "\t"]
    text = "- Highlights first synced by [[Readwise]]\n"
    for index, line in enumerate(lines):
        text += depths[index * 7 % 5 if index % 3 else 1] + line + "\n"
    _same_as_general(text)


def test_bench_like_page_takes_the_fast_path() -> None:
    text = (
        "title:: Attention (highlights)\nauthor:: [[Language Sync]]\n"
        'full-title:: "Attention"\ncategory:: #podcasts\nurl:: https://example.org/5338\n\n'
        "- Highlights first synced by [[Readwise]] [[Feb 13th, 2023]]\n"
        "\t- Link source attention. ([View Highlight](https://read.readwise.io/read/01h0))\n"
        "\t\t- **Tags**: #favorite [[idea]]\n"
        "\t\t- **Note**: a note\n"
        "\t- Claim garden window. ([View Highlight](https://read.readwise.io/read/01h1))\n"
    )
    assert _same_as_general(text)


def test_sample_pages() -> None:
    """The Readwise sample pages of the test data: the same where create_plain answers."""
    for path in sorted(Path(__file__).parent.glob("data/**/*.md")):
        try:
            text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        except (UnicodeDecodeError, OSError):
            continue
        _same_as_general(text, path.stem)


FRONT_MATTER_PAGE = """---
title: Notes on Quiet Rivers
author: Ada Lind
category: books
---
- Highlights first synced by [[Readwise]] [[Mar 3rd, 2024]]
\t- Rivers carve slowly. ([Location 12](https://readwise.io/to_kindle?action=open&asin=B0QR&location=12))
"""


def test_a_readwise_page_with_front_matter_keeps_one_note(tmp_path: Path) -> None:
    """Page properties in a YAML front matter block (Logseq reads them as page properties):
    the first sync (the fast path, a new note) takes the document's identity and metadata
    from them as every later sync does (the general path, the note known), so a highlight
    added later lands in the same note, and the front matter's lines are no body text.
    (Before, the fast path read no front matter: a note titled by the file name, with the
    YAML in its body, and the second sync made a second note.)"""
    from syncd.cli import main

    page = tmp_path / "graph" / "pages" / "quiet-rivers.md"  # (named by its title: not this)
    page.parent.mkdir(parents=True)
    page.write_text(FRONT_MATTER_PAGE, "utf-8")
    vault, state = tmp_path / "vault", tmp_path / "state"
    args = ["once", str(tmp_path / "graph"), str(vault), "--state-dir", str(state)]
    assert main(args) == 0
    added = (
        "\t- Banks remember floods. "
        "([Location 40](https://readwise.io/to_kindle?action=open&asin=B0QR&location=40))\n"
    )
    page.write_text(FRONT_MATTER_PAGE + added, "utf-8")
    assert main(args) == 0
    [note] = list(vault.rglob("*.md"))
    assert note.name == "Notes on Quiet Rivers.md"
    text = note.read_text("utf-8")
    assert 'author: "[[Ada Lind]]"\n' in text
    assert "syncd-id: title+author:Notes on Quiet Rivers|Ada Lind\n" in text
    assert text.count("---\n") == 2  # its own frontmatter only: the page's is no body text
    assert text.count("Rivers carve slowly.") == 1
    assert text.count("Banks remember floods.") == 1
