"""Readwise pages prepared ahead of the engine in helper processes (bulk scans).

syncd has one writer: the engine (``syncd.sync``) in the main process. When a scan finds many
pages to read, helper processes do the pure work ahead of it, in page order: read the page,
hash it, decode and parse it, make the Readwise document, and merge it into the note text the
engine expects to find (none for a new note). The engine takes the results in order and checks
every assumption before it uses one: the note's text as it reads it now, the highlights the
state records, no earlier page of the run holding the same document, no failure. When any
differs it does the page itself, exactly as without helpers. Helpers never write anything:
not a note, not the state.

The helpers are a ``syncd.helper_pool.HelperPool`` (forked, at most ``WINDOW`` tasks in
flight, dying with their parent). Results are small (the note text as bytes and a few
names), and a scan's tasks are ``CHUNK`` bundles of ``BUNDLE`` pages (``ScanHelpers``; a
graph migration's: ``syncd.migrate_helpers.CHUNK`` pages), so memory stays bounded however
large the graph is.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from syncd.convert.context import ConvertContext
from syncd.helper_pool import HelperPool
from syncd.logseq.filenames import page_name_from_file
from syncd.logseq.parser import parse_page
from syncd.merge import merge_document
from syncd.names import check_title, note_stem
from syncd.note import note_folder
from syncd.pagefile import read_page
from syncd.readwise import (
    Document,
    could_be_readwise_page,
    document_from_page,
    is_readwise_page,
)
from syncd.state import pack_highlights
from syncd.textio import decode_page

Kind = Literal["gone", "same", "other", "readwise", "error"]


@dataclass(frozen=True, slots=True)
class SourceParams:
    """What a helper needs to know about the source of a page."""

    file_name_format: str
    ctx: ConvertContext  # syncd.convert.context.readwise_context
    max_page_bytes: int
    repair_mojibake: bool


@dataclass(frozen=True, slots=True)
class PageTask:
    """One page to prepare. ``existing`` and ``seen`` are the note text and recorded
    highlights of document ``doc_id`` as the engine found them when it handed the page out
    (the page went into that document last time); None: prepare a new note."""

    index: int  # position in the engine's work list
    path: str
    previous_sha: str | None  # the page's hash in the state: equal means unchanged
    doc_id: str | None = None
    existing: str | None = None
    seen: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A helper's result. ``gone``: no such file; ``same``: bytes unchanged; ``other``: not a
    Readwise page; ``error``: anything went wrong (the engine redoes the page and reports).

    For ``readwise``, the fields after ``hinted`` describe ``merge_document(existing, doc,
    seen)``, where ``existing`` and ``seen`` are the task's when ``hinted`` (its ``doc_id`` is
    the document's), else none (a new note): the note text as UTF-8 bytes with their sha256
    and the highlights to record, packed as the state stores them for a new note, so the
    engine neither encodes, hashes nor packs anything. The engine kept the task's
    ``existing`` and ``seen`` itself: they do not travel back.
    """

    index: int
    kind: Kind
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    doc_id: str = ""
    title: str = ""
    folder: str = ""  # note_folder(doc)
    stem: str = ""  # syncd.names.note_stem(title): the note's file name, if free
    hinted: bool = False
    changed: bool = False  # MergeResult.changed
    data: bytes = b""  # MergeResult.text, UTF-8
    data_sha256: str = ""
    added: int = 0  # len(MergeResult.added)
    updated: int = 0  # len(MergeResult.updated)
    # MergeResult.record: the highlights to record, as a mapping when merged into a note
    # (``hinted``), else packed (syncd.state.pack_highlights; b"" when there are none)
    record: Mapping[str, str] | None = None
    packed: bytes = b""


def prepare_pages(params: SourceParams, tasks: list[PageTask]) -> list[Prepared]:
    """Run in a helper: prepare each page (pure apart from reading the page)."""
    return [prepare_page(params, task) for task in tasks]


def prepare_page(params: SourceParams, task: PageTask) -> Prepared:
    path = Path(task.path)
    try:
        read = read_page(path, params.max_page_bytes)
        if read is None:
            return Prepared(task.index, "gone")
        data, st = read
        digest = hashlib.sha256(data).hexdigest()
        size, mtime_ns = len(data), st.st_mtime_ns
        if digest == task.previous_sha:
            return Prepared(task.index, "same", size, mtime_ns, digest)
        text = decode_page(data, path, repair_mojibake=params.repair_mojibake)
        page_name = page_name_from_file(path.stem, params.file_name_format)
        if not could_be_readwise_page(text):  # most plain pages: no parse needed
            return Prepared(task.index, "other", size, mtime_ns, digest)
        page = parse_page(text)
        if not is_readwise_page(page):
            return Prepared(task.index, "other", size, mtime_ns, digest)
        doc = document_from_page(page, page_name)
        check_title(doc.title, path)
        return prepare_document(
            task.index,
            size,
            mtime_ns,
            digest,
            doc,
            params.ctx,
            task.doc_id,
            task.existing,
            task.seen,
        )
    except Exception:  # the engine redoes the page itself and reports what is wrong
        return Prepared(task.index, "error")


def prepare_document(
    index: int,
    size: int,
    mtime_ns: int,
    digest: str,
    doc: Document,
    ctx: ConvertContext,
    doc_id: str | None,
    existing: str | None,
    seen: Mapping[str, str] | None,
) -> Prepared:
    """The ``readwise`` result of a page (``size``, ``mtime_ns``, hash ``digest``) holding
    ``doc``: merged into note text ``existing`` with recorded highlights ``seen`` (what the
    engine found for document ``doc_id`` when it handed the page out) when ``doc_id`` is
    this document's (``hinted``), else a new note. A graph migration's helpers
    (syncd.migrate_helpers) make their Readwise pages' results here too, so the engine
    finishes both the same way (``SyncEngine._finish_readwise``)."""
    hinted = existing is not None and doc_id == doc.id
    if not hinted:
        existing = None
    result = merge_document(existing, doc, (seen or {}) if hinted else {}, ctx)
    text = result.text.encode("utf-8")
    return Prepared(
        index,
        "readwise",
        size,
        mtime_ns,
        digest,
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


# pages per task of ScanHelpers: a helper gets syncd.helper_pool.CHUNK bundles (32 pages) at once
BUNDLE = 4


@dataclass(frozen=True, slots=True)
class PreparedBundle:
    """The results of a bundle of pages; ``index``: its first page's."""

    index: int
    pages: tuple[Prepared, ...]


def prepare_bundles(
    params: SourceParams, bundles: list[tuple[PageTask, ...]]
) -> list[PreparedBundle]:
    """Run in a helper: ``prepare_pages`` on each bundle."""
    return [PreparedBundle(b[0].index, tuple(prepare_pages(params, list(b)))) for b in bundles]


class ScanHelpers:
    """The helpers of a scan of Readwise pages: a ``HelperPool`` running ``prepare_pages`` on
    ``BUNDLE`` pages in each task; ``take(index)`` per page, ``close``, ``handed_out`` and
    ``used`` as there.

    Every exchange with a helper costs the main process a future, pickling and two threads
    handing it over (a fraction of a millisecond, in the process that must keep up with
    both helpers); bundles make each exchange carry ``CHUNK * BUNDLE`` pages instead of
    ``CHUNK`` (``syncd.helper_pool.CHUNK``: the pool's tasks per exchange). ``groups``
    gives, for each task ``tasks`` yields (same order), its work index and a key of its
    source (tasks of one source share their ``SourceParams``): a bundle holds consecutive
    tasks of one source, so the bundle of every page is known up front.
    """

    def __init__(
        self,
        count: int,
        tasks: Iterator[tuple[SourceParams, PageTask]],
        groups: list[tuple[int, int]],
    ) -> None:
        self._first: dict[int, int] = {}  # work index -> the first index of its bundle
        sizes: list[int] = []
        first = previous = -1
        for index, group in groups:
            if sizes and group == previous and sizes[-1] < BUNDLE:
                sizes[-1] += 1
            else:
                sizes.append(1)
                first = index
            self._first[index] = first
            previous = group
        self._pool: HelperPool[SourceParams, tuple[PageTask, ...], PreparedBundle] = HelperPool(
            count, _bundled(tasks, sizes), prepare_bundles
        )
        self._held: dict[int, Prepared] = {}  # the rest of the bundle taken last
        self.handed_out = 0  # results received
        self.used = 0  # results the engine used (it counts them)

    def take(self, index: int) -> Prepared | None:
        """The result for work item ``index``, or None (not handed out, helpers failed)."""
        held = self._held.pop(index, None)
        if held is not None:
            return held
        first = self._first.get(index)
        if first is None:
            return None
        bundle = self._pool.take(first)
        if bundle is None:
            return None
        self.handed_out += len(bundle.pages)
        self._held = {prepared.index: prepared for prepared in bundle.pages}
        return self._held.pop(index, None)

    def close(self) -> None:
        self._pool.close()
        self._held = {}


def _bundled(
    tasks: Iterator[tuple[SourceParams, PageTask]], sizes: list[int]
) -> Iterator[tuple[SourceParams, tuple[PageTask, ...]]]:
    """``tasks`` in bundles of the given sizes (each of one source)."""
    for size in sizes:
        items = list(itertools.islice(tasks, size))
        if not items:
            return
        yield items[0][0], tuple(task for _, task in items)
