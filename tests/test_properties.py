"""Property tests (hypothesis, derandomized): the Logseq parser and the Readwise merge.

Parser: any text parses; every source line lands exactly once in the preamble or in one block,
in order; a block starts at every bullet line except those inside fenced code; and a generated
outline comes back as the same tree.

Merge: for generated documents split into an earlier sync (v1) and a later one (v2: sections
appended, old highlights sometimes sent again), v1 then v2 gives every highlight exactly once,
in source order, and merging v2 again changes nothing. With user edits between v1 and v2 (a
line of the user's anywhere in the body, a highlight line deleted), the user's line survives
and the deleted highlight stays deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncd.logseq.dates import COMMON_TITLE_FORMATS
from syncd.logseq.model import Block
from syncd.logseq.parser import BULLET_RE, FENCE_RE, HEADING_START_RE, parse_page
from syncd.merge import merge_document, split_frontmatter
from syncd.readwise import Document, document_from_page
from tests.conftest import readwise_context

CTX = readwise_context(("MMM do, yyyy", *COMMON_TITLE_FORMATS))
PARSER = settings(derandomize=True, deadline=None, max_examples=400)
MERGE = settings(derandomize=True, deadline=None, max_examples=150)

# --------------------------------------------------------------------------- parser

# text made of the characters that matter to the parser, plus some that do not
LOGSEQ_TEXT = st.text(alphabet=st.sampled_from([*"- \t\n`~:#x*[]()\r", "é", "한"]))
LINE = st.sampled_from(
    ["- ", "-", "\t- a", "  - b", "    - c", "\t\t- d", "```", "```py", "~~~", "  ```", "\t  ```",
     "key:: value", "- key:: value", "text", "", "  continued", "\t", "- ```", "-x", "--"]
)  # fmt: skip


def check_structure(text: str) -> None:
    page = parse_page(text)
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    blocks = page.walk()
    starts = [block.line for block in blocks]
    assert starts == sorted(set(starts)), "blocks out of document order"
    for block in blocks:
        # a bullet, or a heading written without one (mldoc starts a block there; shape 02)
        start = BULLET_RE if block.bulleted else HEADING_START_RE
        assert start.match(raw[block.line - 1]), (block.line, raw[block.line - 1])
    # every line lands once: a block owns the lines up to the next block's bullet
    for block, following in zip(blocks, [*starts[1:], len(raw) + 1][: len(blocks)], strict=True):
        assert len(block.lines) == following - block.line, block.line
    first = starts[0] if starts else len(raw) + 1
    if page.properties_in_first_block:
        assert len(page.preamble) < first - 1  # the properties bullet sits in between
    else:
        assert len(page.preamble) == first - 1
    # a bullet line that starts no block sits after a fence line of its block (or preamble)
    owner_of: dict[int, Block | None] = {}
    owner: Block | None = None
    start_set = set(starts)
    by_line = {block.line: block for block in blocks}
    for number in range(1, len(raw) + 1):
        if number in start_set:
            owner = by_line[number]
        owner_of[number] = owner
    properties_bullet = page.properties_in_first_block  # one bullet not kept as a block
    for number, line in enumerate(raw, start=1):
        if number in start_set or not BULLET_RE.match(line):
            continue
        block = owner_of[number]
        if block is None:
            before = raw[: number - 1]
        else:
            before = [block.lines[0], *raw[block.line : number - 1]]
        if any(FENCE_RE.match(prior) for prior in before):
            continue
        assert block is None and properties_bullet, (number, line)
        properties_bullet = False


@PARSER
@given(LOGSEQ_TEXT)
def test_any_text_parses_and_every_line_lands_once(text: str) -> None:
    check_structure(text)


@PARSER
@given(st.lists(LINE, max_size=30))
def test_any_arrangement_of_outline_lines_parses(lines: list[str]) -> None:
    check_structure("\n".join(lines))


@dataclass(frozen=True)
class Node:
    text: str
    extra: tuple[str, ...]  # continuation lines (a fenced block may hold "- " lines)
    children: tuple[Node, ...]


WORD = st.text(alphabet="abcdefgh xyz.,é한", min_size=1, max_size=12).map(str.strip).filter(bool)
CODE_LINE = st.sampled_from(["- not a bullet", "\t- nor this", "key:: no property", "x", ""])
EXTRA = st.one_of(
    st.lists(WORD, max_size=2).map(tuple),
    st.lists(CODE_LINE, max_size=3).map(lambda body: ("```", *body, "```")),
)
NODES = st.recursive(
    st.builds(Node, WORD, EXTRA, st.just(())),
    lambda kids: st.builds(Node, WORD, EXTRA, st.lists(kids, max_size=3).map(tuple)),
    max_leaves=12,
)


def render_outline(nodes: list[Node], unit: str, depth: int = 0) -> list[str]:
    out: list[str] = []
    for node in nodes:
        indent = unit * depth
        out.append(f"{indent}- {node.text}")
        out.extend(f"{indent}  {line}" for line in node.extra)
        out.extend(render_outline(list(node.children), unit, depth + 1))
    return out


def count_bullets(nodes: list[Node]) -> int:
    return sum(1 + count_bullets(list(node.children)) for node in nodes)


def shape(blocks: tuple[Block, ...]) -> list[tuple[str, tuple[str, ...], list[object]]]:
    return [(b.first_line, b.lines[1:], shape(b.children)) for b in blocks]


def node_shape(nodes: list[Node]) -> list[tuple[str, tuple[str, ...], list[object]]]:
    return [(n.text, n.extra, node_shape(list(n.children))) for n in nodes]


@PARSER
@given(st.lists(NODES, min_size=1, max_size=4), st.sampled_from(["\t", "  ", "    "]))
def test_a_generated_outline_comes_back_as_the_same_tree(nodes: list[Node], unit: str) -> None:
    lines = render_outline(nodes, unit)
    page = parse_page("\n".join(lines) + "\n")
    # the bullets outside fences are exactly the blocks
    outside = sum(1 for line in lines if BULLET_RE.match(line)) - sum(
        1 for n in _walk(nodes) for line in n.extra if BULLET_RE.match(f"  {line}")
    )
    assert outside == count_bullets(nodes) == len(page.walk())
    assert not page.properties_in_first_block
    assert shape(page.blocks) == node_shape(nodes)


def _walk(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        out.extend(_walk(list(node.children)))
    return out


# --------------------------------------------------------------------------- merge

# Highlight text: words, Markdown and Logseq punctuation, non-ASCII. Left out: "::" (a first
# line "key:: value" is a block property in Logseq, not text) and "(" (a text ending in "(["
# runs into the location link).
HIGHLIGHT_TEXT = (
    st.text(alphabet="abcdefgh ijk:#[]`-\\~_*>!?.,'\"é한😀", min_size=1, max_size=40)
    .map(lambda t: " ".join(t.split()))
    .filter(lambda t: bool(t) and "::" not in t)
)


@dataclass(frozen=True)
class Spec:
    """A generated document: sections of highlight numbers (a heading groups some)."""

    texts: tuple[str, ...]  # highlight n's text
    notes: frozenset[int]  # highlights with a **Note** child
    two_lines: frozenset[int]  # highlights with a continuation line
    v1: tuple[tuple[tuple[str | None, tuple[int, ...]], ...], ...]  # sections of groups
    v2_added: tuple[tuple[int, ...], ...]  # appended sections (old numbers = re-sent)

    def url(self, n: int) -> str:
        return f"https://read.readwise.io/read/h{n:04d}"

    def order(self) -> list[int]:
        """Highlight numbers in source order (first occurrence in v2)."""
        seen: list[int] = []
        for section in self.v1:
            for _, numbers in section:
                seen.extend(n for n in numbers if n not in seen)
        for numbers in self.v2_added:
            seen.extend(n for n in numbers if n not in seen)
        return seen

    def page(self, version: int) -> str:
        lines = [
            "title:: A Generated Document (highlights)",
            "author:: [[Somebody]]",
            'full-title:: "A Generated Document"',
            "category:: #articles",
            "url:: https://example.org/generated",
            "",
        ]
        for index, section in enumerate(self.v1):
            lines.append(
                "- Highlights first synced by [[Readwise]] [[Feb 5th, 2024]]"
                if index == 0
                else f"- New highlights added [[Mar {index}st, 2024]] at 9:00 AM"
            )
            for heading, numbers in section:
                depth = 1
                if heading is not None:
                    lines.append(f"\t- {heading}")
                    depth = 2
                for n in numbers:
                    lines.extend(self.highlight(n, depth))
        if version >= 2:
            for numbers in self.v2_added:
                lines.append("- New highlights added [[Jul 8th, 2024]] at 7:45 AM")
                for n in numbers:
                    lines.extend(self.highlight(n, 1))
        return "\n".join(lines)

    def highlight(self, n: int, depth: int) -> list[str]:
        tabs = "\t" * depth
        location = f"([View Highlight]({self.url(n)}))"
        if n in self.two_lines:
            out = [f"{tabs}- {self.texts[n]}", f"{tabs}  and line two of {n} {location}"]
        else:
            out = [f"{tabs}- {self.texts[n]} {location}"]
        if n in self.notes:
            out.append(f"{tabs}\t- **Note**: my note {n}")
        return out


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    texts = tuple(draw(st.lists(HIGHLIGHT_TEXT, min_size=2, max_size=14, unique=True)))
    total = len(texts)
    cut = draw(st.integers(1, total - 1))  # v1 holds highlights 0..cut-1
    numbers = list(range(cut))
    sections: list[tuple[tuple[str | None, tuple[int, ...]], ...]] = []
    while numbers:
        groups: list[tuple[str | None, tuple[int, ...]]] = []
        for _ in range(draw(st.integers(1, 2))):
            if not numbers:
                break
            size = draw(st.integers(1, len(numbers)))
            heading = draw(st.sampled_from([None, None, "1. A Heading", "Part Two"]))
            groups.append((heading, tuple(numbers[:size])))
            numbers = numbers[size:]
        sections.append(tuple(groups))
    added: list[tuple[int, ...]] = []
    fresh = list(range(cut, total))
    while fresh:
        size = draw(st.integers(1, len(fresh)))
        resent = draw(st.lists(st.integers(0, cut - 1), max_size=2, unique=True))
        added.append((*resent, *fresh[:size]))
        fresh = fresh[size:]
    notes = frozenset(draw(st.lists(st.integers(0, total - 1), max_size=4)))
    two_lines = frozenset(draw(st.lists(st.integers(0, total - 1), max_size=4)))
    return Spec(texts, notes, two_lines, tuple(sections), tuple(added))


def document(spec: Spec, version: int) -> Document:
    return document_from_page(parse_page(spec.page(version)), "A Generated Document (highlights)")


def body_of(note: str) -> str:
    return split_frontmatter(note)[1]


def assert_each_once_in_order(
    spec: Spec, note: str, *, missing: frozenset[int] = frozenset()
) -> None:
    body = body_of(note)
    anchors = re.findall(r"\^(rw-[0-9a-f]{12})$", body, flags=re.MULTILINE)
    assert len(anchors) == len(set(anchors)), f"an anchor twice:\n{body}"
    positions = []
    for n in spec.order():
        count = body.count(spec.url(n))
        if n in missing:
            assert count == 0, (n, body)
            continue
        assert count == 1, (n, count, body)
        positions.append(body.index(spec.url(n)))
    assert positions == sorted(positions), body


REPEATED_HEADING = Spec(  # a heading block that appears twice on one page (found by hypothesis)
    texts=("one", "two", "three", "four"),
    notes=frozenset(),
    two_lines=frozenset(),
    v1=((("1. A Heading", (0, 1)), ("1. A Heading", (2,))),),
    v2_added=((3,),),
)


@MERGE
@given(specs())
@example(REPEATED_HEADING)
def test_v1_then_v2_holds_every_highlight_once_in_source_order(spec: Spec) -> None:
    v1, v2 = document(spec, 1), document(spec, 2)
    first = merge_document(None, v1, {}, CTX)
    seen = dict(first.record)
    second = merge_document(first.text, v2, seen, CTX)
    seen.update(second.record)
    assert_each_once_in_order(spec, second.text)
    in_v1 = {n for section in spec.v1 for _, numbers in section for n in numbers}
    added = {a for a in second.added if a.startswith("url:")}
    assert added == {f"url:{spec.url(n)}" for n in spec.order() if n not in in_v1}
    third = merge_document(second.text, v2, seen, CTX)
    assert not third.changed and third.text == second.text  # rule 8
    # v2 straight into an empty vault: the same highlights, each once
    assert_each_once_in_order(spec, merge_document(None, v2, {}, CTX).text)


USER_LINE = st.sampled_from(
    ["My own thought.", "- my own bullet", "\t- my nested bullet", "## My heading", "> a quote"]
)


@MERGE
@given(specs(), st.data())
def test_user_lines_survive_and_deleted_highlights_stay_deleted(
    spec: Spec, data: st.DataObject
) -> None:
    v1, v2 = document(spec, 1), document(spec, 2)
    first = merge_document(None, v1, {}, CTX)
    seen = dict(first.record)
    head, body = split_frontmatter(first.text)
    lines = body.split("\n")
    # delete one highlight's line
    with_url = [i for i, line in enumerate(lines) if "read.readwise.io/read/h" in line]
    gone_at = data.draw(st.sampled_from(with_url), label="deleted line")
    gone = int(re.search(r"/read/h(\d{4})", lines[gone_at]).group(1))  # type: ignore[union-attr]
    del lines[gone_at]
    # insert a line of the user's anywhere in the body
    user = data.draw(USER_LINE, label="user line") + " (mine 7f3a)"
    lines.insert(data.draw(st.integers(0, len(lines)), label="insert at"), user)
    edited = head + "\n".join(lines)

    second = merge_document(edited, v2, seen, CTX)
    seen.update(second.record)
    assert second.text.count(user) == 1, second.text
    assert_each_once_in_order(spec, second.text, missing=frozenset({gone}))
    # every line of the edited note is still there, in the same order
    remaining = iter(body_of(second.text).split("\n"))
    assert all(line in remaining for line in lines), second.text
    third = merge_document(second.text, v2, seen, CTX)
    assert not third.changed
