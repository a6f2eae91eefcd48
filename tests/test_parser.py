"""The Logseq parser on the cases where it once read pages differently from Logseq's own parser.

Each case states what mldoc 1.6.0 makes of the text (tests/test_parser_vs_mldoc.py checks the
same against mldoc itself when node is installed; these run everywhere).
"""

from __future__ import annotations

import pytest

from syncd.logseq.model import Page
from syncd.logseq.parser import parse_page


def tree(page: Page) -> list[tuple[int, str]]:
    """(depth, first line) of every block in document order."""
    return [(block.depth, block.first_line) for block in page.walk()]


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
