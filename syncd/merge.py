"""Merging a Readwise document into its vault note (pure; design.md "Merge rules").

The note belongs to the user. syncd only ever creates it (rule 1); inserts highlights it never
wrote before, in source order, right after the highlight outline in the note (rule 2);
replaces a highlight's text Readwise changed where the note still holds exactly what syncd
last wrote (rule 5); and brings Readwise's changes to the frontmatter keys it owns and to a
highlight's ``**Note**:``/``**Tags**:`` children, three-way per key and per highlight
(rule 5; ``_merge_frontmatter``, ``_merge_children``). Everything else stays byte for byte
(rules 3, 4); a frontmatter key is edited in its own lines only, never through a YAML
library. A highlight is known by its ``^rw-…`` anchor in the note or by the state's record of
what syncd wrote (``seen``), so merging twice changes nothing (rule 8).

What syncd last wrote is recorded beside the highlights (id -> text hash) under keys no
highlight id has: ``@fm:<key>`` (the hash of the key's lines), ``@kids:<id>`` (``kids_base``
of its attribute children), ``@base`` (the bases are recorded) and ``@prov`` (``<text hash>
<id>`` of a provisional item, "" none). A page's last block without a location link may be
cut by a writer that stopped mid-page: it is written but not seen; once the page has it no
more (it grew and has it whole, under another id), its copy in the note goes where the user
left it as written (``provisional``, ``_hold``, ``_drop_cut``). A state made by syncd 0.1.0
has no bases: they are taken from the note only where it already holds what Readwise has
now; anything else stays as the note holds it (``UNKNOWN``), never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from syncd.convert.context import ConvertContext
from syncd.note import (
    ANCHOR_RE,
    ID_KEY,
    document_context,
    frontmatter_items,
    preamble_body,
    render_attributes,
    render_header,
    render_own,
    render_trailing,
    text_sha,
)
from syncd.readwise import (
    ATTRIBUTE_RE,
    BLOCK_PREFIX,
    HEADER_RE,
    Document,
    Item,
    _split_location,
    anchor_for,
    normalize_text,
)
from syncd.yamlout import Value, dump_key_lines, key_lines, plain_or_quoted

BULLET_LINE_RE = re.compile(r"^([ \t]*)- ")
FRONTMATTER_END_RE = re.compile(r"^---[ \t]*$")

# what syncd last wrote besides highlight texts, in the highlights' mapping (module docstring)
BASE_MARK = "@base"  # the document's bases are recorded (its note was made or adopted by 0.2)
FM_PREFIX = "@fm:"  # + frontmatter key -> hash of the key's lines as syncd wrote them
KIDS_PREFIX = "@kids:"  # + highlight id -> hash of its attribute children as syncd wrote them
PROV_KEY = "@prov"  # "<text hash> <id>" of the provisional item (module docstring); "" none
UNKNOWN = "?"  # a base that cannot be known (a note from before bases): never overwritten
ALIASES_KEY = "aliases"  # names are added to it, never replaced (links to an old name resolve)


@dataclass(slots=True, unsafe_hash=True)
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
        self.doc = doc
        # a highlight's text without its location link -> its anchored line in the note, for
        # a link the page no longer has or one under another link's anchor (built when a
        # highlight is not known otherwise)
        self._relinkable: dict[str, int] | None = None
        self.relinked: dict[str, int] = {}  # item id -> the line it is known at (relink)
        self._shas: frozenset[str] | None = None

    def _in_note(self, anchor: str) -> bool:
        return anchor in self.anchor_lines or anchor in self.head_anchors

    def knows_block(self, item: Item, first_line: str) -> bool:
        """Whether block ``item`` (not a highlight: no anchor) is in the note already: syncd
        recorded it, or the note holds a line with its text."""
        if item.id in self.seen:
            return True
        alt = item.alternate_id  # its id as a highlight, in a note written before issue 12
        if alt is not None and (alt in self.seen or self._in_note(anchor_for(alt))):
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
        if item.location_url is not None and item.text_key:
            # Readwise gave the highlight a new link: the same text, in the note with a link
            # the page no longer has, is this highlight (design.md "Highlight identity")
            line = self._relinkable_lines().get(item.text_key)
            if line is not None:
                self.relinked[item.id] = line
                self.anchor_lines.setdefault(item.anchor, line)
                return item.id
        return None

    def seen_shas(self) -> frozenset[str]:
        """The text hashes syncd recorded for the document's highlights."""
        if self._shas is None:
            self._shas = frozenset(self.seen.values())
        return self._shas

    def _relinkable_lines(self) -> dict[str, int]:
        if self._relinkable is None:
            items = self.doc.items()
            urls = {i.location_url for i in items}
            current = {i.anchor for i in items}  # lines of highlights the page still has
            self._relinkable = {}
            for anchor, line_no in sorted(self.anchor_lines.items(), key=lambda a: a[1]):
                if anchor in current:
                    continue  # (known by its id: never another highlight's line)
                line = ANCHOR_RE.sub("", self.body_lines[line_no])
                url, _label, rest = _split_location(BULLET_LINE_RE.sub("", line, count=1))
                # a link the page has no more, or a new one syncd wrote under the old anchor
                if url is not None and (url not in urls or anchor != anchor_for(f"url:{url}")):
                    self._relinkable.setdefault(normalize_text(rest), line_no)
        return self._relinkable


def merge_document(
    existing: str | None, doc: Document, seen: Mapping[str, str], ctx: ConvertContext
) -> MergeResult:
    """Merge ``doc`` into the note text ``existing`` (None: the note does not exist yet)."""
    ctx = document_context(doc, ctx)
    if existing is None:
        return _create(doc, ctx)
    held = seen.get(PROV_KEY)
    if held:  # the provisional item is known while the page has it
        seen = {**seen, held.partition(" ")[2]: held.partition(" ")[0]}
    head, body = split_frontmatter(existing)
    lines = body.split("\n")
    plan = _Plan(doc, lines, seen, head)
    record: dict[str, str] = {}
    added: list[str] = []
    updated: list[str] = []
    adopted = BASE_MARK in seen  # else a note from before bases (or state lost): adopt them
    if head:
        head = _merge_frontmatter(head, frontmatter_items(doc, ctx), seen, record)

    # rule 5: replace text Readwise changed, where the user left syncd's text alone
    shas: dict[int, str] = {}  # id(item) -> its text hash (render_own's: the same at any depth)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, line after, new lines)
    for item in doc.items():
        own, item_sha = render_own(item, 0, ctx)
        shas[id(item)] = item_sha
        known = plan.known_as(item, item_sha)
        if known is None:
            continue
        line_no = plan.anchor_lines.get(item.anchor if known == item.id else anchor_for(known))
        in_note = _note_block(lines, line_no) if line_no is not None else None
        if in_note is None:
            note_sha = None
        elif in_note[0] == in_note[1] and [lines[in_note[0]].lstrip("\t")] == own == [
            f"- {item.block.lines[0].rstrip()} ^{item.anchor}"
        ]:
            note_sha = item_sha  # the line as syncd writes this text (text_sha: the same)
        else:
            note_sha = text_sha(_unindent(lines, in_note))
        last = seen.get(known)
        if item.id in plan.relinked and in_note is not None:
            # a new link for a highlight: it replaces the old one where the user left the
            # highlight as syncd wrote it (rule 5); the note's anchor stays (links to it)
            start, end = in_note
            record[item.id] = note_sha or item_sha
            if note_sha in plan.seen_shas():
                own = render_own(item, _depth_of(lines[start]), ctx)[0]
                old = ANCHOR_RE.search(lines[end])
                if old is not None:
                    own[-1] = own[-1].replace(item.anchor, old.group(1))
                edits.append((start, end + 1, own))
                updated.append(item.id)
                record[item.id] = item_sha
            continue
        if (
            in_note is not None
            and known == item.id
            and last is not None
            and last != item_sha
            and note_sha == last
        ):
            start, end = in_note
            depth = _depth_of(lines[start])
            edits.append((start, end + 1, render_own(item, depth, ctx)[0]))
            updated.append(item.id)
            record[item.id] = item_sha
        elif last is None:
            # known from its anchor only (state lost or a crash before recording)
            record[known] = note_sha if note_sha is not None else item_sha
        elif known == item.id and last != item_sha and note_sha == item_sha:
            # the note already holds Readwise's new text (written by a run that crashed
            # before recording it): remember it as syncd's, so the next change applies
            record[known] = item_sha
        if in_note is not None and known == item.id:
            # the highlight is the user's once they reworded it: its children too
            own_kept = note_sha is not None and note_sha in (last, item_sha)
            edit = _merge_children(item, lines, in_note, seen, adopted, own_kept, record, ctx)
            if edit is not None:
                edits.append(edit)
                if item.id not in updated:
                    updated.append(item.id)
    if held:
        _drop_cut(doc, held, plan, lines, edits)
    for start, stop, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[start:stop] = replacement
    if not adopted:
        record[BASE_MARK] = "1"  # the bases are known from now on (recorded once)

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
    _hold(doc, record, held)
    return MergeResult(
        text=text,
        changed=text != existing,
        added=tuple(added),
        updated=tuple(updated),
        record=record,
    )


def lines_sha(lines: Sequence[str]) -> str:
    """Edit-detection hash (64 bits: recorded per highlight, so its size counts) of a frontmatter
    key's lines or a highlight's children, each line's surrounding whitespace ignored."""
    text = lines[0].strip() if len(lines) == 1 else "\n".join(line.strip() for line in lines)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]  # (faster than blake2b's 8)


def kids_base(rendered: str, source: str) -> str:
    """``KIDS_PREFIX``'s record of a highlight's attribute children: ``lines_sha`` of the lines
    syncd wrote, then (after ``/``, unless the same) of their Logseq lines (``attribute_source``;
    while that holds, Readwise changed nothing there: they are not rendered to be compared)."""
    return rendered if rendered == source else f"{rendered}/{source}"


def attribute_source(item: Item) -> list[str]:
    """The Logseq lines of ``item``'s attribute children, each block's first line with its
    bullet (so that children written as they are hash as these lines do)."""
    return [line for b in item.attributes for line in (f"- {b.first_line}", *b.lines[1:])]


def new_frontmatter(items: Sequence[tuple[str, Value]]) -> tuple[str, dict[str, str]]:
    """A new note's frontmatter block for ``items``, and what it records: each key's hash
    (``FM_PREFIX``) and ``BASE_MARK``."""
    keys = [key_lines(key, value) for key, value in items]
    bases = {BASE_MARK: "1"}
    for (key, _value), lines in zip(items, keys, strict=True):
        if key != ID_KEY:
            bases[FM_PREFIX + key] = lines_sha(lines)
    return dump_key_lines(keys), bases


def _key_spans(lines: list[str], token: str) -> list[tuple[int, int]]:
    """(first line, line after) of each top-level key ``token`` in the frontmatter ``lines``
    (more than one: the user's YAML, not touched)."""
    found: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        if not line.startswith(token) or line[len(token) : len(token) + 1] != ":":
            continue
        rest = line[len(token) + 1 : len(token) + 2]
        if rest not in ("", " ", "\t"):
            continue
        end = index + 1
        while end < len(lines) and lines[end] and (lines[end][0] in " \t-"):
            end += 1
        found.append((index, end))
    return found


def _alias_names(lines: list[str]) -> list[str] | None:
    """The names of an ``aliases`` key as syncd writes it (a block list); None for any other
    form (the user's: not merged into)."""
    if lines[0] != f"{ALIASES_KEY}:":
        return None
    names: list[str] = []
    for line in lines[1:]:
        if not line.startswith("  - "):
            return None
        raw = line[4:]
        if raw.startswith('"'):
            try:
                name = json.loads(raw)
            except ValueError:
                return None
            if not isinstance(name, str):
                return None
            names.append(name)
        elif plain_or_quoted(raw) == raw:
            names.append(raw)
        else:
            return None
    return names


def _merge_frontmatter(
    head: str, items: Sequence[tuple[str, Value]], seen: Mapping[str, str], record: dict[str, str]
) -> str:
    """Rule 5 for the frontmatter ``head`` (both ``---`` lines): each key syncd owns
    (``items``, but ``syncd-id``) follows Readwise where the note holds what syncd last wrote
    for it, or lacks a key syncd never wrote; a key the user changed or deleted stays so.
    ``aliases`` gets the new names added to it. Only the key's own lines change."""
    lines = head.split("\n")
    if len(lines) < 3 or lines[-1] != "" or not FRONTMATTER_END_RE.match(lines[-2]):
        return head
    body = lines[1:-2]
    adopted = BASE_MARK in seen
    previous: str | None = None  # the key before, where a missing key goes
    for key, value in items:
        if key == ID_KEY:
            continue
        token = plain_or_quoted(key)
        spans = _key_spans(body, token)
        if len(spans) > 1:
            continue  # the key more than once: the user's YAML
        want = key_lines(key, value)
        base = seen.get(FM_PREFIX + key)
        if not spans:
            if base is None and adopted:  # a key Readwise added since: it arrives
                at = _after_key(body, previous)
                body[at:at] = want
                record[FM_PREFIX + key] = lines_sha(want)
                previous = token
            elif base is None:  # a note from before bases: the user deleted it
                record[FM_PREFIX + key] = lines_sha(want)
            continue
        start, stop = spans[0]
        have = body[start:stop]
        have_sha = lines_sha(have)
        if key == ALIASES_KEY and (base == have_sha or base is None):
            names = _alias_names(have)
            if names is not None and isinstance(value, Sequence) and not isinstance(value, str):
                missing = [name for name in value if name not in names]
                if base is not None or not missing:
                    want = key_lines(key, [*names, *missing]) if missing else have
        want_sha = lines_sha(want)
        if have_sha == want_sha:
            if base != want_sha:
                record[FM_PREFIX + key] = want_sha
        elif base == have_sha:  # syncd's own lines: Readwise's change arrives
            body[start:stop] = want
            record[FM_PREFIX + key] = want_sha
        previous = token
    return "\n".join([lines[0], *body, *lines[-2:]])


def _after_key(body: list[str], token: str | None) -> int:
    """Where a missing key goes: after the key syncd writes before it, else before
    ``syncd-id``, else at the end of the frontmatter ``body``."""
    if token is not None:
        spans = _key_spans(body, token)
        if len(spans) == 1:
            return spans[0][1]
    spans = _key_spans(body, ID_KEY)
    return spans[0][0] if len(spans) == 1 else len(body)


def _children_span(lines: list[str], anchor_line: int, depth: int) -> tuple[int, int]:
    """(first line, line after) of the attribute children (``**Note**:``, ``**Tags**:``)
    right below the highlight whose own text ends at ``anchor_line``, at ``depth`` + 1."""
    end = anchor_line + 1
    while end < len(lines):
        match = BULLET_LINE_RE.match(lines[end])
        if match is None or _depth_of(lines[end]) != depth + 1:
            break
        if not ATTRIBUTE_RE.match(lines[end][match.end() :]):
            break
        end += 1
        while (
            end < len(lines)
            and lines[end].strip()
            and lines[end][0] in " \t"
            and not BULLET_LINE_RE.match(lines[end])
        ):
            end += 1  # the attribute's continuation lines
    return anchor_line + 1, end


def _merge_children(
    item: Item,
    lines: list[str],
    block: tuple[int, int],
    seen: Mapping[str, str],
    adopted: bool,
    own_kept: bool,
    record: dict[str, str],
    ctx: ConvertContext,
) -> tuple[int, int, list[str]] | None:
    """Rule 5 for a highlight's attribute children: Readwise's new or changed
    ``**Note**:``/``**Tags**:`` replace the children in the note (``block``: the highlight's
    own lines there) where they are what syncd last wrote (none: nothing written) and the
    user did not reword the highlight (``own_kept``); the edit to make, or None. Readwise
    dropping a note removes nothing."""
    if not item.attributes:
        return None
    key = KIDS_PREFIX + item.id
    source = lines_sha(attribute_source(item))
    recorded = seen.get(key)
    rendered_base, _, source_base = (recorded or "").partition("/")
    source_base = source_base or rendered_base  # (one hash: the same for both)
    if source_base == source:
        return None  # Readwise changed nothing below this highlight since syncd wrote it
    start, anchor_line = block
    depth = _depth_of(lines[start])
    first, stop = _children_span(lines, anchor_line, depth)
    have = lines[first:stop]
    have_sha = lines_sha(have) if have else None
    want = render_attributes(item, depth, ctx)
    want_sha = lines_sha(want)
    if have_sha == want_sha:
        if recorded != (now := kids_base(want_sha, source)):
            record[key] = now
        return None
    if recorded is not None:
        base: str | None = rendered_base
    elif adopted:
        base = None  # syncd wrote no children
    else:
        record[key] = UNKNOWN  # a note from before bases: what it holds is the user's
        return None
    if base != have_sha or not own_kept:
        return None
    record[key] = kids_base(want_sha, source)
    return first, stop, want


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
    record[item.id] = sha
    if item.attributes:
        attributes = render_attributes(item, depth, ctx)
        out.extend(attributes)
        base = kids_base(lines_sha(attributes), lines_sha(attribute_source(item)))
        record[KIDS_PREFIX + item.id] = base
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
    frontmatter, bases = new_frontmatter(frontmatter_items(doc, ctx))
    record.update(bases)
    text = frontmatter + "\n".join(body) + "\n"
    _hold(doc, record, None)
    return MergeResult(text=text, changed=True, added=tuple(added), record=record)


def provisional(doc: Document) -> Item | None:
    """The item ``doc``'s last line belongs to, where a writer that stopped mid-page may have
    cut it: the last item, when the line is its own (no attribute or trailing block after it)
    and it has no location link (a link ends a highlight: Readwise pages end so, and are then
    complete; a cut attribute follows rule 5 as any changed one)."""
    if not doc.sections or not doc.sections[-1].items or not doc.page.blocks:
        return None
    item, block = doc.sections[-1].items[-1], doc.page.blocks[-1]
    while item.children:
        item = item.children[-1]
    while block.children:
        block = block.children[-1]
    return item if item.block is block and item.location_url is None else None


def _hold(doc: Document, record: dict[str, str], held: str | None) -> None:
    """Record the provisional item under ``PROV_KEY`` instead of as seen; the item that was
    provisional (``held``) and is no more becomes seen."""
    cut = provisional(doc)
    if held:
        was = held.partition(" ")[2]
        if cut is None or cut.id != was:
            record[PROV_KEY] = ""
            if any(item.id == was for item in doc.items()):
                record.setdefault(was, held.partition(" ")[0])  # whole after all: seen
    if cut is not None and cut.id in record:
        record[PROV_KEY] = f"{record.pop(cut.id)} {cut.id}"


def _drop_cut(
    doc: Document,
    held: str,
    plan: _Plan,
    lines: list[str],
    edits: list[tuple[int, int, list[str]]],
) -> None:
    """The provisional item ``held`` the page has no more (it was cut: the page grew and has
    it whole, under another id): its copy in the note goes, where the user left it as written
    (an edited one is theirs and stays)."""
    sha, _, was = held.partition(" ")
    if any(item.id == was for item in doc.items()):
        return
    line_no = plan.anchor_lines.get(anchor_for(was))
    if line_no is not None:
        span = _note_block(lines, line_no)
    elif was.startswith(BLOCK_PREFIX):  # a block without an anchor: found by its text
        span = next(
            (s for s in _bullet_blocks(lines) if text_sha(_unindent(lines, s)) == sha), None
        )
    else:
        return
    if span is not None and text_sha(_unindent(lines, span)) == sha:
        edits.append((span[0], span[1] + 1, []))


def _bullet_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line of each block of ``lines`` (a bullet line and the lines continuing
    it), last first."""
    spans: list[tuple[int, int]] = []
    end = len(lines) - 1
    for index in range(len(lines) - 1, -1, -1):
        if BULLET_LINE_RE.match(lines[index]):
            spans.append((index, end))
            end = index - 1
        elif not lines[index].strip() or lines[index][0] not in " \t":
            end = index - 1
    return spans


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
    last = len(lines) - 1  # (from the end: new highlights go there, the last one is near)
    while last >= 0 and not (
        ("^rw-" in (line := lines[last]) and ANCHOR_RE.search(line))
        or (line.startswith("- ") and HEADER_RE.match(line[2:]))
    ):
        last -= 1
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
