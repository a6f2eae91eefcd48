"""The fast paths of the per-page work give exactly what the general paths give.

Each test compares a shortcut with the plain code it stands for (kept here as the reference,
as it was before the shortcut): the parser's one-pass tree building with the earlier
two-pass one (drafts, then a recursive freeze), the rendering of a one-line highlight with
the general rendering (``tests/test_merge_create.py``'s reference, every line through
syncd.convert's general path), the cheaper text checks with the plain ones. Lines are generated
from the tokens that matter: every Logseq token syncd converts, anchors and their
look-alikes, fences, properties, location links, and unusual whitespace.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.convert.inline import contains
from syncd.convert.page import page_block_ids
from syncd.logseq.model import Block, Page
from syncd.logseq.parser import (
    BULLET_RE,
    HEADING_START_RE,
    _is_properties_only,
    _preamble_properties,
    _strip_continuation,
    block_properties,
    opaque_spans,
    page_head,
    parse_page,
)
from syncd.merge import _unindent
from syncd.note import (
    ANCHOR_RE,
    _block_lines,
    indent_lines,
    render_own,
    text_sha,
    with_anchor,
)
from syncd.readwise import _LOCATION_LINK_CORE_RE, HighlightId, Item, normalize_text
from syncd.yamlout import quote
from tests.test_merge_create import CTX, reference_block_lines

SETTINGS = settings(derandomize=True, deadline=None, max_examples=1500)

# every token a rule, the anchor logic or the location logic looks at, and plain text
TOKENS = [
    "[[", "]]", "[[page]]", "#[[multi word]]", "[[Feb 12th, 2023]]", "[[old name]]", "#tag",
    "^^", "^^hi^^", "^", "^rw-0123456789ab", " ^rw-0123456789ab", "rw-", "`", "`code [[x]]`",
    "```", "~~~", "((6543a1b2-0000-4000-8000-000000000000))", "key:: value", "id:: x", "::",
    "([View Highlight](https://read.readwise.io/read/01h))", "(Location 12)", "](", "https://x.y/z",
    "<https://a.b>", "\\-", "-", " ", "  ", "\t", "\u00a0", "\u2003", "\x0b", "\x1f", "\x85",
    "e\u0301", "é", "word", "Word.", "[", "]", "(", ")", "#", "~", "*", "**Tags**:", "\x7f",
]  # fmt: skip
LINE = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
TEXT = st.lists(st.sampled_from([*TOKENS, "\n", "a\nb"]), max_size=16).map("".join)


# --------------------------------------------------------------------------- text checks


@SETTINGS
@given(LINE, st.sampled_from(["[[", "^^", "^rw-", "\\-", "  ", "]]", "a"]))
def test_contains_is_in(text: str, token: str) -> None:
    assert contains(text, token) == (token in text)


def reference_normalize(text: str) -> str:
    return " ".join(re.sub(r"(^|\s)\\-", r"\1-", unicodedata.normalize("NFC", text)).split())


@SETTINGS
@given(st.one_of(TEXT, st.text(alphabet=st.characters(max_codepoint=0x3000), max_size=20)))
@example("".join(chr(c) for c in range(128)))
@example("a\x1cb")
@example("a\rb")
def test_normalize_text_is_the_plain_substitution(text: str) -> None:
    assert normalize_text(text) == reference_normalize(text)


# --------------------------------------------------------------------------- rendering


def reference_text_sha(lines: Sequence[str]) -> str:
    stripped = [ANCHOR_RE.sub("", line) if "^rw-" in line else line for line in lines]
    return hashlib.sha1(reference_normalize("\n".join(stripped)).encode("utf-8")).hexdigest()


@SETTINGS
@given(LINE)
@example("A highlight. ([View Highlight](https://read.readwise.io/read/01h))")
@example("ends like an anchor ^rw-0123456789ab")
@example("```")
def test_one_line_block_renders_as_the_general_path(line: str) -> None:
    block = Block(1, "\t", (line,), block_properties((line,)), (), 2)
    assert _block_lines(block, CTX) == reference_block_lines(block)
    assert text_sha([line]) == reference_text_sha([line])


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=4))
def test_any_block_renders_as_the_general_path(lines: list[str]) -> None:
    frozen = tuple(lines)
    block = Block(0, "", frozen, block_properties(frozen), (), 1)
    assert _block_lines(block, CTX) == reference_block_lines(block)
    assert text_sha(lines) == reference_text_sha(lines)


# --------------------------------------------------------------------------- parser


@dataclass
class _Draft:
    indent: str
    width: int
    line: int
    lines: list[str]
    children: list[_Draft] = field(default_factory=list)
    depth: int = 0
    bulleted: bool = True

    def freeze(self) -> Block:
        lines = tuple(self.lines)
        return Block(
            depth=self.depth,
            indent=self.indent,
            lines=lines,
            properties=block_properties(lines),
            children=tuple(child.freeze() for child in self.children),
            line=self.line,
            bulleted=self.bulleted,
        )


def reference_parse_page(text: str) -> Page:
    """parse_page as it was before the one-pass tree building (syncd 73d713d), with the
    unbulleted heading that starts a top-level block (issue 12, shape 02)."""
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    bullets = [BULLET_RE.match(raw) for raw in raw_lines]
    heads = [
        raw if b is None else b.group(2) or "" for raw, b in zip(raw_lines, bullets, strict=True)
    ]
    inside = [False] * len(raw_lines)
    for first, last, _fence in opaque_spans(raw_lines, heads):
        inside[first + 1 : last + 1] = [True] * (last - first)
    preamble: list[str] = []
    roots: list[_Draft] = []
    stack: list[_Draft] = []
    current: _Draft | None = None
    for number, (raw, bullet) in enumerate(zip(raw_lines, bullets, strict=True), start=1):
        heading = HEADING_START_RE.match(raw) if bullet is None else None
        if (bullet is None and heading is None) or inside[number - 1]:
            if current is None:
                preamble.append(raw)
            else:
                current.lines.append(_strip_continuation(raw, current.indent))
            continue
        indent = bullet.group(1) if bullet is not None else ""
        width = len(indent)
        while stack and stack[-1].width >= width:
            stack.pop()
        head = bullet.group(2) or "" if bullet is not None else raw
        draft = _Draft(indent=indent, width=width, line=number, lines=[head])
        draft.bulleted = bullet is not None
        if stack:
            draft.depth = stack[-1].depth + 1
            stack[-1].children.append(draft)
        else:
            roots.append(draft)
        stack.append(draft)
        current = draft
    blocks = tuple(root.freeze() for root in roots)
    properties = _preamble_properties(preamble)
    in_first_block = False
    if not properties and blocks and _is_properties_only(blocks[0]):
        properties = blocks[0].properties
        blocks = blocks[1:]
        in_first_block = True
    return Page(
        properties=properties,
        preamble=tuple(preamble),
        blocks=blocks,
        properties_in_first_block=in_first_block,
    )


SPECIAL_LINE = st.sampled_from(
    ["-", "- ", "\t-", "```", "  ```", "~~~", "#+BEGIN_QUOTE", "#+END_QUOTE", "#+BEGIN_SRC x",
     "  #+END_SRC", "title:: T", "key:: value", "", "  continued", "\tmore", "> quote", "## h"]
)  # fmt: skip
INDENT = st.sampled_from(["", "\t", "\t\t", "  ", "    ", " \t", "\t\t\t"])
OUTLINE_LINE = st.one_of(
    st.tuples(INDENT, LINE).map(lambda pair: f"{pair[0]}- {pair[1]}"), SPECIAL_LINE, LINE
)


@settings(derandomize=True, deadline=None, max_examples=1500)
@given(st.lists(OUTLINE_LINE, max_size=25), st.booleans())
@example(["title:: T", "- a", "\t- b", "\t\t- c", "\t- d", "- e"], True)
@example(["- key:: v", "- a", "  ```", "  - in code", "  ```", "\t- b"], False)
def test_parser_builds_the_tree_the_two_pass_parser_built(lines: list[str], end: bool) -> None:
    text = "\n".join(lines) + ("\n" if end else "")
    assert parse_page(text) == reference_parse_page(text)
    assert repr(parse_page(text)) == repr(reference_parse_page(text))


# what may stand before the first bullet: page properties (a page id, aliases, a title), a
# YAML front matter, text, a heading, a drawer id, fences
HEAD_LINE = st.sampled_from(
    ["title:: T", "alias:: a, [[b c]]", "id:: 6543a1b2-0000-4000-8000-000000000000", "---",
     "title: Y", "tags: x", "", "some text", "# h", "## h2", ":id: 6543a1b2", ":ID: x", "```",
     "key::", "  indented:: v", "#+title: o"]
)  # fmt: skip


@settings(derandomize=True, deadline=None, max_examples=1500)
@given(st.lists(HEAD_LINE, max_size=6), st.lists(OUTLINE_LINE, max_size=12), st.booleans())
@example(["alias:: a", "tags:: t", ""], ["- a [[link]]", "\t- child", "## h", "- b"], True)
@example(["---", "title: Y", "---"], ["- a"], False)
@example(["title:: T", "```"], ["- in code", "```", "- b"], True)  # (the bullet is code)
@example(["title:: T", "#+BEGIN_SRC"], ["- in code", "#+END_SRC", "- b"], True)
def test_page_head_is_the_parse_without_blocks(
    head: list[str], outline: list[str], end: bool
) -> None:
    """plan_page reads a page of a kind the source makes no note of through page_head where
    it can: its page properties and preamble as parse_page gives them, and no block id."""
    text = "\n".join(head + outline) + ("\n" if end else "")
    found = page_head(text)
    if found is None:
        return
    page = parse_page(text)
    assert (found.properties, found.preamble, found.front_matter) == (
        page.properties,
        page.preamble,
        page.front_matter,
    )
    assert not page.properties_in_first_block and page_block_ids(page, text) == ()


def test_page_head_reads_a_plain_page_and_refuses_one_with_block_properties() -> None:
    plain = "alias:: Other\ntitle:: Named\n\n- a [[link]] #tag\n\t- child\n"
    found = page_head(plain)
    assert found is not None and found.property_value("title") == "Named"
    assert [p.key for p in found.properties] == ["alias", "title"]
    assert page_head(plain + "- b\n  id:: 6543a1b2-0000-4000-8000-000000000000\n") is None
    assert page_head(plain + "- b\n  :PROPERTIES:\n  :id: x\n  :END:\n") is None
    assert page_head("- title:: in a first block\n- a\n") is None  # (page properties there)


def reference_render_own(item: Item, depth: int) -> tuple[list[str], str]:
    """note.render_own without its one-line shortcut."""
    lines = reference_block_lines(item.block)
    return indent_lines(with_anchor(lines, item.anchor), depth), reference_text_sha(lines)


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=3), st.integers(0, 3), st.booleans())
@example(["A highlight. ([View Highlight](https://read.readwise.io/read/01h))  "], 1, False)
@example(["   "], 0, False)
@example(["id:: 6543a1b2-0000-4000-8000-000000000000"], 2, True)
def test_render_own_is_the_general_rendering(lines: list[str], depth: int, one: bool) -> None:
    frozen = (lines[0],) if one else tuple(lines)
    block = Block(depth, "\t" * depth, frozen, block_properties(frozen), (), 1)
    item = Item(HighlightId(f"text:{frozen}"), block, (), (), None, "", False)
    assert render_own(item, depth, CTX) == reference_render_own(item, depth)


@SETTINGS
@given(st.lists(LINE, min_size=1, max_size=3), st.integers(0, 3))
@example(["A highlight. ([View Highlight](https://read.readwise.io/read/01h))  "], 1)
@example(["trailing tab\t", "id:: 6543a1b2-0000-4000-8000-000000000000"], 2)
def test_a_highlight_line_as_syncd_writes_it_hashes_as_its_text(
    lines: list[str], depth: int
) -> None:
    """merge_document's shortcut: a one-line highlight in the note exactly as render_own
    writes it (``- <first line, right-stripped> ^<anchor>``, TAB-indented) has the hash
    render_own gave, so merge_document takes that instead of ``text_sha`` of the note's line
    (8 in 9 generated blocks are of that shape; the rest must not take the shortcut)."""
    frozen = tuple(lines)
    block = Block(1, "\t", frozen, block_properties(frozen), (), 1)
    item = Item(HighlightId(f"text:{frozen}"), block, (), (), None, "", False)
    own, sha = render_own(item, 0, CTX)
    if own == [f"- {frozen[0].rstrip()} ^{item.anchor}"]:
        assert text_sha(_unindent(["\t" * depth + own[0]], (0, 0))) == sha


def test_the_shortcut_applies_to_a_plain_highlight() -> None:
    line = "A highlight. ([View Highlight](https://read.readwise.io/read/01h))"
    item = Item(HighlightId("url:x"), Block(1, "\t", (line,), (), (), 1), (), (), "x", "", False)
    assert render_own(item, 0, CTX)[0] == [f"- {line} ^{item.anchor}"]


LINK_PARTS = st.sampled_from(
    ["(", ")", "))", "([", "[", "]", "](", "a", "b c", " ", "\t", "\n", "\u00a0", "\u2003", "x)"]
)


@SETTINGS
@given(st.lists(LINK_PARTS, max_size=20).map("".join))
@example("two ([a](x([b](y)) links")
@example("([a](b c([d](e))")
@example("([a](x)) )) \n")
def test_greedy_location_link_is_the_lazy_one(line: str) -> None:
    lazy = re.compile(r"\(\[([^\]\n]*)\]\((\S+?)\)\)\s*$").search(line)
    greedy = _LOCATION_LINK_CORE_RE.search(line)
    assert (lazy is None) == (greedy is None)
    if lazy is not None and greedy is not None:
        assert (lazy.span(), lazy.groups()) == (greedy.span(), greedy.groups())


YAML_CHARS = [*'a"\\: #-\n\t', "\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\ufffe", "\uffff"]


@SETTINGS
@given(st.text(alphabet=st.sampled_from([*YAML_CHARS, "é", "😀", "\x00"]), max_size=12))
def test_yaml_quote_is_json_dumps_with_the_escapes(text: str) -> None:
    expected = re.sub(
        "[\x7f-\x9f\u2028\u2029\ufffe\uffff]",
        lambda m: f"\\u{ord(m.group()):04x}",
        json.dumps(text, ensure_ascii=False),
    )
    assert quote(text) == expected
