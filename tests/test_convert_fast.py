"""Fast paths of syncd.convert give what the general rule gives (differential tests)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.convert.blocks import _Region, block_uuid, convert_text_lines, drawer_properties
from syncd.convert.context import GraphIndex
from syncd.convert.inline import (
    _RULES,
    TOKEN_RE,
    VERBATIM,
    InlineEnv,
    _convert,
    _longest_ticks,
    convert_inline,
    may_rewrite,
    tokens,
)
from syncd.convert.links import ANCHOR_ID_RE
from syncd.convert.report import Findings
from syncd.logseq.model import Block, Property
from syncd.note import links_only, renders_as_is
from tests.conftest import readwise_context

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


# --- convert_inline and convert_text_lines: the fast paths for text no rule can change -----

INLINE_PIECES = st.sampled_from(
    ["[[", "]]", "[", "(", "((", "))", "{", "{{", "}}", "#", " #", "^", "^^", "assets/",
     "../assets/x.png", "](", "![", "`", "$", "<", ">", "\\", "|", " ", "a", "Feb 12th, 2023",
     "old name", f"(({UUID}))", "https://x.y/", "{:height 2, :width 3}", "%%", "$$", "```",
     ":LOGBOOK:", ":END:", "#+BEGIN_QUOTE", "#+END_QUOTE", "SCHEDULED: <2024-01-01 Mon>"]
)  # fmt: skip
INLINE_TEXT = st.lists(INLINE_PIECES, max_size=14).map("".join)


def _env() -> InlineEnv:
    ctx = readwise_context(
        ("MMM do, yyyy",),
        index=GraphIndex(names={"old name": "New Name"}, blocks={UUID: "Other"}),
    )
    return InlineEnv(ctx, Findings())


def reference_convert_inline(text: str, env: InlineEnv) -> str:
    """convert_inline without its fast path: every text tokenised."""
    outer = env.ticks
    env.ticks = max(outer, _longest_ticks(text))
    try:
        return _convert(text, env)
    finally:
        env.ticks = outer


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(INLINE_TEXT)
def test_convert_inline_fast_path_is_the_general_rule(text: str) -> None:
    fast, slow = _env(), _env()
    assert convert_inline(text, fast) == reference_convert_inline(text, slow)
    assert fast.findings == slow.findings
    if not may_rewrite(text):
        assert convert_inline(text, fast) == text


@settings(max_examples=800, deadline=None, derandomize=True)
@given(INLINE_TEXT)
def test_one_line_convert_text_lines_is_the_region_scanner(line: str) -> None:
    fast, slow = _env(), _env()
    expected = [o.text for o in _Region(slow, 7, {}, None).convert([line], 0)]
    assert convert_text_lines([line], fast, 7) == expected
    assert fast.findings == slow.findings


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(INLINE_TEXT, st.sampled_from(["", "^", "<div>", "`x`", "~", "assets/a.png"]))
def test_links_only_lines_render_as_is_without_a_link(text: str, mark: str) -> None:
    """note.links_only (the Readwise fast path's page-wide test): where it holds, a line
    without "((" is written as it is (renders_as_is, _block_lines) exactly when it has no "[["."""
    for line in (text, text + mark, mark + text):
        if links_only(line) and "((" not in line:
            assert renders_as_is(line) == ("[[" not in line)
            assert ("^" not in line and not may_rewrite(line)) == ("[[" not in line)
    page = f"title:: x\n#tag {mark}\n- {text}"
    assert links_only(page, page.index("\n- ")) == links_only(f"\n- {text}")
