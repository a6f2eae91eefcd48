"""One page planned: read, hashed, parsed, its facts taken and its note made (no writing).

``plan_page`` is a page's whole work before the writer. The engine (``syncd.migrate``) calls
it through the executor (``syncd.parallel``: inline or ahead of it in helpers); both get the
same plan. A plan records what it assumed (the bytes' hash, the graph index, the note text
and highlights a Readwise page was merged into); the engine checks that in one place
(``_Run.process``) and plans the page again inline when it no longer holds.

- A plain page or journal: converted with the run's starting index, its note text and what
  it depends on.
- A Readwise page: its document merged into the note text the engine found (none: a new
  note), ``Prepared``; inline, the plan carries the document and the writer merges it.
- A page of a kind the source does not plan: its facts only (its names and block ids go into
  the graph index, so a Readwise note links to it as it would with ``include: all``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.index import JOURNAL, PAGE, READWISE, deps_of
from syncd.convert.inline import may_rewrite
from syncd.convert.page import (
    convert_page,
    page_aliases,
    page_block_ids,
    page_uuid,
    render_note,
)
from syncd.convert.report import Unsupported
from syncd.errors import SyncdError
from syncd.logseq.filenames import journal_date_from_file, page_name_from_file
from syncd.logseq.model import Block, Page
from syncd.logseq.parser import BULLET_RE, page_head, page_properties, parse_page, preamble_end
from syncd.merge import (
    KIDS_PREFIX,
    MergeResult,
    kids_base,
    lines_sha,
    merge_document,
    new_frontmatter,
)
from syncd.names import note_stem
from syncd.note import (
    frontmatter_items,
    links_only,
    preamble_body,
    render_attributes,
    render_block_tree,
    render_header,
    render_own,
    renders_as_is,
)
from syncd.pagefile import read_page
from syncd.pipeline.page import (
    FoundFile,
    PageWork,
    Sent,
    natural_note,
    page_name,
    page_place,
)
from syncd.readwise import (
    HEADER_RE,
    Document,
    Item,
    Section,
    _split_location,
    anchor_for,
    attribute_line,
    category_folder,
    document_from_page,
    highlight_ids,
    is_readwise_page,
    is_separator,
    is_syncd_note,
    may_look_like_readwise,
    named_document,
    normalize_text,
    not_taken_reason,
)
from syncd.state import pack_highlights, unpack_highlights
from syncd.textio import decode_page

Status = Literal["gone", "same", "ok", "error", "unfinished"]


@dataclass(slots=True, unsafe_hash=True)
class PlanContext:
    """What every page of a run is planned with: the source's settings and the graph index
    as the run started (a plan made with another index is planned again)."""

    work: PageWork
    index: GraphIndex
    options: ConvertOptions
    inline: InlineContext
    readwise: ConvertContext  # what Readwise notes are rendered with (the same index)


@dataclass(slots=True, unsafe_hash=True)
class PlanTask(Sent):
    """Plan page ``found``. ``same``: the hash of the bytes the state has facts and a note for
    (equal: nothing to plan). ``existing``, ``seen``: the note text and recorded highlights
    (packed) of Readwise document ``doc_id`` the page went into last time; None: a new note."""

    index: int
    found: FoundFile
    same: str | None = None
    doc_id: str | None = None
    existing: str | None = None
    seen: bytes | None = None


@dataclass(slots=True, unsafe_hash=True)
class Prepared(Sent):
    """A Readwise page merged into the note text its task carried when ``hinted`` (its
    ``doc_id`` is the document's), else into none (a new note): the text as UTF-8 bytes with
    their sha256 and the highlights packed, so the engine neither encodes, hashes nor packs."""

    doc_id: str
    title: str
    folder: str  # category_folder(doc.category)
    stem: str  # syncd.names.note_stem(title): the note's file name, if free
    hinted: bool
    changed: bool  # MergeResult.changed
    data: bytes  # MergeResult.text, UTF-8
    data_sha256: str
    added: int  # len(MergeResult.added)
    updated: int  # len(MergeResult.updated)
    # the highlights to record, packed (syncd.state.pack_highlights; b"" when none are new):
    # a new note's MergeResult.record, or (``hinted``) the task's ``seen`` updated with it,
    # the whole set, which the state writes as it is while it still holds ``seen``
    packed: bytes


@dataclass(slots=True, unsafe_hash=True)
class PagePlan(Sent):
    """What ``plan_page`` made of one page: ``gone`` (no such file), ``same`` (the bytes hash
    to the task's ``same``), ``error`` (the engine plans it again inline, which reports it),
    ``unfinished`` (a Readwise page that ends inside its properties: its identity may be
    cut), or ``ok``: its facts and, for a kind the source plans, its note (``text``;
    ``readwise`` merged, or ``doc`` left to the writer)."""

    index: int
    status: Status
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    kind: str = ""  # PAGE, JOURNAL or READWISE
    name: str = ""
    category: str = ""  # a Readwise page's Document.category (its note's folder)
    doc_id: str = ""  # a Readwise page's document identity
    aliases: tuple[str, ...] = ()
    block_ids: tuple[str, ...] = ()
    page_uuid: str = ""
    natural: str = ""  # natural_note(): its note path unless taken ("" if it has none)
    planned: bool = False  # the source plans this kind: text / readwise / doc below
    text: str | None = None
    # what its note depends on in the graph index ("n:", "b:", "a:" keys: convert.index)
    deps: tuple[str, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    dropped: tuple[tuple[str, int], ...] = ()  # ConvertedNote.dropped
    readwise: Prepared | None = None
    doc: Document | None = None  # only without ``merge``: never sent between processes
    not_taken: str = ""  # a page that looks like a Readwise page but is not one: why


def plan_page(ctx: PlanContext, task: PlanTask, *, merge: bool) -> PagePlan:
    """Plan one page (see the module docstring). ``merge``: merge a Readwise document into
    the task's note text here instead of leaving the document to the engine
    (inline). Raises what reading, decoding, parsing or naming the page raises."""
    work = ctx.work
    found = task.found
    path = found.abspath  # (a str: no Path built per page)
    got = read_page(path, work.max_page_bytes)
    if got is None:
        return PagePlan(task.index, "gone")
    data, st = got
    digest = hashlib.sha256(data).hexdigest()
    size, mtime_ns = st.st_size, st.st_mtime_ns
    if digest == task.same:
        return PagePlan(task.index, "same", size, mtime_ns, digest)
    text = decode_page(data, path, repair_mojibake=work.repair_mojibake)
    day = None
    if found.kind == JOURNAL:
        day = journal_date_from_file(found.stem, work.graph.journal_file_format)
    elif merge and task.existing is None and READWISE in work.kinds:
        # the usual first sync of a Readwise page: its new note straight from its lines
        made = _plan_new_plain_note(ctx, task, text, size, mtime_ns, digest)
        if made is not None:
            return made
    looks = day is None and may_look_like_readwise(text)  # (False: no Readwise page, for sure)
    # a page of a kind the source makes no note of: its facts alone (page_head where it can)
    bare = not looks and (PAGE if day is None else JOURNAL) not in work.kinds
    page = (page_head(text) if bare else None) or parse_page(text)
    name, day = page_name(work, found, page)
    kind = READWISE if looks and is_readwise_page(page, name) else PAGE if day is None else JOURNAL
    category = doc_id = not_taken = ""
    if kind == PAGE and looks:
        not_taken = not_taken_reason(page, name) or ""
    doc: Document | None = None
    if kind == READWISE:
        if not page.blocks and text[-1:] != "\n":
            # the page ends inside its properties: a writer is still at it (its identity
            # from a cut url:: or title:: would make a second note); read when it changes
            return PagePlan(task.index, "unfinished", size, mtime_ns, digest)
        doc = document_from_page(page, page_name_from_file(found.stem, work.graph.file_name_format))
        category = doc.category
        doc_id = str(doc.id)
    aliases = tuple(page_aliases(page, work.graph))
    block_ids = tuple(dict.fromkeys(b.lower() for b in page_block_ids(page, text)))
    try:
        natural = natural_note(work, found.key, kind, name, category)
    except ValueError:
        natural = ""  # the engine asks again and reports it
    facts = (kind, name, category, doc_id, aliases, block_ids, page_uuid(page) or "")
    plan = PagePlan(task.index, "ok", size, mtime_ns, digest, *facts, natural, not_taken=not_taken)
    if kind not in work.kinds:
        return plan
    if doc is not None:
        deps = deps_of(*referenced(text), (), "", ())
        if not merge:
            return replace(plan, planned=True, doc=doc, deps=deps)
        prepared = prepare_document(
            doc, ctx.readwise, task.doc_id, task.existing, task.seen, work.readwise_folders, name
        )
        return replace(plan, planned=True, readwise=prepared, deps=deps)
    rules = ConvertContext(work.graph, ctx.index, ctx.options, ctx.inline, name)
    converted = convert_page(page, rules, text)
    note_text = render_note(converted)
    return replace(
        plan,
        planned=True,
        text=note_text,
        deps=deps_of(converted.references, converted.block_refs, converted.assets, name, aliases),
        unsupported=converted.unsupported,
        dropped=converted.dropped,
    )


def _plan_new_plain_note(
    ctx: PlanContext,
    task: PlanTask,
    text: str,
    size: int,
    mtime_ns: int,
    digest: str,
) -> PagePlan | None:
    """``plan_page`` of a Readwise page of ``_plain_new_note``'s shape that gets a new note
    (None: another page). Its aliases and uuid come from the page properties alone; the shape
    has no block ids (no bullet holds ``::``). tests/test_plan.py checks it."""
    work = ctx.work
    found = task.found
    made = _plain_new_note(
        text, page_name_from_file(found.stem, work.graph.file_name_format), ctx.readwise
    )
    if made is None:
        return None
    doc, result = made
    name = page_name(work, found, doc.page)[0]
    if name.casefold() == "readwise":
        return None  # never a document (is_readwise_page)
    category = doc.category
    aliases, uuid = tuple(page_aliases(doc.page, work.graph)), page_uuid(doc.page) or ""
    facts = (READWISE, name, category, str(doc.id), aliases, (), uuid)  # (no bullet has an id::)
    natural = natural_note(work, found.key, READWISE, name, category)
    deps = deps_of(*referenced(text, blocks=False), (), "", ())  # (the shape has no "((")
    prepared = _prepared(doc, result, work.readwise_folders, name)
    rest = (size, mtime_ns, digest, *facts, natural)
    return PagePlan(task.index, "ok", *rest, planned=True, deps=deps, readwise=prepared)


_NAME_REF_RE = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_BLOCK_REF_RE = re.compile(r"\(\(([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})\)\)")
_PARENS_RE = re.compile(r"\(\(")  # (a search for it is faster than "((" in text)


def referenced(text: str, blocks: bool = True) -> tuple[frozenset[str], frozenset[str]]:
    """The page names (``[[name]]``, ``#[[name]]``) and block uuids (``((uuid))``) a Readwise
    page's text refers to, anywhere: what its note may depend on in the graph index (a
    superset: code counts too); ``blocks`` False: the names alone."""
    names = frozenset(_NAME_REF_RE.findall(text)) if "[[" in text else frozenset()
    uuids = _BLOCK_REF_RE.findall(text) if blocks else ()
    return names, frozenset(u.lower() for u in uuids)


def prepare_document(
    doc: Document,
    ctx: ConvertContext,
    doc_id: str | None,
    existing: str | None,
    seen: bytes | None,
    readwise_folders: bool = True,
    name: str = "",
) -> Prepared:
    """``doc`` merged into note text ``existing`` with recorded highlights ``seen`` (packed;
    what the engine found for document ``doc_id`` when it handed the page out) when ``doc_id``
    is this document's (``hinted``), else a new note."""
    hinted = existing is not None and doc_id == doc.id
    try:
        known = unpack_highlights(seen) if hinted and seen else {}
    except ValueError as exc:
        reason = f"state database error: the highlights of {doc_id} are unreadable ({exc})"
        raise SyncdError(reason) from exc
    result = merge_document(existing if hinted else None, doc, known, ctx)
    record = {**known, **result.record} if hinted and result.record else result.record
    return _prepared(doc, result, readwise_folders, name, hinted, record)


def _prepared(
    doc: Document,
    result: MergeResult,
    readwise_folders: bool,
    name: str,
    hinted: bool = False,
    record: Mapping[str, str] | None = None,
) -> Prepared:
    """The ``Prepared`` of ``doc`` merged (``result``); its note goes into the category
    folder (``readwise_folders``) or keeps the page's ``name`` (include: all)."""
    if readwise_folders:
        folder, stem = category_folder(doc.category), note_stem(doc.title)
    else:
        folder, stem = page_place(name)
    record = result.record if record is None else record
    data = result.text.encode("utf-8")
    return Prepared(
        doc_id=str(doc.id),
        title=doc.title,
        folder=folder,
        stem=stem,
        hinted=hinted,
        changed=result.changed,
        data=data,
        data_sha256=hashlib.sha256(data).hexdigest(),
        added=len(result.added),
        updated=len(result.updated),
        # the highlights go to the state as they are: packed here, once
        packed=pack_highlights(record) if record else b"",
    )


def _plain_new_note(
    text: str, page_name: str, ctx: ConvertContext
) -> tuple[Document, MergeResult] | None:
    """``plan_page``'s fast path for a Readwise page that gets a new note:
    ``merge_document(None, doc, {}, ctx)`` with ``doc = document_from_page(parse_page(text),
    page_name)``, without building a ``Block`` or an ``Item`` per highlight, for the shape of
    nearly every Readwise page; None for any other page (the general path plans it).

    The shape (checked line by line): no ```` ``` ````, ``~~~``, ``#+`` or ``((`` anywhere,
    page properties (``page_properties``, as ``parse_page`` reads them: a YAML front matter
    too) and text but no ``# heading`` before the first bullet, then only ``- HEADER`` lines
    (``HEADER_RE``), ``\t- TEXT`` highlights after a header and ``\t\t- **Note**: …`` /
    ``**Tags**: …`` lines after a highlight (``ATTRIBUTE_RE``); no bullet holds ``::``, and
    the text after ``- `` is neither empty nor starts with whitespace. On it ``parse_page``
    gives one-line blocks without properties (headers at depth 0, highlights their children,
    attributes theirs), so ``document_from_page``'s first pass (locations in walk order),
    ``make_item``'s identities and ``merge._create``'s rendering are followed step by step
    below. The returned ``Document`` has the page's names, identity, properties and
    preamble, but no sections. Equivalence test: tests/test_plan.py (generated pages).
    """
    # (each first test is a one-character search: fast; the rare page with it pays more)
    if ("`" in text and "```" in text) or ("~" in text and "~~~" in text):
        return None
    if ("+" in text and "#+" in text) or _PARENS_RE.search(text):
        return None  # (a "((" block ref: maybe a user's block of refs, which is no highlight)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    start, at = preamble_end(lines)
    if start < len(lines) and BULLET_RE.match(lines[start]) is None:
        return None  # an unbulleted heading starts a block (parse_page): no preamble
    quiet = links_only(text, at)  # (the bullets' text)
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
    header_match = HEADER_RE.match
    split = _split_location
    normalize = normalize_text
    number = start
    for line in lines[start:]:
        number += 1
        if line[:3] == "\t- ":
            head = line[3:]
            if not sections or not head or head[0] in " \t" or attribute_line(head):
                return None  # (an attribute line there goes with the highlight before it)
            depth = 1
        elif line[:4] == "\t\t- ":
            head = line[4:]
            if not heads or not head or head[0] in " \t" or not attribute_line(head):
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
            if is_separator(spot_text):
                return None  # a location link alone, a ``- -`` group: not a plain highlight
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
    if numbers and numbers[-1] == len(lines) and spots[-1][0] is None:
        return None  # its last highlight may be cut (merge.provisional): the general path

    preamble = lines[:start]
    front, properties = page_properties(preamble)
    page = Page(properties=properties, preamble=tuple(preamble), blocks=(), front_matter=front)
    if is_syncd_note(page):
        return None  # a note syncd wrote: never a source (is_readwise_page)
    doc = named_document(page, page_name, urls, ())

    # make_item's identities and merge._create's rendering (a new note: the plan knows nothing)
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
            if ("[[" not in head) if quiet else renders_as_is(head):
                # render_own's one-line rendering
                stripped = head.rstrip()
                anchor = anchor_for(hid)
                body.append(f"\t- {stripped} ^{anchor}" if stripped else f"\t- ^{anchor}")
                sha = sha1(cleans[index].encode("utf-8")).hexdigest()
                kids, as_is = len(body), True
                for attr, at in attributes[index]:
                    # (_block_lines: as it is)
                    if ("[[" not in attr) if quiet else ("^" not in attr and not may_rewrite(attr)):
                        body.append(f"\t\t- {attr}".rstrip())
                    else:
                        as_is = False
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
                kids, as_is = len(body), False
                body.extend(render_attributes(item, 1, ctx))
            record[hid] = sha
            if attributes[index]:  # merge._emit_new's base of the highlight's children
                source = lines_sha([f"- {a}" for a, _at in attributes[index]])  # attribute_source
                written = source if as_is else lines_sha(body[kids:])  # (as is: the same)
                record[KIDS_PREFIX + hid] = kids_base(written, source)
            added.append(hid)
    frontmatter, bases = new_frontmatter(frontmatter_items(doc, ctx))
    record.update(bases)
    text = frontmatter + "\n".join(body) + "\n"
    return doc, MergeResult(text=text, changed=True, added=tuple(added), record=record)
