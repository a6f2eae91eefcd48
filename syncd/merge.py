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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from syncd.convert.context import ConvertContext
from syncd.note import (
    ANCHOR_RE,
    document_context,
    frontmatter_items,
    preamble_body,
    render_attributes,
    render_header,
    render_own,
    render_trailing,
    text_sha,
)
from syncd.readwise import HEADER_RE, Document, Item, anchor_for
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
        self.body_lines = body_lines
        self._texts: frozenset[str] | None = None
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
        self.new = False  # a new note (merge._create): every block goes in

    def _in_note(self, anchor: str) -> bool:
        return anchor in self.anchor_lines or anchor in self.head_anchors

    def knows_block(self, item: Item, first_line: str) -> bool:
        """Whether block ``item`` (not a highlight: no anchor) is in the note already: syncd
        recorded it, or the note holds a line with its text."""
        if item.id in self.seen or self._in_note(item.anchor):
            return True
        if self._texts is None:
            self._texts = frozenset(line.strip() for line in self.body_lines)
        return first_line.strip() in self._texts

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
    existing: str | None, doc: Document, seen: Mapping[str, str], ctx: ConvertContext
) -> MergeResult:
    """Merge ``doc`` into the note text ``existing`` (None: the note does not exist yet)."""
    ctx = document_context(doc, ctx)
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
    ctx: ConvertContext,
    record: dict[str, str],
    added: list[str],
    out: list[str],
    shas: Mapping[int, str] | None = None,
) -> None:
    """Append the lines of ``item`` and its new descendants that the note lacks to ``out``.
    ``shas``: the text hashes of the document's items by ``id(item)``, when known (most of a
    grown page's highlights are in the note already: they need no rendering here)."""
    if item.is_block:
        _emit_block(item, depth, plan, ctx, record, added, out, shas)
        return
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
    if item.trailing:
        out.extend(render_trailing(item, depth, ctx))


def _emit_block(
    item: Item,
    depth: int,
    plan: _Plan,
    ctx: ConvertContext,
    record: dict[str, str],
    added: list[str],
    out: list[str],
    shas: Mapping[int, str] | None,
) -> None:
    """``_emit_new`` of a block that is not a highlight (a ``- -`` group, a user's own block):
    a new note gets it as it is; a note that exists gets it again with new highlights under
    it (a new group), else only when it is not in the note yet (``_Plan.knows_block``)."""
    own, sha = render_own(item, depth, ctx)
    inner: list[str] = []
    if not plan.new:
        for child in item.children:
            _emit_new(child, depth + 1, plan, ctx, record, added, inner, shas)
        if not inner and (item.id in record or plan.knows_block(item, own[0])):
            return
    out.extend(own)
    if item.attributes:
        out.extend(render_attributes(item, depth, ctx))
    record.setdefault(item.id, sha)
    if plan.new:
        for child in item.children:
            _emit_new(child, depth + 1, plan, ctx, record, added, out, shas)
    out.extend(inner)
    if item.trailing:
        out.extend(render_trailing(item, depth, ctx))


def _create(doc: Document, ctx: ConvertContext) -> MergeResult:
    record: dict[str, str] = {}
    added: list[str] = []
    plan = _Plan(doc, [], {})
    plan.new = True
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
    text = dump_frontmatter(frontmatter_items(doc, ctx)) + "\n".join(body) + "\n"
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
