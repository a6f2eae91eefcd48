"""Fast paths of syncd.convert give what the general rule gives (differential tests)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.blocks import block_uuid, drawer_properties
from syncd.convert.inline import _RULES, TOKEN_RE, VERBATIM, tokens
from syncd.convert.links import ANCHOR_ID_RE
from syncd.logseq.model import Block, Property

UUID = "6601e4b7-0c5e-4b2c-9a3e-1f2d3c4b5a69"
LINES = st.sampled_from(
    [
        ":PROPERTIES:",
        "  :properties:  ",
        ":Properties:",
        ":LOGBOOK:",
        ":END:",
        f":id: {UUID}",
        f":ID: {UUID.upper()}",
        f":custom_id: {UUID}",
        ":id: not-a-uuid",
        "```",
        "text with a : colon",
        "see https://example.org/x",
        f"id:: {UUID}",
        "",
    ]
)


def reference_block_uuid(block: Block) -> str | None:
    """block_uuid as first written: block properties, then every drawer entry."""
    for prop in (*block.properties, *drawer_properties(block.lines)):
        if prop.key.lower() == "id":
            value = prop.value.strip().lower()
            return value if ANCHOR_ID_RE.fullmatch(value) else None
    return None


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(LINES, max_size=8),
    props=st.lists(
        st.tuples(st.sampled_from(["id", "ID", "title", "Id"]), st.sampled_from([UUID, "x"])),
        max_size=2,
    ),
)
def test_block_uuid_is_the_general_rule(lines: list[str], props: list[tuple[str, str]]) -> None:
    block = Block(
        depth=0,
        indent="",
        lines=("a block", *lines),
        properties=tuple(Property(k, v, 0) for k, v in props),
        children=(),
        line=1,
    )
    assert block_uuid(block) == reference_block_uuid(block)


# --- inline tokens: TOKEN_RE tried only where a token can begin ----------------------------

# Pieces of lines: every kind of token of TOKEN_RE, near misses of each, and the characters
# its lookbehinds look at (a tag or inline code right after a word or a backtick).
TOKEN_PIECES = (
    " ",
    "a",
    "word",
    "h",
    "f",
    "http",
    "https:/",
    "https://example.org/a_(b)",
    "xhttp://x.y",
    "ftp://h/p",
    "file:///tmp/x",
    "mailto:x@y",
    "\\",
    "\\[",
    "\\#",
    "`",
    "``",
    "`code`",
    "``a`b``",
    "$",
    "$$",
    "$x$",
    "$ x$",
    "$$a$$",
    "<",
    ">",
    "<!--",
    "-->",
    "<!-- c -->",
    "<b>",
    "</b>",
    "<span class=x>",
    "<https://a.b/c>",
    "{",
    "}",
    "{{",
    "}}",
    "{{embed [[P]]}}",
    "{{query (and a b)}}",
    "!",
    "![",
    "![alt](../assets/x.png)",
    "{:height 10, :width 20}",
    "![[x.png]]",
    "[",
    "]",
    "[[",
    "]]",
    "[[Page]]",
    "[[a|b]]",
    "[label]",
    "[label](https://x.y)",
    "[l]([[P]])",
    "(",
    ")",
    "((",
    "))",
    "([[P]])",
    f"(({UUID}))",
    "(../assets/a.pdf)",
    '"t"',
    "#",
    "#tag",
    "#[[multi word]]",
    "#c++",
    "#v1.2.",
    "^",
    "^^",
    "^^hl^^",
    "\n",
    "\t",
    "é",
    ",",
    ".",
    ":",
)
FRAGMENTS = st.sampled_from(TOKEN_PIECES)


def _spans(matches: Iterable[re.Match[str]]) -> list[tuple[tuple[int, int], str | None, dict]]:
    return [(m.span(), m.lastgroup, m.groupdict()) for m in matches]


@settings(max_examples=3000, deadline=None)
@given(st.lists(FRAGMENTS, max_size=16).map("".join))
def test_tokens_are_token_re_finditer(line: str) -> None:
    assert _spans(tokens(line)) == _spans(TOKEN_RE.finditer(line))


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet='ahf\\`$<>{}![]()#^:/tp- \n"|', max_size=40))
def test_tokens_are_token_re_finditer_on_any_text(line: str) -> None:
    assert _spans(tokens(line)) == _spans(TOKEN_RE.finditer(line))


def test_every_token_kind_is_generated() -> None:
    """The pieces above make every kind of token (so the tests cover each alternative)."""
    kinds = {m.lastgroup for piece in TOKEN_PIECES for m in TOKEN_RE.finditer(piece)}
    # an autolink is always an HTML tag first (``<https://x>``): that alternative never wins
    assert kinds == {*VERBATIM, *_RULES, "hl"} - {"autolink"}
