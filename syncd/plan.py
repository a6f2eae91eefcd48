"""One page planned: read, hashed, parsed, its facts taken and its note made (no writing).

``plan_page`` is the whole of a page's work before the writer: the engine (``syncd.migrate``)
calls it inline, or its helper processes call it ahead of the engine (``syncd.parallel``), and
both get the same plan. A plan records what it assumed (the bytes' hash, the graph index it
was converted with, the note text and highlights a Readwise page was merged into); the engine
checks that in one place (``syncd.migrate._Run.process``) before it hands the plan to the
writer, and plans the page again inline when it no longer holds.

- A plain page or journal: converted with the index the run started with
  (``pipeline.page.render_page``): the note text and what it depends on.
- A Readwise page: its document, merged into the note text the engine found for it (none for
  a new note): ``Prepared``. Inline, the engine merges the document itself (the writer finds
  the note, merges and writes in one go), so the plan carries the document instead.
- A page of a kind the source does not plan (a plain page or journal of an
  ``include: readwise`` source): its facts only (its name, aliases and block ids go into the
  graph index, so a Readwise note links to it as it would with ``include: all``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.index import JOURNAL, PAGE, READWISE
from syncd.convert.page import page_aliases, page_block_ids, page_uuid
from syncd.convert.report import Unsupported
from syncd.logseq.filenames import journal_date_from_file
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.names import note_stem
from syncd.note import note_folder
from syncd.pagefile import read_page
from syncd.pipeline.page import (
    FoundFile,
    PageWork,
    ParsedPage,
    natural_note,
    page_name,
    readwise_document,
    render_page,
)
from syncd.readwise import (
    Document,
    is_readwise_page,
    unquote_value,
)
from syncd.state import pack_highlights
from syncd.textio import decode_page

Status = Literal["gone", "same", "ok", "error"]


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What every page of a run is planned with: the source's settings and the graph index
    as the run started (a plan made with another index is planned again)."""

    work: PageWork
    index: GraphIndex
    options: ConvertOptions
    inline: InlineContext
    readwise: ConvertContext  # what Readwise notes are rendered with (the same index)


@dataclass(frozen=True, slots=True)
class PlanTask:
    """Plan page ``found``. ``same``: the hash of the bytes the state has facts and a note for
    (equal: nothing to plan). ``existing`` and ``seen``: the note text and recorded highlights
    of Readwise document ``doc_id`` as the engine found them (the page went into that note
    last time); None: a new note."""

    index: int
    found: FoundFile
    same: str | None = None
    doc_id: str | None = None
    existing: str | None = None
    seen: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A Readwise page merged into the note text its task carried: ``merge_document(existing,
    doc, seen)`` where ``existing`` and ``seen`` are the task's when ``hinted`` (its ``doc_id``
    is the document's), else none (a new note). The note text comes as UTF-8 bytes with their
    sha256, and a new note's highlights come packed as the state stores them, so the engine
    neither encodes, hashes nor packs anything."""

    doc_id: str
    title: str
    folder: str  # note_folder(doc)
    stem: str  # syncd.names.note_stem(title): the note's file name, if free
    hinted: bool
    changed: bool  # MergeResult.changed
    data: bytes  # MergeResult.text, UTF-8
    data_sha256: str
    added: int  # len(MergeResult.added)
    updated: int  # len(MergeResult.updated)
    # MergeResult.record: the highlights to record, as a mapping when merged into a note
    # (``hinted``), else packed (syncd.state.pack_highlights; b"" when there are none)
    record: Mapping[str, str] | None
    packed: bytes


@dataclass(frozen=True, slots=True)
class PagePlan:
    """What ``plan_page`` made of one page. ``gone``: no such file; ``same``: the bytes hash
    to the task's ``same``; ``error``: something went wrong in a helper (the engine plans the
    page again inline, which reports it); ``ok``: the page's facts, and for a kind the source
    plans, its note: ``text`` (and what it depends on) for a plain page or journal,
    ``readwise`` (helpers) or ``doc`` (inline) for a Readwise page."""

    index: int
    status: Status
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    kind: str = ""  # PAGE, JOURNAL or READWISE
    name: str = ""
    category: str = ""  # a Readwise page's category:: (its note's folder)
    doc_id: str = ""  # a Readwise page's document identity
    aliases: tuple[str, ...] = ()
    block_ids: tuple[str, ...] = ()
    page_uuid: str = ""
    natural: str = ""  # natural_note(): its note path unless taken ("" if it has none)
    planned: bool = False  # the source plans this kind: text / readwise / doc below
    text: str | None = None
    references: frozenset[str] = frozenset()
    block_refs: frozenset[str] = frozenset()
    assets: frozenset[str] = frozenset()
    unsupported: tuple[Unsupported, ...] = ()
    readwise: Prepared | None = None
    doc: Document | None = None  # inline only: never sent back by a helper


def plan_page(ctx: PlanContext, task: PlanTask, *, merge: bool) -> PagePlan:
    """Plan one page (see the module docstring). ``merge``: merge a Readwise document into
    the task's note text here (helpers) instead of leaving the document to the engine
    (inline). Raises what reading, decoding, parsing or naming the page raises."""
    work = ctx.work
    found = task.found
    path = found.path
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
        day = journal_date_from_file(path.stem, work.graph.journal_file_format)
    page = parse_page(text)
    name, day = page_name(work, found, page)
    kind = JOURNAL if day is not None else READWISE if is_readwise_page(page) else PAGE
    category = doc_id = ""
    doc: Document | None = None
    if kind == READWISE:
        category = unquote_value(page.property_value("category") or "")
        doc = readwise_document(page, path, work.graph.file_name_format)
        doc_id = str(doc.id)
    parsed = ParsedPage(
        text=text,
        page=page,
        kind=kind,
        aliases=tuple(page_aliases(page, work.graph)),
        block_ids=tuple(dict.fromkeys(b.lower() for b in page_block_ids(page, text))),
        page_uuid=page_uuid(page) or "",
    )
    try:
        natural = natural_note(work, found.key, kind, name, category)
    except ValueError:
        natural = ""  # the engine asks again and reports it
    plan = PagePlan(
        task.index,
        "ok",
        size,
        mtime_ns,
        digest,
        kind,
        name,
        category,
        doc_id,
        parsed.aliases,
        parsed.block_ids,
        parsed.page_uuid,
        natural,
    )
    if kind not in work.kinds:
        return plan
    if doc is not None:
        names, uuids = referenced(text)
        if not merge:
            return _with(plan, doc=doc, references=names, block_refs=uuids)
        prepared = prepare_document(doc, ctx.readwise, task.doc_id, task.existing, task.seen)
        return _with(plan, readwise=prepared, references=names, block_refs=uuids)
    converted, note_text = render_page(work, ctx.index, ctx.options, ctx.inline, name, parsed)
    return _with(
        plan,
        text=note_text,
        references=converted.references,
        block_refs=converted.block_refs,
        assets=converted.assets,
        unsupported=converted.unsupported,
    )


def _with(plan: PagePlan, **planned: Any) -> PagePlan:
    """``plan`` with its note (the fields in ``planned``)."""
    return replace(plan, planned=True, **planned)


_NAME_REF_RE = re.compile(r"\[\[([^\[\]\n]+?)\]\]")
_BLOCK_REF_RE = re.compile(r"\(\(([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})\)\)")


def referenced(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The page names (``[[name]]``, ``#[[name]]``) and block uuids (``((uuid))``) a Readwise
    page's text refers to, anywhere: what its note may depend on in the graph index (a
    superset: a reference inside code counts too)."""
    names = frozenset(_NAME_REF_RE.findall(text)) if "[[" in text else frozenset()
    uuids = (
        frozenset(u.lower() for u in _BLOCK_REF_RE.findall(text)) if "((" in text else frozenset()
    )
    return names, uuids


def prepare_document(
    doc: Document,
    ctx: ConvertContext,
    doc_id: str | None,
    existing: str | None,
    seen: Mapping[str, str] | None,
) -> Prepared:
    """``doc`` merged into note text ``existing`` with recorded highlights ``seen`` (what the
    engine found for document ``doc_id`` when it handed the page out) when ``doc_id`` is this
    document's (``hinted``), else a new note."""
    hinted = existing is not None and doc_id == doc.id
    if not hinted:
        existing = None
    result = merge_document(existing, doc, (seen or {}) if hinted else {}, ctx)
    text = result.text.encode("utf-8")
    return Prepared(
        doc_id=str(doc.id),
        title=doc.title,
        folder=note_folder(doc),
        stem=note_stem(doc.title),
        hinted=hinted,
        changed=result.changed,
        data=text,
        data_sha256=hashlib.sha256(text).hexdigest(),
        added=len(result.added),
        updated=len(result.updated),
        # a new note's highlights go to the state as they are: packed here, once
        record=result.record if hinted else None,
        packed=pack_highlights(result.record) if result.record and not hinted else b"",
    )
