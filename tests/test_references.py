"""The references the converter records for a page (``ConvertedNote.references`` and
``block_refs``: what the migrator re-renders a page for when their notes move).

Pages are recorded as index keys (``name_key``: lower case), tags among them; block uuids
only when the block is known. Every case reads the same as Logseq's parser, mldoc 1.6.0;
where the converter reads text differently on purpose, tests/test_parser_vs_mldoc.py pins
both readings in ``KNOWN_DIFFERENCES`` (search-link, tag-glued-to-a-link,
tag-with-closing-bracket, tag-with-inner-punctuation, nested-page-ref, page-ref-glued-to-url,
block-ref-that-is-no-uuid).
"""

from __future__ import annotations

import pytest

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.page import ConvertedNote, convert_page
from syncd.logseq.graph_config import GraphConfig
from syncd.logseq.parser import parse_page

UUID = "66d1f0a2-1b2c-4d3e-8f40-5a6b7c8d9e01"


def convert(text: str, graph: GraphConfig | None = None) -> ConvertedNote:
    index = GraphIndex(blocks={UUID: "Note"})
    ctx = ConvertContext(graph or GraphConfig(), index, ConvertOptions(), InlineContext(), "P")
    return convert_page(parse_page(text), ctx, source=text)


@pytest.mark.parametrize(
    ("text", "pages", "blocks"),
    [
        ("[[a]] and [[B c]]", {"a", "b c"}, set()),  # L1
        ("[[]] empty, [[x] unclosed", set(), set()),
        ("#inbox, #v1.2. #c++ #2023: #[[to read]]", {"inbox", "v1.2", "c++", "2023", "to read"},
         set()),  # L2, L3
        ("a#b x#[[c]] [[p]]#q", {"c", "p"}, set()),  # L2: a # glued to text is no tag
        (f"(({UUID})) (({UUID.upper()}))", set(), {UUID}),  # R1
        (f"[l]([[P q]]) [m]((({UUID})))", {"p q"}, {UUID}),  # L5, L6
        ("[b](https://x.org/#t) [c](paper.pdf) ![d](../assets/x.png)", set(), set()),  # C3
        ("[see #tag](https://x.org)", set(), set()),  # C3: a link label is copied as written
        (f"{{{{embed [[E]]}}}} {{{{embed (({UUID}))}}}} {{{{query [[Q]]}}}}", {"e"}, {UUID}),
        ("`[[code]] #code` and ``#x``", set(), set()),  # C2
        ("<https://x.org/#t> and https://x.org/#t", set(), set()),  # C3
        ("**[[bold]]** ==[[high]]==", {"bold", "high"}, set()),
        ("#+BEGIN_QUOTE", set(), set()),
    ],
)  # fmt: skip
def test_references_in_a_line(text: str, pages: set[str], blocks: set[str]) -> None:
    converted = convert(f"- {text}\n")

    assert (converted.references, converted.block_refs) == (pages, blocks)


def test_no_references_in_code() -> None:
    converted = convert(
        "- TODO [#A] see [[One]] #two\n"
        "  ```\n"
        f"  [[not]] #not ((({UUID})))\n"
        "  ```\n"
        "  #+BEGIN_SRC\n"
        "  [[not either]]\n"
        "  #+END_SRC\n"
        "  #+BEGIN_QUOTE\n"
        "  [[Three]] [[One]]\n"
        "  #+END_QUOTE\n"
        "\t- [[child]]\n"
    )

    assert (converted.references, converted.block_refs) == ({"one", "two", "three", "child"}, set())


def test_property_values_count_unless_raw_quoted_or_ignored() -> None:
    text = (
        "- a\n"
        "  type:: [[Meeting]], #urgent\n"
        f"  id:: {UUID}\n"
        "  title:: [[raw]]\n"
        '  quoted:: "[[literal]]"\n'
        "  source:: [[Kept]]\n"
    )
    ignoring = GraphConfig(ignored_page_reference_keywords=frozenset({"source"}))

    assert convert(text).references == {"meeting", "urgent", "kept"}
    assert convert(text, ignoring).references == {"meeting", "urgent"}
