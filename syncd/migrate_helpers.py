"""A graph migration's pages read, scanned and converted in helper processes (bulk runs).

``syncd.migrate`` reads every changed page twice: pass 1 for its index facts, pass 2 to convert
it with the index of the whole graph. Both are pure work on one page at a time, so when a run
has many pages, helper processes (``syncd.helper_pool.HelperPool``) do it ahead of the main
process, in the order it takes the pages:

- pass 1: read the page, hash it, ``scan_page`` (the page's facts, no state, no vault);
- pass 2: forked once the index is complete, so they inherit it: read the page, hash it,
  ``parse_full``, then ``render_page`` for a plain page or journal, or for a Readwise page the
  document merged into the note text the main process expects to find (none for a new note).

The main process stays the only writer and checks every assumption before it uses a result
(``syncd.migrate._Run.scan`` and ``use_prepared``, ``SyncEngine.sync_prepared_readwise_page``):
the same bytes as pass 1, the same kind, the same index, the same note text and highlights.
When one does not hold, or the helper failed, it does the page itself exactly as without
helpers. The functions doing the work are the very ones the main process calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

from syncd.convert.context import ConvertContext, ConvertOptions, GraphIndex, InlineContext
from syncd.convert.report import Unsupported
from syncd.helper_pool import HelperPool
from syncd.logseq.filenames import page_name_from_file
from syncd.migrate import (
    READWISE,
    FoundFile,
    PageScan,
    PageWork,
    parse_full,
    render_page,
    scan_page,
)
from syncd.names import check_title
from syncd.pagefile import read_page
from syncd.prepare import Prepared, prepare_document
from syncd.readwise import document_from_page

T = TypeVar("T", "ScanTask", "ConvertTask")
R = TypeVar("R", "Scanned", "Converted")

# Pages per exchange with a helper: each costs the main process, which must keep up with
# both helpers, a future, pickling and a hand-over between threads (~0.3 ms); a scan's
# helpers get as many (syncd.prepare.ScanHelpers: syncd.helper_pool.CHUNK bundles of
# syncd.prepare.BUNDLE pages).
CHUNK = 32

# What the helpers inherited from the main process when they were forked (set by ``start``'s
# setup in each helper; never in the main process).
_inherited: object = None


def start(
    count: int,
    tasks: Iterator[tuple[None, T]],
    work: Callable[[None, list[T]], list[R]],
    context: object,
) -> HelperPool[None, T, R] | None:
    """Start ``count`` helpers running ``work`` on ``tasks`` with ``context`` (inherited, not
    sent); None when helpers cannot start (the main process then does every page)."""

    def setup() -> None:
        global _inherited
        _inherited = context

    try:
        return HelperPool(count, tasks, work, setup, CHUNK)
    except (RuntimeError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------------- pass 1


@dataclass(frozen=True, slots=True)
class ScanTask:
    """Scan page ``found``; ``same``: the hash of the bytes the state has facts and a note
    for (equal: nothing to scan)."""

    index: int
    found: FoundFile
    same: str | None


@dataclass(frozen=True, slots=True)
class Scanned:
    """``gone``: no such file; ``same``: the bytes hash to ``ScanTask.same``; ``ok``: ``scan``
    holds the facts; ``error``: anything went wrong (the main process does the page)."""

    index: int
    status: Literal["gone", "same", "ok", "error"]
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    scan: PageScan | None = None


def scan_pages(_: None, tasks: list[ScanTask]) -> list[Scanned]:
    """Run in a helper: pass 1 of each page."""
    work = _inherited
    assert isinstance(work, PageWork)
    return [_scan_one(work, task) for task in tasks]


def _scan_one(work: PageWork, task: ScanTask) -> Scanned:
    try:
        got = read_page(task.found.path, work.max_page_bytes)
        if got is None:
            return Scanned(task.index, "gone")
        data, st = got
        digest = hashlib.sha256(data).hexdigest()
        size, mtime_ns = st.st_size, st.st_mtime_ns
        if digest == task.same:
            return Scanned(task.index, "same", size, mtime_ns, digest)
        scan = scan_page(work, task.found, data)
        return Scanned(task.index, "ok", size, mtime_ns, digest, scan)
    except Exception:  # the main process does the page itself and reports what is wrong
        return Scanned(task.index, "error")


# --------------------------------------------------------------------------------- pass 2


@dataclass(frozen=True, slots=True)
class ConvertContextForHelpers:
    """What pass 2 converts with: the index complete when the helpers were forked."""

    work: PageWork
    index: GraphIndex
    options: ConvertOptions
    inline: InlineContext
    readwise: ConvertContext  # what Readwise pages are rendered with (the same index)


@dataclass(frozen=True, slots=True)
class ConvertTask:
    """Convert the page at ``path``, read in pass 1 with hash ``sha256`` as a ``kind`` page
    named ``name``. ``existing`` and ``seen``: the note text and recorded highlights of
    Readwise document ``doc_id`` as the main process found them (the page went into it last
    time); None: prepare a new note."""

    index: int
    path: str
    sha256: str
    kind: str
    name: str
    doc_id: str | None = None
    existing: str | None = None
    seen: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Converted:
    """A helper's pass 2 of one page. ``ok``: read, hashed and parsed (``parsed_kind`` and
    the facts of the full parse), and converted when ``parsed_kind`` is the kind asked
    for: ``text`` and what it depends on for a plain page or journal, ``readwise`` for a
    Readwise page (what a scan's helpers send for one: ``syncd.prepare.prepare_document``).
    ``error``: the main process does the page."""

    index: int
    status: Literal["ok", "error"]
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    parsed_kind: str = ""
    aliases: tuple[str, ...] = ()
    block_ids: tuple[str, ...] = ()
    page_uuid: str = ""
    text: str | None = None
    references: frozenset[str] = frozenset()
    block_refs: frozenset[str] = frozenset()
    assets: frozenset[str] = frozenset()
    unsupported: tuple[Unsupported, ...] = ()
    readwise: Prepared | None = None


def convert_pages(_: None, tasks: list[ConvertTask]) -> list[Converted]:
    """Run in a helper: pass 2 of each page."""
    context = _inherited
    assert isinstance(context, ConvertContextForHelpers)
    return [_convert_one(context, task) for task in tasks]


def _convert_one(context: ConvertContextForHelpers, task: ConvertTask) -> Converted:
    work = context.work
    path = Path(task.path)
    try:
        got = read_page(path, work.max_page_bytes)
        if got is None:
            return Converted(task.index, "error")
        data, st = got
        digest = hashlib.sha256(data).hexdigest()
        if digest != task.sha256:
            return Converted(task.index, "error")  # changed since pass 1
        parsed = parse_full(work, data, path, task.kind)
        done = Converted(
            task.index,
            "ok",
            st.st_size,
            st.st_mtime_ns,
            digest,
            parsed.kind,
            parsed.aliases,
            parsed.block_ids,
            parsed.page_uuid,
        )
        if parsed.kind != task.kind:
            return done  # the main process gives it its note path first
        if parsed.kind == READWISE:
            doc = document_from_page(
                parsed.page, page_name_from_file(path.stem, work.graph.file_name_format)
            )
            check_title(doc.title, path)
            prepared = prepare_document(
                task.index,
                st.st_size,
                st.st_mtime_ns,
                digest,
                doc,
                context.readwise,
                task.doc_id,
                task.existing,
                task.seen,
            )
            return replace(done, readwise=prepared)
        converted, text = render_page(
            work, context.index, context.options, context.inline, task.name, parsed
        )
        return replace(
            done,
            text=text,
            references=converted.references,
            block_refs=converted.block_refs,
            assets=converted.assets,
            unsupported=converted.unsupported,
        )
    except Exception:  # the main process does the page itself and reports what is wrong
        return Converted(task.index, "error")
