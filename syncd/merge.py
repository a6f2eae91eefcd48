"""Merging a Readwise document into its vault note (pure; design.md "Merge rules").

The note belongs to the user. syncd only ever
- creates it (rule 1),
- inserts highlights it has never written before, in source order, right after the
  highlight outline already in the note (rule 2), and
- replaces the text of a highlight Readwise changed, where the note still holds exactly what
  syncd last wrote for it (rule 5).
Everything else (frontmatter, the user's text, order, deletions) stays byte for byte
(rules 3, 4). A highlight is known by its ``^rw-…`` anchor in the note or by the state's
record of what syncd wrote (``seen``), so merging twice changes nothing (rule 8).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from syncd.logseq.model import Block, Page
from syncd.logseq.parser import BULLET_RE, _preamble_properties
from syncd.note import (
    ANCHOR_RE,
    frontmatter_items,
    preamble_body,
    render_attributes,
    render_block_tree,
    render_header,
    render_own,
    text_sha,
)
from syncd.readwise import (
    ATTRIBUTE_RE,
    HEADER_RE,
    Document,
    Item,
    Section,
    _split_location,
    anchor_for,
    document_identity,
    document_names,
    highlight_ids,
    normalize_text,
)
from syncd.rewrite import InlineContext
from syncd.yamlout import dump_frontmatter

BULLET_LINE_RE = re.compile(r"^([ \t]*)- ")
FRONTMATTER_END_RE = re.compile(r"^---[ \t]*$")


@dataclass(frozen=True, slots=True)
class MergeResult:
    text: str  # the note's new text (== the old text when nothing changed)
    changed: bool
    added: tuple[str, ...] = ()  # highlight ids inserted
    updated: tuple[str, ...] = ()  # highlight ids whose text was replaced
    # highlight id -> text hash, to record in the state once the note is durable
    record: Mapping[str, str] = field(default_factory=dict)


def split_frontmatter(text: str) -> tuple[str, str]:
    """(frontmatter block including both ``---`` lines, body). No frontmatter: ("", text)."""
    if not text.startswith("---\n"):
        return "", text
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if FRONTMATTER_END_RE.match(lines[index]):
            head = "\n".join(lines[: index + 1]) + "\n"
            return head, text[len(head) :]
    return "", text


class _Plan:
    """Which document items are already known, and where they sit in the note."""

    def __init__(
        self, doc: Document, body_lines: list[str], seen: Mapping[str, str], head: str = ""
    ) -> None:
        self.seen = seen
        self.anchor_lines: dict[str, int] = {}
        for index, line in enumerate(body_lines):
            if "^rw-" in line and (match := ANCHOR_RE.search(line)) is not None:
                self.anchor_lines.setdefault(match.group(1), index)
        # anchors above the body: a note without frontmatter that starts with a --- rule and
        # has another one below its highlights looks like frontmatter; they are known all
        # the same (never written twice), just never rewritten there
        self.head_anchors = frozenset(
            match.group(1)
            for line in head.split("\n")
            if "^rw-" in line and (match := ANCHOR_RE.search(line)) is not None
        )
        self.empty = not seen and not self.anchor_lines and not self.head_anchors

    def _in_note(self, anchor: str) -> bool:
        return anchor in self.anchor_lines or anchor in self.head_anchors

    def known_as(self, item: Item, item_sha: str) -> str | None:
        """The id under which ``item`` is already known, or None for a new highlight."""
        if self.empty:
            return None  # a new note: nothing is known (and no anchor needs hashing)
        if item.id in self.seen or self._in_note(item.anchor):
            return item.id
        alt = item.alternate_id
        if alt is not None:
            # the URL now repeats with other text (e.g. a shared Kindle location): the
            # highlight recorded under the URL alone is this one if its text is the same
            if self.seen.get(alt) == item_sha:
                return alt
            if self._in_note(anchor_for(alt)) and alt not in self.seen:
                return alt
        return None


def merge_document(
    existing: str | None, doc: Document, seen: Mapping[str, str], ctx: InlineContext
) -> MergeResult:
    """Merge ``doc`` into the note text ``existing`` (None: the note does not exist yet)."""
    if existing is None:
        return _create(doc, ctx)
    head, body = split_frontmatter(existing)
    lines = body.split("\n")
    plan = _Plan(doc, lines, seen, head)
    record: dict[str, str] = {}
    added: list[str] = []
    updated: list[str] = []

    # rule 5: replace text Readwise changed, where the user left syncd's text alone
    shas: dict[int, str] = {}  # id(item) -> its text hash (render_own's: the same at any depth)
    for item in doc.items():
        _, item_sha = render_own(item, 0, ctx)
        shas[id(item)] = item_sha
        known = plan.known_as(item, item_sha)
        if known is None:
            continue
        line_no = plan.anchor_lines.get(anchor_for(known))
        in_note = _note_block(lines, line_no) if line_no is not None else None
        note_sha = text_sha(_unindent(lines, in_note)) if in_note is not None else None
        last = seen.get(known)
        if (
            in_note is not None
            and known == item.id
            and last is not None
            and last != item_sha
            and note_sha == last
        ):
            start, end = in_note
            depth = _depth_of(lines[start])
            lines[start : end + 1] = render_own(item, depth, ctx)[0]
            updated.append(item.id)
            record[item.id] = item_sha
        elif last is None:
            # known from its anchor only (state lost or a crash before recording)
            record[known] = note_sha if note_sha is not None else item_sha
        elif known == item.id and last != item_sha and note_sha == item_sha:
            # the note already holds Readwise's new text (written by a run that crashed
            # before recording it): remember it as syncd's, so the next change applies
            record[known] = item_sha

    # rules 2 and 4: insert what was never written, in source order
    new_lines: list[str] = []
    for section in doc.sections:
        base = 1 if section.header is not None else 0
        section_lines: list[str] = []
        for item in section.items:
            _emit_new(item, base, plan, ctx, record, added, section_lines, shas)
        if section_lines:
            if section.header is not None:
                new_lines.extend(render_header(section, ctx))
            new_lines.extend(section_lines)
    if new_lines:
        at = _insertion_point(lines)
        if at == len(lines):
            while lines and not lines[-1].strip():
                lines.pop()
            lines.extend([*new_lines, ""])
        else:
            lines[at:at] = new_lines
    text = head + "\n".join(lines)
    return MergeResult(
        text=text,
        changed=text != existing,
        added=tuple(added),
        updated=tuple(updated),
        record=record,
    )


def _emit_new(
    item: Item,
    depth: int,
    plan: _Plan,
    ctx: InlineContext,
    record: dict[str, str],
    added: list[str],
    out: list[str],
    shas: Mapping[int, str] | None = None,
) -> None:
    """Append the lines of ``item`` and its new descendants that the note lacks to ``out``.
    ``shas``: the text hashes of the document's items by ``id(item)``, when known (most of a
    grown page's highlights are in the note already: they need no rendering here)."""
    sha = shas.get(id(item)) if shas is not None else None
    own: list[str] | None = None
    if sha is None:
        own, sha = render_own(item, depth, ctx)
    # (a new note's plan knows nothing: no call to ask it, on every highlight)
    if (not plan.empty and plan.known_as(item, sha) is not None) or item.id in record:
        # known (or a heading repeated on the page, already emitted by this merge): new
        # highlights nested under it go where it would have put them
        for child in item.children:
            _emit_new(child, depth, plan, ctx, record, added, out, shas)
        return
    if own is None:
        own = render_own(item, depth, ctx)[0]
    out.extend(own)
    if item.attributes:
        out.extend(render_attributes(item, depth, ctx))
    record[item.id] = sha
    added.append(item.id)
    for child in item.children:
        _emit_new(child, depth + 1, plan, ctx, record, added, out, shas)


def _create(doc: Document, ctx: InlineContext) -> MergeResult:
    record: dict[str, str] = {}
    added: list[str] = []
    plan = _Plan(doc, [], {})
    body: list[str] = []
    preamble = preamble_body(doc.page, ctx)
    if preamble:
        body.extend([*preamble, ""])
    for section in doc.sections:
        if section.header is not None:
            body.extend(render_header(section, ctx))
        base = 1 if section.header is not None else 0
        for item in section.items:
            _emit_new(item, base, plan, ctx, record, added, body)
    text = dump_frontmatter(frontmatter_items(doc)) + "\n".join(body) + "\n"
    return MergeResult(text=text, changed=True, added=tuple(added), record=record)


def _depth_of(line: str) -> int:
    match = BULLET_LINE_RE.match(line)
    indent = match.group(1) if match else ""
    return indent.count("\t") + (len(indent.replace("\t", "")) // 2)


def _note_block(lines: list[str], anchor_line: int) -> tuple[int, int] | None:
    """(first, last) line of the block whose own text ends at ``anchor_line``."""
    for index in range(anchor_line, -1, -1):
        if BULLET_LINE_RE.match(lines[index]):
            return index, anchor_line
    return None


def _unindent(lines: list[str], span: tuple[int, int] | None) -> list[str]:
    if span is None:
        return []
    start, end = span
    first = BULLET_LINE_RE.sub("", lines[start], count=1)
    return [first, *(line.strip() for line in lines[start + 1 : end + 1])]


def _insertion_point(lines: list[str]) -> int:
    """Just after the top-level block holding the last highlight anchor or Readwise header;
    the end of the note when there is none."""
    last = -1
    for index, line in enumerate(lines):
        if ANCHOR_RE.search(line) or (line.startswith("- ") and HEADER_RE.match(line[2:])):
            last = index
    if last < 0:
        return len(lines)
    index = last + 1
    while index < len(lines):
        line = lines[index]
        if line.strip() and line[0] not in " \t":
            break
        index += 1
    # blank lines at the end of the block belong after the insertion
    while index > last + 1 and not lines[index - 1].strip():
        index -= 1
    return index


# --------------------------------------------------------------------------------------
# The one fast path: a new note for a plain Readwise page, straight from its lines


def create_plain(
    text: str, page_name: str, ctx: InlineContext
) -> tuple[Document, MergeResult] | None:
    """``merge_document(None, doc, {}, ctx)`` with ``doc = document_from_page(parse_page(text),
    page_name)``, for the shape of nearly every Readwise page, without building a ``Block``
    or an ``Item`` per highlight; None for any other page (the caller takes the general path).

    The shape (checked line by line; anything else gives None): no ```` ``` ````, ``~~~`` or
    ``#+`` anywhere (so no code or ``#+BEGIN`` block), page properties and text before the
    first bullet, then only
    - ``- HEADER`` lines (``HEADER_RE``: "Highlights first synced by …"),
    - ``\\t- TEXT`` highlight lines after a header,
    - ``\\t\\t- **Note**: …`` / ``**Tags**: …`` lines after a highlight (``ATTRIBUTE_RE``),
    where no bullet line holds ``::`` and the text after ``- `` is not empty and does not
    start with a space or a TAB.

    Why it equals the general path: on such text ``parse_page`` makes the lines before the
    first bullet the preamble, each header a depth-0 ``Block`` of one line and no properties
    (no ``::``; not properties-only, so the page properties are the preamble's), each
    highlight a one-line depth-1 child of the header before it, each attribute line a
    one-line depth-2 child of the highlight before it (no continuation line: every line is a
    bullet; ``BULLET_RE`` gives exactly the text after ``- `` as it does not start with
    whitespace). ``document_from_page`` then sees headers only at the top, so every section
    has a header and its items are the highlights; an attribute line is an attribute
    (``is_attribute``: no children, ``ATTRIBUTE_RE``), so no highlight has other children or
    is a heading. Below, its first pass (location URLs in walk order: header, highlight, its
    attributes, …) and ``make_item``'s identity rules are followed step by step, and
    ``_create``'s rendering with an empty plan: a highlight is emitted unless its id was seen
    or its text is empty, with ``render_own``'s one-line rendering where it applies, else
    ``render_own`` itself on the ``Item`` the general path would have built (the same for an
    attribute and ``render_block_tree``). tests/test_create_plain.py compares both paths on
    generated pages; the returned ``Document`` has the page's names and identity, its page
    properties and preamble, but no blocks and no sections (the note is made already).
    """
    # (each first test is a one-character search: fast; the rare page with it pays more)
    if ("`" in text and "```" in text) or ("~" in text and "~~~" in text):
        return None
    if "+" in text and "#+" in text:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    bullet = BULLET_RE.match
    start = 0
    while start < len(lines) and bullet(lines[start]) is None:
        start += 1
    # One pass over the bullets: the shape, and document_from_page's first pass (every
    # block's location, in walk order: header, highlight, its attributes, next highlight).
    # sections: (header text, line number, index of its first highlight in ``heads``);
    # highlight i: heads[i], numbers[i], spots[i] = (url, label, normalized text), cleans[i],
    # attributes[i] = the (text, line number) of its attribute lines
    sections: list[tuple[str, int, int]] = []
    heads: list[str] = []
    numbers: list[int] = []
    spots: list[tuple[str | None, str | None, str]] = []
    attributes: list[list[tuple[str, int]]] = []
    cleans: list[str] = []  # normalize_text of each highlight's text, location included
    first_text: dict[str, str] = {}
    repeated: set[str] = set()
    urls: list[str] = []
    attribute_match = ATTRIBUTE_RE.match
    header_match = HEADER_RE.match
    split = _split_location
    normalize = normalize_text
    number = start
    for line in lines[start:]:
        number += 1
        if line[:3] == "\t- ":
            head = line[3:]
            if not sections or not head or head[0] in " \t":
                return None
            depth = 1
        elif line[:4] == "\t\t- ":
            head = line[4:]
            if not heads or not head or head[0] in " \t" or not attribute_match(head):
                return None
            depth = 2
        elif line[:2] == "- ":
            head = line[2:]
            if not head or head[0] in " \t" or not header_match(head):
                return None
            depth = 0
        else:
            return None
        colon = head.find(":")
        if colon >= 0 and head[colon + 1 : colon + 2] == ":":
            return None  # may be a property line (PROPERTY_RE: a key without ":", "::")
        if depth == 1:
            url, label, rest = split(head)
            clean = normalize(head)  # what render_own's one-line rendering hashes
            if rest is head:  # no location suffix
                spot_text = clean
            elif clean is head and head.isascii():
                # ASCII text normalize_text leaves as it is has no "\\-" at its start or after
                # whitespace, no whitespace but single spaces between words; ``rest`` is its
                # start, cut before whitespace or "(" and right-stripped, so neither has it
                spot_text = rest
            else:
                spot_text = normalize(rest)
            heads.append(head)
            cleans.append(clean)
            numbers.append(number)
            spots.append((url, label, spot_text))
            attributes.append([])
        else:
            if depth == 2:
                attributes[-1].append((head, number))
            else:
                sections.append((head, number, len(heads)))
            if not head.rstrip().endswith(")"):
                continue  # no location (split's first test, most of these lines)
            url, label, rest = split(head)
            if url is None:
                continue
            spot_text = normalize(rest)
        if url is not None:
            urls.append(url)
            if first_text.setdefault(url, spot_text) != spot_text:
                repeated.add(url)
    if not sections:
        return None

    preamble = lines[:start]
    page = Page(properties=_preamble_properties(preamble), preamble=tuple(preamble), blocks=())
    name, title, category, author, full_title = document_names(page, page_name)

    doc = Document(
        id=document_identity(page, full_title, author, urls),
        page_name=name,
        title=title,
        category=category,
        author=author,
        full_title=full_title,
        page=page,
        sections=(),
    )

    # make_item's identities and _create's rendering (a new note: the plan knows nothing)
    seen: set[str] = set()
    record: dict[str, str] = {}
    added: list[str] = []
    body: list[str] = []
    preamble_text = preamble_body(page, ctx)
    if preamble_text:
        body.extend([*preamble_text, ""])
    sha1 = hashlib.sha1
    ends = [first for _header, _number, first in sections[1:]] + [len(heads)]
    for (header, number, first), end in zip(sections, ends, strict=True):
        header_block = Block(0, "", (header,), (), (), number)
        body.extend(render_header(Section(header_block, ()), ctx))
        for index in range(first, end):
            url, label, item_text = spots[index]
            hid, alternate = highlight_ids(url, label, item_text, repeated)
            if hid in seen or not item_text:
                continue  # a re-synced duplicate or an empty highlight: no item
            seen.add(hid)
            head = heads[index]
            if "^" not in head and "`" not in head and "~" not in head and "[[" not in head:
                # render_own's one-line rendering
                stripped = head.rstrip()
                anchor = anchor_for(hid)
                body.append(f"\t- {stripped} ^{anchor}" if stripped else f"\t- ^{anchor}")
                sha = sha1(cleans[index].encode("utf-8")).hexdigest()
                for attr, at in attributes[index]:
                    if "^" not in attr and "[[" not in attr:  # _block_lines: as it is
                        body.append(f"\t\t- {attr}".rstrip())
                    else:
                        attr_block = Block(2, "\t\t", (attr,), (), (), at)
                        body.extend(render_block_tree(attr_block, 2, ctx))
            else:
                item = Item(
                    hid,
                    Block(1, "\t", (head,), (), (), numbers[index]),
                    tuple(Block(2, "\t\t", (attr,), (), (), at) for attr, at in attributes[index]),
                    (),
                    url,
                    item_text,
                    False,
                    alternate,
                )
                own, sha = render_own(item, 1, ctx)
                body.extend(own)
                body.extend(render_attributes(item, 1, ctx))
            record[hid] = sha
            added.append(hid)
    text = dump_frontmatter(frontmatter_items(doc)) + "\n".join(body) + "\n"
    return doc, MergeResult(text=text, changed=True, added=tuple(added), record=record)
