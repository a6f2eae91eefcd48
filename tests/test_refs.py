"""References of a block (pages, tags, block uuids), read like mldoc 1.6.0, never in code."""

from __future__ import annotations

import pytest

from syncd.logseq.parser import parse_page
from syncd.logseq.refs import References, references, text_references

UUID = "66d1f0a2-1b2c-4d3e-8f40-5a6b7c8d9e01"


@pytest.mark.parametrize(
    ("text", "pages", "tags", "blocks"),
    [
        ("[[a]] and [[b c]]", ["a", "b c"], [], []),
        ("[[a [[b]]]] nested", ["a [[b]]"], [], []),
        ("[[]] empty, [[x] unclosed", [], [], []),
        ("#inbox, #v1.2. #c++ #2023: #[[to read]]", ["inbox", "v1.2", "c++", "2023", "to read"],
         ["inbox", "v1.2", "c++", "2023", "to read"], []),
        ("#tag[[page]] #ab)", ["tag", "page", "ab)"], ["tag", "ab)"], []),
        ("a#b x#[[c]] [[p]]#q", ["c", "p"], [], []),  # a # glued to text is no tag
        (f"(({UUID})) (({UUID.upper()})) ((not a uuid))", [], [], [UUID]),
        (f"[l]([[P q]]) [m]((({UUID}))) [n](Some Page)", ["P q", "Some Page"], [], [UUID]),
        ("[a](#anchor) [b](https://x.org/#t) [c](paper.pdf) ![d](../assets/x.png)", [], [], []),
        ("[see #tag](https://x.org)", ["tag"], ["tag"], []),
        (f"{{{{embed [[E]]}}}} {{{{embed (({UUID}))}}}} {{{{query [[Q]]}}}}", ["E"], [], [UUID]),
        ("`[[code]] #code` and ``#x``", [], [], []),
        ("https://x.org/[[z]] <https://x.org/#t> url", [], [], []),
        ("**[[bold]]** ==[[high]]==", ["bold", "high"], [], []),
        ("#+BEGIN_QUOTE", [], [], []),
    ],
)  # fmt: skip
def test_text_references(text: str, pages: list[str], tags: list[str], blocks: list[str]) -> None:
    assert text_references(text) == References(tuple(pages), tuple(tags), tuple(blocks))


def test_block_references_skip_code_and_keep_order() -> None:
    page = parse_page(
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
        "\t- [[child]] is not the parent's\n"
    )

    assert references(page.blocks[0]) == References(("One", "two", "Three"), ("two",), ())


def test_property_values_give_pages_not_tags() -> None:
    page = parse_page(
        "- a\n"
        "  type:: [[Meeting]], #urgent\n"
        f"  id:: {UUID}\n"
        "  title:: [[raw]]\n"
        '  quoted:: "[[literal]]"\n'
        "  source:: [[Kept]]\n"
    )

    refs = references(page.blocks[0])

    assert refs == References(("Meeting", "urgent", "Kept"), (), ())
    assert references(page.blocks[0], raw_keys={"source"}).pages == ("Meeting", "urgent", "raw")
