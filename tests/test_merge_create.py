"""The create path of ``merge_document`` (``merge_document(None, doc, {}, ctx)``: a new note)
gives what the general rendering gives, without its shortcuts: the one-line rendering of
``note.render_own`` and ``note._block_lines``, ``convert_inline``'s and ``convert_text_lines``'s
fast paths, and the empty plan that asks nothing about known highlights. (It replaces the
equivalence test of the former fast path that made new notes from a page's lines in
helper processes only.)

Pages are generated from Readwise's shape (page properties, headers, one-line highlights with
``**Note**:`` / ``**Tags**:`` children) with adversarial text in every line: every Logseq
token syncd converts, anchors and look-alikes, ``::`` property look-alikes, location links
with odd and repeated URLs, location labels, odd whitespace, empty bullets, and lines outside
the shape (continuation lines, blank lines, deeper children, top-level blocks, fences,
properties). The note, the record and the ids added must be the reference's, and merging the
document again into the new note changes nothing (rule 8).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

import syncd.convert.blocks as blocks
from syncd.convert.blocks import _Region
from syncd.convert.context import GraphIndex, readwise_context
from syncd.convert.inline import InlineEnv, _convert, _longest_ticks
from syncd.convert.report import Findings
from syncd.logseq.model import Block
from syncd.logseq.parser import parse_page
from syncd.merge import MergeResult, merge_document
from syncd.note import (
    _FAKE_ANCHOR_RE,
    DROPPED_BLOCK_PROPERTIES,
    frontmatter_items,
    indent_lines,
    text_sha,
    with_anchor,
)
from syncd.readwise import Document, Item, document_from_page, is_readwise_page
from syncd.yamlout import dump_frontmatter

CTX = readwise_context(
    ("MMM do, yyyy",),
    index=GraphIndex(
        names={"old name": "New Name"},
        blocks={"6543a1b2-0000-4000-8000-000000000000": "Other"},
    ),
)
SETTINGS = settings(derandomize=True, deadline=None, max_examples=500)

TOKENS = [
    "[[", "]]", "[[page]]", "#[[multi word]]", "[[Feb 12th, 2023]]", "[[old name]]", "#tag",
    "^^", "^^hi^^", "^", "^rw-0123456789ab", " ^rw-0123456789ab", "rw-", "`", "`code [[x]]`",
    "```", "~~~", "~", "((6543a1b2-0000-4000-8000-000000000000))", "key:: value", "id:: x",
    "::", ":", "#+BEGIN_QUOTE", "#+", "([View Highlight](https://read.readwise.io/read/01h))",
    "(Location 12)", "](", "https://x.y/z", "<https://a.b>", "\\-", "-", "- ", " ", "  ", "\t",
    "\u00a0", "\u2003", "\x0b", "\x1f", "\x85", "\r", "\ufeff", "e\u0301", "é", "word",
    "Word.", "[", "]", "(", ")", "))", "#", "*", "**Tags**:", "**Note**:", "\x7f",
]  # fmt: skip
# without what sends a page to the general path, so that most generated pages of the shape
# take the fast path (the full token list tests the fallbacks)
USUAL = [t for t in TOKENS if not any(bad in t for bad in ("::", "```", "~~~", "#+"))]
TEXT = (
    st.integers(0, 9)
    .flatmap(lambda pick: st.lists(st.sampled_from(TOKENS if pick == 0 else USUAL), max_size=10))
    .map("".join)
)
# location suffixes: a few URLs (so that some repeat), odd ones among them
URLS = [
    "https://read.readwise.io/read/01h",
    "https://read.readwise.io/read/02h",
    "https://www.amazon.com/dp/B00TEST?asin=B0CXZ12345&location=12",
    "kindle://book?action=open&asin=B0CXZ12345&location=7",
    "https://x.y/a\\-b",
    "https://x.y/(paren)",
    "https://x.y/))",
    "u",
]
SUFFIX = st.one_of(
    st.just(""),
    st.builds(
        lambda space, label, url, tail: f"{space}([{label}]({url})){tail}",
        st.sampled_from(["", " ", "  ", "\t", "\u00a0"]),
        st.sampled_from(["View Highlight", "Location 305", "", "a[b", "[[x"]),
        st.sampled_from(URLS),
        st.sampled_from(["", " ", "\t", "\u2003"]),
    ),
    st.sampled_from([" (Location 12)", " (Page 3) ", "(Time 0:12)", " (Chapter two)"]),
)
# mostly a highlight starts with a word (else the general path takes the page)
# (or with what makes a one-line block a property: "id:: x" is a highlight without text)
LEAD = st.integers(0, 19).flatmap(
    lambda pick: st.sampled_from(
        ["id:: x", "collapsed:: true", "key:: v", "hl-page:: 3", "a::", "a:b::c", "Note:: "]
        if pick == 0
        else ["W", "é", "Word ", "[[", "^", "#", "(", "`", "*", "-", "\\-", "", " ", "~"]
    )
)
HIGHLIGHT = st.builds(lambda lead, text, suffix: lead + text + suffix, LEAD, TEXT, SUFFIX)
HEADERS = [
    "Highlights first synced by [[Readwise]] [[Feb 13th, 2023]]",
    "New highlights added [[Mar 1st, 2023]] at 10:05 AM",
    "## Highlights synced by [[Readwise]]",
    "highlights first synced by [[old name]] ([x](https://read.readwise.io/read/01h))",
]
ATTRIBUTE = st.builds(
    lambda kind, text: kind + text,
    st.sampled_from(["**Note**: ", "**Tags**: ", "Note: ", "__Tags__: ", "**Notes**:\t"]),
    TEXT,
)
# lines outside the usual shape (continuations, deeper children, fences, properties...)
ODD_LINES = [
    "",
    "  continued text",
    "\t  continued",
    "\t\t\t- deeper child",
    "\t\t- a child that is no attribute",
    "- a top-level block",
    "\t- id:: 6543a1b2-0000-4000-8000-000000000000",
    "\t- collapsed:: true",
    "\t  id:: 6543a1b2-0000-4000-8000-000000000000",
    "\t-",
    "\t- ",
    "\t-  two spaces",
    "\t-\ttab",
    "    - spaces for indent",
    "\t- ```",
    "\t- ~~~",
    "\t- #+BEGIN_QUOTE",
    "\t- #+END_QUOTE",
    "-",
    "\t\t-",
]
PROPERTIES = [
    "title:: Some Book (highlights)",
    "title:: Odd ../name",
    "author:: [[Language Sync]]",
    "author:: ",
    'full-title:: "Some Book: A \\#1 Story"',
    "category:: #books",
    "category:: #podcasts",
    "category:: [[articles]]",
    "url:: https://example.org/x",
    "url:: ",
    "tags:: [[a b]], #c",
    "alias:: Other Name",
    "aliases:: [[Third Name]], fourth",
    "id:: 6543A1B2-0000-4000-8000-00000000abcd",
    'summary:: "quoted"',
    "syncd-id:: hijack",
    "ключ:: значение",
    "document_note:: n",
]
PREAMBLE = st.lists(
    st.one_of(
        st.sampled_from(PROPERTIES),
        st.sampled_from(["", "![](https://img.example/x.jpg)", " ", "text", "x::y"]),
    ),
    max_size=8,
)


@st.composite
def plain_pages(draw: st.DrawFn) -> tuple[str, bool]:
    """A page of the shape (lines outside it only if ``odd``), and whether it has no line
    outside the shape."""
    odd = draw(st.integers(0, 3)) == 0
    lines = list(draw(PREAMBLE))
    in_shape = True
    for _ in range(draw(st.integers(1, 3))):
        lines.append("- " + draw(st.sampled_from(HEADERS)))
        for _ in range(draw(st.integers(0, 6))):
            text = draw(st.one_of(HIGHLIGHT, st.sampled_from(["Same text.", "Same text. "])))
            lines.append("\t- " + text)
            if not text or text[0] in " \t":
                in_shape = False
            for _ in range(draw(st.integers(0, 2))):
                lines.append("\t\t- " + draw(ATTRIBUTE))
            if odd and draw(st.integers(0, 4)) == 0:
                lines.append(draw(st.sampled_from(ODD_LINES)))
                in_shape = False
    end = draw(st.sampled_from(["\n", "\n", "\n", "", "\n\n"]))
    if end == "\n\n":
        in_shape = False
    return "\n".join(lines) + end, in_shape


def reference_lines(lines: list[str]) -> list[str]:
    """``convert_text_lines`` without its fast paths: every line through the region
    scanner, every text line tokenised."""
    env = InlineEnv(CTX, Findings())

    def slow_inline(text: str, env: InlineEnv) -> str:
        outer = env.ticks
        env.ticks = max(outer, _longest_ticks(text))
        try:
            return _convert(text, env)
        finally:
            env.ticks = outer

    saved = blocks.convert_inline
    blocks.convert_inline = slow_inline  # type: ignore[assignment]
    try:
        return [o.text for o in _Region(env, 1, {}, None).convert(lines, 0)]
    finally:
        blocks.convert_inline = saved  # type: ignore[assignment]


def reference_block_lines(block: Block) -> list[str]:
    dropped = {p.index for p in block.properties if p.key.lower() in DROPPED_BLOCK_PROPERTIES}
    lines = [line for i, line in enumerate(block.lines) if i not in dropped]
    lines = [_FAKE_ANCHOR_RE.sub(r"\1\\^\2", line) for line in lines]
    return reference_lines(lines or [""])


def reference_tree(block: Block, depth: int) -> list[str]:
    out = indent_lines(reference_block_lines(block), depth)
    for child in block.children:
        out.extend(reference_tree(child, depth + 1))
    return out


def reference_create(doc: Document) -> MergeResult:
    """A new note as the general rendering makes it: the frontmatter, the page's text before
    the first bullet, then every section's header and every item once, in order."""
    record: dict[str, str] = {}
    added: list[str] = []
    body: list[str] = []

    def emit(item: Item, depth: int) -> None:
        if item.id in record:  # a heading repeated on the page: its new children only
            for child in item.children:
                emit(child, depth)
            return
        lines = reference_block_lines(item.block)
        body.extend(indent_lines(with_anchor(lines, item.anchor), depth))
        for attribute in item.attributes:
            body.extend(reference_tree(attribute, depth + 1))
        record[item.id] = text_sha(lines)
        added.append(item.id)
        for child in item.children:
            emit(child, depth + 1)

    page = doc.page
    drop = {p.index for p in page.properties} if not page.properties_in_first_block else set()
    preamble = [line for i, line in enumerate(page.preamble) if i not in drop]
    while preamble and not preamble[-1].strip():
        preamble.pop()
    while preamble and not preamble[0].strip():
        preamble.pop(0)
    if preamble:
        body.extend([*reference_lines(preamble), ""])
    for section in doc.sections:
        if section.header is not None:
            body.extend(indent_lines(reference_block_lines(section.header), 0))
        for item in section.items:
            emit(item, 1 if section.header is not None else 0)
    text = dump_frontmatter(frontmatter_items(doc, CTX)) + "\n".join(body) + "\n"
    return MergeResult(text=text, changed=True, added=tuple(added), record=record)


def _same_as_reference(text: str, name: str = "Page Name") -> None:
    page = parse_page(text)
    if not is_readwise_page(page):
        return
    doc = document_from_page(page, name)
    got = merge_document(None, doc, {}, CTX)
    expected = reference_create(doc)
    assert got.text == expected.text
    assert list(got.record.items()) == list(expected.record.items())
    assert got == expected
    again = merge_document(got.text, doc, dict(got.record), CTX)
    assert not again.changed
    assert not merge_document(got.text, doc, {}, CTX).changed  # known from the anchors


@SETTINGS
@given(plain_pages())
@example(("title:: A\n\n- Highlights first synced by [[Readwise]]\n\t- One. ([V](u))\n", True))
@example(("- Highlights first synced by x\n\t- a ([V](u))\n\t- b ([V](u))\n\t- a ([V](u))\n", True))
@example(("- Highlights first synced by x\n\t- a ^rw-0123456789ab\n\t\t- **Note**: ^rw-0\n", True))
def test_a_new_note_is_the_general_rendering(case: tuple[str, bool]) -> None:
    _same_as_reference(case[0])


@SETTINGS
@given(st.lists(st.one_of(HIGHLIGHT, ATTRIBUTE, st.sampled_from(ODD_LINES + HEADERS)), max_size=8))
def test_any_lines_under_a_header(lines: list[str]) -> None:
    """Lines at any of the three depths with any text (most pages not of the usual shape)."""
    depths = ["- ", "\t- ", "\t\t- ", "", "\t"]
    text = "- Highlights first synced by [[Readwise]]\n"
    for index, line in enumerate(lines):
        text += depths[index * 7 % 5 if index % 3 else 1] + line + "\n"
    _same_as_reference(text)


def test_sample_pages() -> None:
    """The Readwise sample pages of the test data."""
    pages = sorted(Path(__file__).parent.glob("data/**/*.md"))
    assert pages
    for path in pages:
        try:
            text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        except (UnicodeDecodeError, OSError):
            continue
        _same_as_reference(text, path.stem)
