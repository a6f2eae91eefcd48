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
from syncd.convert.context import ConvertContext, GraphIndex
from syncd.convert.inline import InlineEnv
from syncd.convert.report import Findings
from syncd.logseq.model import Block
from syncd.logseq.parser import parse_page
from syncd.merge import (
    KIDS_PREFIX,
    PROV_KEY,
    MergeResult,
    attribute_source,
    kids_base,
    lines_sha,
    merge_document,
    new_frontmatter,
    provisional,
)
from syncd.note import (
    _FAKE_ANCHOR_RE,
    DROPPED_BLOCK_PROPERTIES,
    document_context,
    frontmatter_items,
    indent_lines,
    text_sha,
    with_anchor,
)
from syncd.readwise import Document, Item, document_from_page, is_readwise_page
from tests.conftest import readwise_context
from tests.readwise_shapes import ATTRIBUTE, HEADERS, HIGHLIGHT, ODD_LINES, plain_pages
from tests.test_convert_fast import reference_convert_inline

CTX = readwise_context(
    ("MMM do, yyyy",),
    index=GraphIndex(
        names={"old name": "New Name"},
        blocks={"6543a1b2-0000-4000-8000-000000000000": "Other"},
    ),
)
SETTINGS = settings(derandomize=True, deadline=None, max_examples=500)


def reference_lines(lines: list[str], ctx: ConvertContext = CTX) -> list[str]:
    """``convert_text_lines`` without its fast paths: every line through the region
    scanner, every text line tokenised."""
    env = InlineEnv(ctx, Findings())
    saved = blocks.convert_inline
    blocks.convert_inline = reference_convert_inline  # type: ignore[assignment]
    try:
        return [o.text for o in _Region(env, 1, {}, None).convert(lines, 0)]
    finally:
        blocks.convert_inline = saved  # type: ignore[assignment]


def reference_block_lines(block: Block, ctx: ConvertContext = CTX) -> list[str]:
    dropped = {p.index for p in block.properties if p.key.lower() in DROPPED_BLOCK_PROPERTIES}
    lines = [line for i, line in enumerate(block.lines) if i not in dropped]
    lines = [_FAKE_ANCHOR_RE.sub(r"\1\\^\2", line) for line in lines]
    return reference_lines(lines or [""], ctx)


def reference_tree(block: Block, depth: int, ctx: ConvertContext = CTX) -> list[str]:
    out = indent_lines(reference_block_lines(block, ctx), depth)
    for child in block.children:
        out.extend(reference_tree(child, depth + 1, ctx))
    return out


def reference_create(doc: Document) -> MergeResult:
    """A new note as the general rendering makes it: the frontmatter, the page's text before
    the first bullet, then every section's header and every item once, in order."""
    record: dict[str, str] = {}
    added: list[str] = []
    body: list[str] = []
    ctx = document_context(doc, CTX)  # refs to the page's own highlights: their anchors

    def emit(item: Item, depth: int) -> None:
        if item.is_block:  # not a highlight: as written, no anchor, every one of them
            lines = reference_block_lines(item.block, ctx)
            body.extend(indent_lines(lines, depth))
            for attribute in item.attributes:
                body.extend(reference_tree(attribute, depth + 1, ctx))
            record.setdefault(item.id, text_sha(lines))
            for child in item.children:
                emit(child, depth + 1)
            for block in item.trailing:
                body.extend(reference_tree(block, depth, ctx))
            return
        if item.id in record:  # a heading repeated on the page: its new children only
            for child in item.children:
                emit(child, depth)
            return
        lines = reference_block_lines(item.block, ctx)
        body.extend(indent_lines(with_anchor(lines, item.anchor), depth))
        kids = len(body)
        for attribute in item.attributes:
            body.extend(reference_tree(attribute, depth + 1, ctx))
        record[item.id] = text_sha(lines)
        if item.attributes:  # rule 5's base of the highlight's children
            written, source = lines_sha(body[kids:]), lines_sha(attribute_source(item))
            record[KIDS_PREFIX + item.id] = kids_base(written, source)
        added.append(item.id)
        for child in item.children:
            emit(child, depth + 1)
        for block in item.trailing:
            body.extend(reference_tree(block, depth, ctx))

    page = doc.page
    drop = {p.index for p in page.properties} if not page.properties_in_first_block else set()
    drop.update(range(page.front_matter))  # a YAML front matter block: its page's properties
    preamble = [line for i, line in enumerate(page.preamble) if i not in drop]
    while preamble and not preamble[-1].strip():
        preamble.pop()
    while preamble and not preamble[0].strip():
        preamble.pop(0)
    if preamble:
        body.extend([*reference_lines(preamble, ctx), ""])
    for section in doc.sections:
        if section.header is not None:
            body.extend(indent_lines(reference_block_lines(section.header, ctx), 0))
        for item in section.items:
            emit(item, 1 if section.header is not None else 0)
    items = frontmatter_items(doc, CTX)
    frontmatter, bases = new_frontmatter(items)
    record.update(bases)  # rule 5's base of each frontmatter key
    cut = provisional(doc)  # a last highlight without a link may be cut: not seen yet
    if cut is not None and cut.id in record:
        record[PROV_KEY] = f"{record.pop(cut.id)} {cut.id}"
    text = frontmatter + "\n".join(body) + "\n"
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
