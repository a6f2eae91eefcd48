"""Readwise names (design.md "Readwise documents", "Note path"; issue 12): the category
folder is the first category tag of ``category::`` (or ``media::``), the rest of the value goes
to ``tags``; Readwise's Markdown escaping (``\\-``) is removed from the url, the document id
and journal links; a note name keeps within 255 bytes with its ``(n)`` suffix.
Shapes 05 and 11 of ../shared/real/shapes; rows P3 (tags) and J2 (journal links) of
../shared/reference/logseq-to-obsidian.md.
"""

from __future__ import annotations

import pytest

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.links import journal_day, wikilink
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page, unescape_markdown
from syncd.merge import merge_document
from syncd.names import MAX_NAME_BYTES, note_stem, unique_name
from syncd.readwise import (
    canonical_document_id,
    category_folder,
    category_names,
    document_category,
    document_from_page,
)

CTX = ConvertContext(
    GraphConfig(),
    GraphIndex(),
    ConvertOptions(),
    InlineContext(journal_title_formats=("yyyy-MM-dd", "MMM do, yyyy")),
    "x",
)


def readwise_page(props: str, url: str = "https://green\\-fields.example/a\\-b") -> str:
    return (
        "title:: Seed Saving for Beginners (highlights)\n"
        "author:: [[Ida Brook]]\n"
        f"{props}"
        f"url:: {url}\n"
        "\n"
        "- Highlights first synced by [[Readwise]] [[2024\\-05\\-17]]\n"
        "\t- Dry the seeds before you jar them. ([View Highlight](https://read.readwise.io/read/s1))\n"
    )


@pytest.mark.parametrize(
    ("value", "category", "rest", "folder"),
    [
        ("#books", "books", (), "Books"),
        ("[[articles]]", "articles", (), "Articles"),
        ("#tweets. [[Gardening]]", "tweets", ("Gardening",), "Tweets"),  # shape 05
        ("#articles, #python", "articles", ("python",), "Articles"),
        ("#articles #golang #Reading ", "articles", ("golang", "Reading"), "Articles"),
        ("[[Seeds]] #Podcasts", "podcasts", ("Seeds",), "Podcasts"),  # first *category* tag
        ("#[[supplementals]]", "supplementals", (), "Supplementals"),
        ("[[Books: Fiction]]", "Books: Fiction", (), "Other"),  # no ":" folder
        ("[[con]]", "con", (), "Other"),  # no Windows-reserved folder
        ("[[.obsidian]]", ".obsidian", (), "Other"),  # no hidden folder
        ("#courses", "courses", (), "Other"),
        ("#videos, #books", "books", ("videos",), "Books"),
        (". , ;", "", (), "Other"),
    ],
)
def test_category_is_the_first_category_tag(
    value: str, category: str, rest: tuple[str, ...], folder: str
) -> None:
    page = parse_page(readwise_page(f"category:: {value}\n"))
    assert document_category(page) == (category, rest)
    assert category_folder(category) == folder
    for bad in "#[],:":
        assert bad not in category_folder(category)


def test_media_is_the_category_when_category_is_absent() -> None:
    """Shape 11: ``media:: #articles`` and no ``category::``."""
    page = parse_page(readwise_page("media:: #articles\n"))
    assert document_category(page) == ("articles", ())
    both = parse_page(readwise_page("category:: #books\nmedia:: #articles\n"))
    assert document_category(both) == ("books", ())


def test_category_names_drop_sentence_punctuation_only() -> None:
    assert category_names("#tweets.") == ["tweets"]
    assert category_names('"Books: Fiction"') == ["Books: Fiction"]
    assert category_names("v1.2 notes, #c++") == ["v1.2 notes", "c++"]


def test_the_rest_of_the_category_value_goes_to_tags() -> None:
    """``#tweets. [[Gardening]]``: folder Tweets, ``category: tweets``, ``Gardening`` added to
    the tags of ``tags::`` (P3: without ``#``, YAML list entries)."""
    text = readwise_page("category:: #tweets. [[Gardening]] #[[seed swaps]]\ntags:: #garden\n")
    doc = document_from_page(parse_page(text), "Seed Saving for Beginners (highlights)")
    note = merge_document(None, doc, {}, CTX).text
    head = note.split("---\n")[1]
    assert "category: tweets\n" in head
    assert "tags:\n  - garden\n  - Gardening\n  - seed-swaps\n" in head


def test_media_read_as_the_category_is_not_kept_twice() -> None:
    doc = document_from_page(parse_page(readwise_page("media:: #articles\n")), "x")
    head = merge_document(None, doc, {}, CTX).text.split("---\n")[1]
    assert "category: articles\n" in head and "media:" not in head
    other = document_from_page(parse_page(readwise_page("category:: #books\nmedia:: #x\n")), "x")
    head = merge_document(None, other, {}, CTX).text.split("---\n")[1]
    assert "category: books\n" in head and "media: " in head  # not the category: kept


def test_escaped_url_is_unescaped_in_frontmatter_and_identity() -> None:
    """Shape 11: ``url:: https://green\\-fields.example/a\\-b``."""
    doc = document_from_page(parse_page(readwise_page("category:: #articles\n")), "x")
    assert doc.id == "url:https://green-fields.example/a-b"
    note = merge_document(None, doc, {}, CTX).text
    assert "url: https://green-fields.example/a-b\n" in note
    assert "syncd-id: url:https://green-fields.example/a-b\n" in note
    assert "\\-" not in note.split("---\n")[1]


def test_an_escaped_journal_date_is_a_daily_note_link() -> None:
    """J2 with Readwise's escaping: ``[[2024\\-05\\-17]]`` names the journal of that day."""
    assert journal_day("2024\\-05\\-17", CTX) is not None
    assert wikilink("2024\\-05\\-17", CTX) == "[[2024-05-17]]"
    assert wikilink("Not\\-a\\-date", CTX) == "[[Not\\-a\\-date]]"  # not a date: as written
    doc = document_from_page(parse_page(readwise_page("category:: #books\n")), "x")
    body = merge_document(None, doc, {}, CTX).text.split("---\n", 2)[2]
    assert "[[Readwise]] [[2024-05-17]]\n" in body


def test_unescape_markdown() -> None:
    assert unescape_markdown("https://a\\-b.example/c\\_d") == "https://a-b.example/c_d"
    assert unescape_markdown("no escapes") == "no escapes"
    assert unescape_markdown("C:\\Users") == "C:\\Users"  # a letter after it: no escape


def test_canonical_document_id_reads_ids_an_earlier_syncd_stored() -> None:
    assert canonical_document_id("url:https://a\\-b.example/") == "url:https://a-b.example/"
    assert canonical_document_id("url:https://a-b.example/") == "url:https://a-b.example/"
    assert canonical_document_id("asin:B000000001") == "asin:B000000001"
    assert canonical_document_id("title+author:x\\-y|z") == "title+author:x\\-y|z"


def test_unique_name_keeps_the_suffix_within_the_name_limit() -> None:
    stem = note_stem("水" * 100)  # 300 bytes of title
    assert len(stem.encode("utf-8")) <= MAX_NAME_BYTES - len(".md") - len(" (99)")
    taken = {stem.casefold()} | {f"{stem} ({n})".casefold() for n in range(2, 100)}
    name = unique_name(stem, lambda c: c.casefold() in taken)
    assert name.endswith(" (100)") and len((name + ".md").encode("utf-8")) <= MAX_NAME_BYTES
    assert stem.startswith(name[: -len(" (100)")])  # cut at a character boundary
