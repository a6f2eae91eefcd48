"""Property tests for issue 5 (hypothesis, derandomized), next to tests/test_properties.py.

tests/test_properties.py covers the parser's structure on outline-shaped text and the merge of
generated documents (every highlight once, in order; idempotent; a user line and a deletion
kept). This file adds what hostile input needs on top:

- the whole pure pipeline (decode, parse, classify, document, render, merge) never raises on
  arbitrary bytes or text, other than ``PageError`` for bytes that are not a page;
- normalizing is idempotent: decoding, inline rewriting, file-name sanitizing, and rendering
  (a created note merged with its own document, with or without state, is unchanged);
- frontmatter syncd writes reads back as exactly the values it was given, for any key/value;
- merging into a note full of arbitrary user lines (rules, fences, fake anchors, Readwise
  headers, any Unicode; no frontmatter, or broken frontmatter) never drops or reorders a
  user line, never writes a highlight twice,
  keeps the new highlights in source order, and is idempotent.
"""

from __future__ import annotations

import re

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.blocks import convert_text_lines
from syncd.convert.inline import InlineEnv
from syncd.convert.report import Findings
from syncd.errors import PageError
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document, split_frontmatter
from syncd.names import sanitize_title
from syncd.readwise import document_from_page, is_readwise_page
from syncd.textio import decode_page
from syncd.yamlout import dump_frontmatter
from tests.test_properties import CTX, Spec, document, specs

SETTINGS = settings(derandomize=True, deadline=None, max_examples=600)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"))
LOGSEQISH = st.lists(
    st.one_of(
        LINE_TEXT,
        st.sampled_from(
            [
                "title:: X (highlights)",
                "category:: #articles",
                "url:: https://e.org/x",
                "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]",
                "\t- h ([View Highlight](https://e.org/h))",
                "\t\t- **Note**: n",
                "```",
                "- #[[a b]] [[Jul 8th, 2024]] `[[code]]`",
                "\t- x ^rw-0123456789ab",
            ]
        ),
    ),
    max_size=25,
).map("\n".join)


def pipeline(text: str) -> None:
    page = parse_page(text)
    if is_readwise_page(page):
        doc = document_from_page(page, "Any Page")
        created = merge_document(None, doc, {}, CTX)
        again = merge_document(created.text, doc, dict(created.record), CTX)
        assert not again.changed


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_decode_to_text_or_a_page_error(data: bytes) -> None:
    try:
        text = decode_page(data)
    except PageError as exc:
        assert exc.message  # a reason for the user
        return
    pipeline(text)
    # decoding is idempotent: the text's own bytes decode to the same text
    assert decode_page(text.encode("utf-8")) == text


@SETTINGS
@given(st.one_of(ANY_TEXT, LOGSEQISH))
def test_the_pure_pipeline_never_raises_on_any_text(text: str) -> None:
    pipeline(text)


@SETTINGS
@given(st.lists(st.one_of(LINE_TEXT, LOGSEQISH), max_size=8).map(lambda xs: "\n".join(xs)))
def test_inline_rewriting_is_idempotent(text: str) -> None:
    lines = text.split("\n")
    once = convert_text_lines(lines, InlineEnv(CTX, Findings()))
    assert convert_text_lines(once, InlineEnv(CTX, Findings())) == once
    assert len(once) == len(lines)


@SETTINGS
@given(LINE_TEXT)
def test_sanitizing_a_title_is_idempotent(title: str) -> None:
    stem = sanitize_title(title)
    assert sanitize_title(stem) == stem


KEYS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
VALUES = st.one_of(LINE_TEXT, st.lists(LINE_TEXT, max_size=3))


@SETTINGS
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=6))
def test_frontmatter_reads_back_as_written(items: dict[str, str | list[str]]) -> None:
    text = dump_frontmatter(list(items.items()))
    assert text.startswith("---\n") and text.endswith("\n---\n")
    loaded = yaml.safe_load(text[4:-4])
    assert loaded == items


# --------------------------------------------------------------------------- merge


JUNK = st.one_of(
    LINE_TEXT.filter(lambda line: "readwise.io" not in line),
    st.sampled_from(
        [
            "---",
            "```",
            "~~~",
            "- ",
            "-",
            "\t- my bullet",
            "  - spaced bullet",
            "A fake anchor ^rw-0123456789ab",
            "^rw-fedcba987654",
            "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]",
            "- New highlights added [[Jul 8th, 2024]] at 7:45 AM",
            "key:: value",
            "",
        ]
    ),
)


def numbers_in(text: str, spec: Spec) -> list[int]:
    found = re.findall(r"read\.readwise\.io/read/h(\d{4})", text)
    return [int(n) for n in found if int(n) < len(spec.texts)]


@settings(derandomize=True, deadline=None, max_examples=800)
@given(specs(), st.data())
def test_merge_into_a_note_full_of_junk(spec: Spec, data: st.DataObject) -> None:
    v1, v2 = document(spec, 1), document(spec, 2)
    first = merge_document(None, v1, {}, CTX)
    seen = dict(first.record)
    head, body = split_frontmatter(first.text)
    lines = body.split("\n")
    for _ in range(data.draw(st.integers(0, 10), label="junk lines")):
        at = data.draw(st.integers(0, len(lines)), label="at")
        lines.insert(at, data.draw(JUNK, label="junk"))
    head = data.draw(st.sampled_from([head, "", "---\nbroken: [yaml\n---\n"]), label="head")
    existing = head + "\n".join(lines)

    result = merge_document(existing, v2, seen, CTX)
    # every line the user had is kept, in order (blank lines at the very end of the note are
    # folded into the one blank line that ends appended highlights)
    remaining = iter(result.text.split("\n"))
    kept = [line for line in existing.split("\n") if line.strip()]
    assert all(line in remaining for line in kept), "a user line was lost"
    found = numbers_in(result.text, spec)
    assert sorted(found) == sorted(set(found)), "a highlight twice"
    assert set(found) == set(spec.order()), "a highlight missing"
    new = [n for n in found if n not in numbers_in(existing, spec)]
    order = [n for n in spec.order() if n in new]
    assert new == order, "new highlights out of source order"
    seen.update(result.record)
    assert not merge_document(result.text, v2, seen, CTX).changed  # idempotent
    assert not merge_document(result.text, v2, {}, CTX).changed  # identities from anchors
