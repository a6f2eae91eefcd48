"""The Logseq parser on the cases where it once read pages differently from Logseq's own parser.

Each case states what mldoc 1.6.0 makes of the text (tests/test_parser_vs_mldoc.py checks the
same against mldoc itself when node is installed; these run everywhere).
"""

from __future__ import annotations

import pytest

from syncd.logseq.model import Block, Page
from syncd.logseq.parser import opaque_spans, parse_page


def tree(page: Page) -> list[tuple[int, str]]:
    """(depth, first line) of every block in document order."""
    return [(block.depth, block.first_line) for block in page.walk()]


def props(block: Block) -> dict[str, str]:
    return {p.key: p.value for p in block.properties}


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mldoc: level = 1 + number of whitespace characters, a TAB counting as one
        ("- a\n\t- b\n  - c\n", [(0, "a"), (1, "b"), (2, "c")]),
        ("\t- a\n    - b\n  - c\n", [(0, "a"), (1, "b"), (1, "c")]),
        ("- a\n  - b\n\t- c\n", [(0, "a"), (1, "b"), (1, "c")]),
        # the usual layouts are unchanged
        ("- a\n\t- b\n\t\t- c\n\t- d\n", [(0, "a"), (1, "b"), (2, "c"), (1, "d")]),
        ("- a\n    - b\n        - c\n", [(0, "a"), (1, "b"), (2, "c")]),
    ],
)
def test_a_tab_is_one_column_of_indentation_like_a_space(
    text: str, expected: list[tuple[int, str]]
) -> None:
    assert tree(parse_page(text)) == expected


# --------------------------------------------------------------------------- code and #+BEGIN


def test_a_fence_that_never_closes_is_text_and_hides_no_bullets() -> None:
    page = parse_page("- a\n  ```\n- b\n\t- c\n")

    assert tree(page) == [(0, "a"), (0, "b"), (1, "c")]
    assert page.blocks[0].lines == ("a", "```")


def test_a_fence_closes_at_the_next_fence_line_of_either_kind() -> None:
    page = parse_page("- a\n  ~~~\n  - in code\n  ``` not a language\n- b\n  ````\n- c\n  ````\n")

    assert tree(page) == [(0, "a"), (0, "b")]
    assert page.blocks[0].lines == ("a", "~~~", "- in code", "``` not a language")
    assert page.blocks[1].lines == ("b", "````", "- c", "````")


def test_a_fence_on_the_bullet_line_opens_code() -> None:
    page = parse_page("- ```\n  - in code\n  ```\n- b\n")

    assert tree(page) == [(0, "```"), (0, "b")]


@pytest.mark.parametrize("name", ["QUOTE", "TIP", "SRC", "QUERY", "quote"])
def test_a_begin_block_hides_bullets_and_properties(name: str) -> None:
    page = parse_page(f"- a\n  #+BEGIN_{name}\n  - b\n  k:: v\n  #+END_{name.upper()}\n- c\n")

    assert tree(page) == [(0, "a"), (0, "c")]
    assert page.blocks[0].properties == ()


def test_a_begin_block_that_never_closes_is_text() -> None:
    page = parse_page("- a\n  #+BEGIN_QUOTE\n  - b\n  #+END_TIP\n")

    assert tree(page) == [(0, "a"), (1, "b")]


def test_opaque_spans_pair_openers_with_their_closers() -> None:
    lines = ["x", "```", "#+BEGIN_QUOTE", "```", "#+BEGIN_QUOTE", "- y", "#+END_QUOTE", "```"]

    assert opaque_spans(lines) == [(1, 3, True), (4, 6, False)]


def test_opaque_spans_tell_fences_from_begin_blocks() -> None:
    lines = ["#+BEGIN_SRC python", "```", "#+END_SRC", "~~~", "#+BEGIN_NOTE", "```"]

    assert opaque_spans(lines) == [(0, 2, False), (3, 5, True)]


# --------------------------------------------------------------------------- properties


def test_block_properties_may_follow_other_lines() -> None:
    page = parse_page(
        "- TODO a\n  SCHEDULED: <2024-09-01 Sun>\n  id:: 650a7c3e-0000-4a1b-9c2d-1234567890ab\n"
    )

    assert props(page.blocks[0]) == {"id": "650a7c3e-0000-4a1b-9c2d-1234567890ab"}
    assert page.blocks[0].properties[0].index == 2


def test_only_the_first_run_of_properties_counts() -> None:
    page = parse_page("- a\n  k:: v\n  text\n  j:: w\n")

    assert props(page.blocks[0]) == {"k": "v"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ключ:: значение", {"ключ": "значение"}),
        ("hl-page:: 3", {"hl-page": "3"}),
        ("logseq.order-list-type:: number", {"logseq.order-list-type": "number"}),
        ("k::", {"k": ""}),
        ("k::  two  spaces  ", {"k": "two  spaces"}),
        ("  k:: deeper", {"k": "deeper"}),
        ("k::\tv", {}),  # mldoc wants a space after ::
        ("k::v", {}),
        ("k :: v", {}),
        ("std::vector x", {}),
        ("k::: v", {}),
    ],
)
def test_property_lines_as_mldoc_reads_them(line: str, expected: dict[str, str]) -> None:
    assert props(parse_page(f"- a\n  {line}\n").blocks[0]) == expected


def test_a_quote_runs_over_property_lines_except_id() -> None:
    quoted = parse_page("- a\n  > q\n  k:: v\n").blocks[0]
    with_id = parse_page("- a\n  > q\n  id:: x\n  k:: v\n").blocks[0]
    after_blank = parse_page("- a\n  > q\n\n  k:: v\n").blocks[0]

    assert props(quoted) == {}
    assert props(with_id) == {"id": "x", "k": "v"}
    assert props(after_blank) == {"k": "v"}


def test_no_properties_inside_code() -> None:
    page = parse_page("- a\n  ```\n  k:: v\n  ```\n  j:: w\n")

    assert props(page.blocks[0]) == {"j": "w"}


def test_unicode_page_properties_in_the_preamble() -> None:
    page = parse_page("ключ:: v\nx.y:: 1\n\n- a\n")

    assert [(p.key, p.value) for p in page.properties] == [("ключ", "v"), ("x.y", "1")]
